// Command bench is `make bench`: it builds what it measures and prints, in
// one run, every figure issue 12 sets a goal for, each beside its target:
// cold start against Go hello-worlds built from cmd/bench/hello and
// cmd/bench/hellosdk, warm CPU per function (go test -bench), AWS calls and
// capacity units per message over the real local stack, the load run, and
// the cost per million visitor messages. It writes BENCHMARKS.md.
//
// Figures are ratios within this one run: the machine is shared, so
// absolute timings move between runs while the interleaved ratios hold.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o options
	flag.IntVar(&o.rounds, "rounds", 21, "cold-start rounds (each target once per round, interleaved)")
	flag.IntVar(&o.warm, "warm", 200, "warm invocations per cold-start trial")
	flag.StringVar(&o.compare, "compare", "", "a directory of other bootstraps (<dir>/<function>/bootstrap, e.g. a build of main) measured in the same rounds, for before/after")
	flag.StringVar(&o.extra, "extra", "", "more programs for the cold-start rounds, answering any event with 200: name=path,...")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "the report to write")
	flag.StringVar(&o.build, "build", ".build/bench", "where to build")
	flag.StringVar(&o.only, "only", "", "run only these steps (comma-separated: cold,warm,emulators,calls,load,cost)")
	flag.IntVar(&o.loadMessages, "load-messages", 10000, "visitor messages in the load run")
	flag.IntVar(&o.loadConversations, "load-conversations", 200, "conversations in the load run")
	flag.IntVar(&o.loadConcurrency, "load-concurrency", 32, "concurrent senders in the load run")
	flag.StringVar(&o.loadDynamo, "load-dynamodb", "dynamodb-local", "DynamoDB emulator of the load run: dynamodb-local or moto")
	flag.StringVar(&o.synth, "synth", "", "only run the DynamoDB synthetic against these endpoints (name=url,...) and exit")
	flag.Parse()
	if o.synth != "" {
		if err := synthOnly(ctx, o.synth); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
