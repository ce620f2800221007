package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// writeReport prints the goals and writes the report file.
func writeReport(o options, r *report) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (cmd/bench); every figure below comes from this one run. The machine is shared, so compare ratios within the run, not absolute timings across runs.\n\n")
	fmt.Fprintf(&b, "- date: %s (run took %s)\n", r.started.UTC().Format(time.RFC3339), time.Since(r.started).Round(time.Second))
	fmt.Fprintf(&b, "- commit: %s\n", commit())
	fmt.Fprintf(&b, "- machine: %s\n", machine())
	fmt.Fprintf(&b, "- Go: %s %s/%s\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	var g strings.Builder
	g.WriteString("| goal | measured | target | met |\n|---|---|---|---|\n")
	for _, x := range r.goals {
		met := "no"
		if x.ok {
			met = "yes"
		}
		fmt.Fprintf(&g, "| %s | %s | %s | %s |\n", x.name, x.value, x.target, met)
	}
	b.WriteString("## Goals (issue 12)\n\n" + g.String() + "\n")
	for _, s := range r.sections {
		b.WriteString(s + "\n")
	}
	fmt.Printf("\n== Goals (issue 12)\n%s", g.String())
	if err := os.WriteFile(o.out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", o.out)
	return nil
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); len(strings.TrimSpace(string(st))) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

// machine names the CPU, its count and the kernel.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average at the end " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%s, %d CPUs%s%s", cpu, runtime.NumCPU(), kernel, load)
}
