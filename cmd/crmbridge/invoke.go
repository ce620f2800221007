package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
)

func invokeCommand() *command {
	return &command{
		name: "invoke", args: "[--build DIR] [--events DIR] FUNCTION EVENT_FILE",
		summary: "run an event through the real bootstrap under the Lambda emulator against a throwaway local stack",
		help:    "What `make invoke` runs (it builds the bootstraps first: make build-host).",
		setup: func(fs *flag.FlagSet) runFunc {
			build := fs.String("build", ".build/host", "directory with aws-lambda-rie and <function>/bootstrap (make build-host)")
			eventsDir := fs.String("events", "events", "the events directory (demo tenant in events/tenant)")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := nargs("crmbridge invoke", "[--build DIR] FUNCTION EVENT_FILE", args, 2, 2); err != nil {
					return err
				}
				return runInvoke(ctx, *build, *eventsDir, args[0], args[1], c.stdout)
			}
		},
	}
}

// runInvoke is `make invoke`: the real bootstrap under the Lambda Runtime
// Interface Emulator, against a local stack (moto_server, demo tenant, fake
// AI agent, demo desk) on free ports.
func runInvoke(ctx context.Context, build, eventsDir, fn, file string, stdout io.Writer) error {
	if _, err := os.Stat(filepath.Join(build, fn, "bootstrap")); err != nil {
		return fmt.Errorf("no bootstrap for %q in %s (functions: %s; run make build-host)", fn, build, strings.Join(route.Functions, ", "))
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := localstack.Start(ctx, localstack.Options{Addr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", SunshineAddr: "127.0.0.1:0", LivePersonAddr: "127.0.0.1:0", EventsDir: eventsDir})
	if err != nil {
		return err
	}
	defer st.Close()
	emu, err := localstack.StartEmulated(ctx, st, build)
	if err != nil {
		return err
	}
	defer emu.Stop()
	resp, err := emu.Invoke(ctx, fn, raw)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, emu.RIEs[fn].Output())
	}
	if st.Agent != nil {
		_ = st.Agent.WaitIdle(ctx)
	}
	fmt.Fprintf(stdout, "--- %s log (emulator and bootstrap)\n%s", fn, emu.RIEs[fn].Output())
	b, _ := json.MarshalIndent(resp, "", "  ")
	fmt.Fprintf(stdout, "--- answer\n%s\n", b)
	for _, e := range st.Desk.Inbox("") {
		fmt.Fprintf(stdout, "--- reached the demo desk: %s %s\n", e.Type, e.Data)
	}
	return nil
}
