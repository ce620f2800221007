package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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

type benchFigure struct{ ns, bytes, allocs float64 }

// warmStep runs the benchmarks (benchstat-friendly output kept in
// warm.txt) and reports the median of count runs of each.
func warmStep(ctx context.Context, o options, r *report) error {
	args := append([]string{"test", "-run", "^$", "-bench", "^BenchmarkWarm", "-benchmem", "-count", "5"}, warmPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	raw := filepath.Join(o.build, "warm.txt")
	_ = os.WriteFile(raw, out, 0o644)
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, raw); err == nil {
			raw = rel
		}
	}
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	runs := map[string][]benchFigure{}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" || f[5] != "B/op" || f[7] != "allocs/op" {
			continue
		}
		name := f[0][:strings.LastIndex(f[0], "-")] // drop -GOMAXPROCS
		ns, _ := strconv.ParseFloat(f[2], 64)
		by, _ := strconv.ParseFloat(f[4], 64)
		al, _ := strconv.ParseFloat(f[6], 64)
		if _, ok := runs[name]; !ok {
			names = append(names, name)
		}
		runs[name] = append(runs[name], benchFigure{ns, by, al})
	}
	if len(names) == 0 {
		return fmt.Errorf("no benchmark results in:\n%s", out)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`go test -bench ^BenchmarkWarm -benchmem -count 5 %s`, medians of the 5 runs (the raw, benchstat-ready output is in %s). BenchmarkWarm runs each function as app.Build wires it, logging at INFO, over the in-memory DynamoDB fake and Secrets Manager fake, the vendors' answers given in memory: the bridge's own work plus the fake DynamoDB's (about a quarter of the inbound figure, from its profile; on AWS the SDK's serialisation and signing take that place). BenchmarkWarmInboundMessage is the figure the issue first quoted (its AI agent is a loopback test server, whose work is counted too).\n\n", strings.Join(warmPackages, " "), raw)
	b.WriteString("| benchmark | µs/op | B/op | allocs/op |\n|---|---|---|---|\n")
	med := map[string]benchFigure{}
	for _, n := range names {
		fs := runs[n]
		pick := func(g func(benchFigure) float64) float64 {
			v := make([]float64, len(fs))
			for i, f := range fs {
				v[i] = g(f)
			}
			sort.Float64s(v)
			return v[len(v)/2]
		}
		m := benchFigure{pick(func(f benchFigure) float64 { return f.ns }), pick(func(f benchFigure) float64 { return f.bytes }), pick(func(f benchFigure) float64 { return f.allocs })}
		med[n] = m
		fmt.Fprintf(&b, "| %s | %.1f | %.0f | %.0f |\n", n, m.ns/1000, m.bytes, m.allocs)
	}
	r.section("Warm CPU per request", b.String())
	if m, ok := med["BenchmarkWarm/source-inbound/generic-message"]; ok {
		r.goal("warm CPU per inbound message", fmt.Sprintf("%.1f µs, %.0f allocs (BenchmarkWarm/source-inbound)", m.ns/1000, m.allocs), "≤ 50 µs, ≤ 120 allocs", m.ns <= warmNsGoal && m.allocs <= warmAllocsGoal)
	}
	return nil
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
