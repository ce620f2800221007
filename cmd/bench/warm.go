package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Goals of issue 12 for the warm path.
const (
	warmNsGoal     = 50_000
	warmAllocsGoal = 120
)

// warmPackages hold the warm benchmarks: every function through app.Build
// over in-memory AWS and vendors, and the inbound hot path the issue
// first measured.
var warmPackages = []string{"./shared/app", "./shared/inbound"}

// warmRounds is how many times each benchmark binary runs, the builds
// interleaved, and warmIterations the requests each benchmark times a
// round (a fixed count: the ramp-up of -benchtime 1s tripled the run).
const (
	warmRounds     = 5
	warmIterations = 5000
)

// warmBaseline is the build the warm figures are compared with in the
// same run: encoding/json where the warm path had it before its own
// encoders: the EMF metrics over maps (shared/obs/emf_json.go) and the
// entry's event (shared/lambdaevent/fast_off.go).
const warmBaseline = "obs_encodingjson,lambdaevent_encodingjson"

type benchFigure struct{ ns, bytes, allocs float64 }

// warmStep builds the warm benchmarks twice, as the functions are built and
// with -tags obs_encodingjson, runs the two builds in interleaved rounds
// (benchstat-friendly output kept in warm.txt and warm-before.txt), and
// reports each benchmark's medians and the median of its per-round
// ratios to the baseline.
func warmStep(ctx context.Context, o options, r *report) error {
	type build struct {
		tags string
		bins map[string]string // package → test binary
		out  bytes.Buffer
		runs map[string][]benchFigure
	}
	builds := []*build{{bins: map[string]string{}}, {tags: warmBaseline, bins: map[string]string{}}}
	for _, bd := range builds {
		for _, pkg := range warmPackages {
			bin := filepath.Join(o.build, "warm", filepath.Base(pkg), cmp.Or(bd.tags, "default")+".test")
			cmd := exec.CommandContext(ctx, "go", "test", "-c", "-tags", bd.tags, "-o", bin, pkg)
			cmd.Env = cleanEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go test -c -tags %q %s: %w\n%s", bd.tags, pkg, err, out)
			}
			bd.bins[pkg] = bin
		}
	}
	for round := range warmRounds {
		fmt.Printf("  round %d/%d\n", round+1, warmRounds)
		for _, bd := range builds {
			for _, pkg := range warmPackages {
				// A test binary runs in its package's directory, as go test runs it.
				cmd := exec.CommandContext(ctx, bd.bins[pkg], "-test.run", "^$", "-test.bench", "^BenchmarkWarm", "-test.benchmem", "-test.benchtime", strconv.Itoa(warmIterations)+"x")
				cmd.Dir = pkg
				cmd.Env = cleanEnv()
				out, err := cmd.CombinedOutput()
				if err != nil {
					return fmt.Errorf("%s (%s): %w\n%s", pkg, cmp.Or(bd.tags, "default"), err, out)
				}
				bd.out.Write(out)
			}
		}
	}
	var names []string
	for i, bd := range builds {
		name := "warm.txt"
		if bd.tags != "" {
			name = "warm-before.txt"
		}
		_ = os.WriteFile(filepath.Join(o.build, name), bd.out.Bytes(), 0o644)
		bd.runs = parseBench(bd.out.Bytes(), func(n string) {
			if i == 0 {
				names = append(names, n)
			}
		})
	}
	if len(names) == 0 {
		return fmt.Errorf("no benchmark results in:\n%s", builds[0].out.String())
	}
	raw := filepath.Join(o.build, "warm.txt")
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, raw); err == nil {
			raw = rel
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`go test -bench ^BenchmarkWarm -benchmem -benchtime %dx %s`, built twice and run in %d interleaved rounds: as the functions are built (*after*), and with `-tags %s` (*before*: encoding/json where the warm path had it before its own encoders, each kept as the reference its replacement is held to: the EMF metrics encoded over maps, and the entry's HTTP API or SQS event decoded by reflection). Medians of the rounds; *÷ before* is the median of the per-round ratios. The raw, benchstat-ready output is in %s and warm-before.txt beside it (`benchstat warm-before.txt warm.txt`).\n\n", warmIterations, strings.Join(warmPackages, " "), warmRounds, warmBaseline, raw)
	b.WriteString("BenchmarkWarm runs each function as app.Build wires it, logging at INFO, over the in-memory DynamoDB, Secrets Manager and SQS fakes, the vendors' answers given in memory, the fake DynamoDB's writes answered at once while timed: the bridge's own work (on AWS the SDK's serialisation, signing and the round trip come on top). Every request is timed from the function's entry point, JSON in: the event's decoding counts. A queued message is two invocations: *accept* (the HTTP API request: verify, claim, enqueue, answer) and *deliver* (an SQS event of one record: the record's delivery). BenchmarkWarmInboundMessage is the figure the issue first quoted (the synchronous inbound path; its AI agent is a loopback test server, whose work is counted too).\n\n")
	b.WriteString("| benchmark | µs/op | allocs/op | B/op | before µs/op | before allocs/op | CPU ÷ before | allocs ÷ before |\n|---|---|---|---|---|---|---|---|\n")
	after, before := map[string]benchFigure{}, map[string]benchFigure{}
	for _, n := range names {
		a, bf := builds[0].runs[n], builds[1].runs[n]
		after[n], before[n] = medianFigure(a), medianFigure(bf)
		rns, ral := pairedRatios(a, bf)
		fmt.Fprintf(&b, "| %s | %.1f | %.0f | %.0f | %.1f | %.0f | %.2f | %.2f |\n", n, after[n].ns/1000, after[n].allocs, after[n].bytes, before[n].ns/1000, before[n].allocs, rns, ral)
	}
	r.section("Warm CPU per request", b.String())
	acc, okA := after["BenchmarkWarm/source-inbound/accept/generic-message"]
	del, okD := after["BenchmarkWarm/source-inbound/deliver/generic-message"]
	if okA && okD {
		bA, bD := before["BenchmarkWarm/source-inbound/accept/generic-message"], before["BenchmarkWarm/source-inbound/deliver/generic-message"]
		r.goal("warm CPU per invocation of an inbound message", fmt.Sprintf("accept %.1f µs, %.0f allocs; deliver %.1f µs, %.0f allocs (before: %.1f µs, %.0f allocs; %.1f µs, %.0f allocs)",
			acc.ns/1000, acc.allocs, del.ns/1000, del.allocs, bA.ns/1000, bA.allocs, bD.ns/1000, bD.allocs),
			"≤ 50 µs, ≤ 120 allocs each", max(acc.ns, del.ns) <= warmNsGoal && max(acc.allocs, del.allocs) <= warmAllocsGoal)
		ns, allocs := acc.ns+del.ns, acc.allocs+del.allocs
		r.goal("warm CPU per inbound message", fmt.Sprintf("%.1f µs, %.0f allocs (source-inbound accept + deliver, two invocations; before: %.1f µs, %.0f allocs)", ns/1000, allocs,
			(bA.ns+bD.ns)/1000, bA.allocs+bD.allocs),
			"≤ 50 µs, ≤ 120 allocs", ns <= warmNsGoal && allocs <= warmAllocsGoal)
	}
	return nil
}

// parseBench reads go test -bench output: each benchmark's runs, by name
// without the -GOMAXPROCS suffix; first is called with each new name in
// order.
func parseBench(out []byte, first func(string)) map[string][]benchFigure {
	runs := map[string][]benchFigure{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" || f[5] != "B/op" || f[7] != "allocs/op" {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		ns, _ := strconv.ParseFloat(f[2], 64)
		by, _ := strconv.ParseFloat(f[4], 64)
		al, _ := strconv.ParseFloat(f[6], 64)
		if _, ok := runs[name]; !ok {
			first(name)
		}
		runs[name] = append(runs[name], benchFigure{ns, by, al})
	}
	return runs
}

func medianFigure(fs []benchFigure) benchFigure {
	pick := func(g func(benchFigure) float64) float64 {
		v := make([]float64, len(fs))
		for i, f := range fs {
			v[i] = g(f)
		}
		return median(v)
	}
	return benchFigure{pick(func(f benchFigure) float64 { return f.ns }), pick(func(f benchFigure) float64 { return f.bytes }), pick(func(f benchFigure) float64 { return f.allocs })}
}

// pairedRatios are the medians of a[i]/b[i] over the rounds both have, for
// CPU and allocations.
func pairedRatios(a, b []benchFigure) (ns, allocs float64) {
	n := min(len(a), len(b))
	rn, ra := make([]float64, 0, n), make([]float64, 0, n)
	for i := range n {
		if b[i].ns > 0 {
			rn = append(rn, a[i].ns/b[i].ns)
		}
		if b[i].allocs > 0 {
			ra = append(ra, a[i].allocs/b[i].allocs)
		}
	}
	return median(rn), median(ra)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// cleanEnv is this process's environment without what changes AWS SDK
// start-up or reaches a real account (research/baselines.md).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.EqualFold(k, "HTTP_PROXY"), strings.EqualFold(k, "HTTPS_PROXY"), strings.EqualFold(k, "NO_PROXY"), strings.EqualFold(k, "ALL_PROXY"):
			continue
		}
		env = append(env, kv)
	}
	return env
}
