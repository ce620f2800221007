package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/route"
)

type options struct {
	rounds, warm                                     int
	compare, extra, out, build, only                 string
	loadMessages, loadConversations, loadConcurrency int
	loadDynamo, synth                                string
}

// steps are the parts of a run, in order.
var steps = []string{"cold", "warm", "emulators", "calls", "load", "cost"}

func (o options) step(name string) bool {
	return o.only == "" || slices.Contains(strings.Split(o.only, ","), name)
}

// goal is one figure of issue 12 beside its target.
type goal struct {
	name, value, target string
	ok                  bool
}

// report collects the run's sections and goals.
type report struct {
	started  time.Time
	sections []string
	goals    []goal
}

func (r *report) section(title, body string) {
	r.sections = append(r.sections, "## "+title+"\n\n"+strings.TrimSpace(body)+"\n")
	fmt.Printf("\n== %s\n%s\n", title, strings.TrimSpace(body))
}

func (r *report) goal(name, value, target string, ok bool) {
	r.goals = append(r.goals, goal{name, value, target, ok})
}

func run(ctx context.Context, o options) error {
	if o.only != "" {
		for _, name := range strings.Split(o.only, ",") {
			if !slices.Contains(steps, name) {
				return fmt.Errorf("-only: no step %q (steps: %s)", name, strings.Join(steps, ","))
			}
		}
	}
	r := &report{started: time.Now()}
	var err error
	if err = os.MkdirAll(o.build, 0o755); err != nil {
		return err
	}
	if o.build, err = filepath.Abs(o.build); err != nil {
		return err
	}
	var bins *binaries
	if o.step("cold") || o.step("cost") {
		if bins, err = buildAll(ctx, o.build); err != nil {
			return err
		}
	}
	if o.step("cold") {
		if err := coldStep(ctx, o, bins, r); err != nil {
			return err
		}
	}
	if o.step("warm") {
		fmt.Println("warm benchmarks (go test -bench)")
		if err := warmStep(ctx, o, r); err != nil {
			return err
		}
	}
	if o.step("emulators") {
		if err := emulatorStep(ctx, r); err != nil {
			return err
		}
	}
	if o.step("calls") || o.step("load") || o.step("cost") {
		if err := stackSteps(ctx, o, r); err != nil {
			return err
		}
	}
	return writeReport(o, r)
}

// binaries are the programs the run built.
type binaries struct {
	host  map[string]string // name → path: the functions, hello, hellosdk
	arm64 map[string]string // the functions as deployed
}

const (
	hello    = "hello"
	helloSDK = "hello+SDK"
)

// buildAll builds the four bootstraps for this machine (what is timed) and
// for linux/arm64 (what is deployed, for its size), and the two
// hello-worlds, with the flags of the Makefile's build.
func buildAll(ctx context.Context, dir string) (*binaries, error) {
	b := &binaries{host: map[string]string{}, arm64: map[string]string{}}
	build := func(goarch, out, pkg string) error {
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s (%s): %w\n%s", pkg, goarch, err, out)
		}
		return nil
	}
	fmt.Println("building the bootstraps and the hello-worlds")
	for _, fn := range route.Functions {
		b.host[fn] = filepath.Join(dir, "host", fn, "bootstrap")
		b.arm64[fn] = filepath.Join(dir, "arm64", fn, "bootstrap")
		if err := build(runtime.GOARCH, b.host[fn], "./functions/"+fn); err != nil {
			return nil, err
		}
		if err := build("arm64", b.arm64[fn], "./functions/"+fn); err != nil {
			return nil, err
		}
	}
	for name, pkg := range map[string]string{hello: "./cmd/bench/hello", helloSDK: "./cmd/bench/hellosdk"} {
		b.host[name] = filepath.Join(dir, "host", strings.ReplaceAll(name, "+", ""), "bootstrap")
		if err := build(runtime.GOARCH, b.host[name], pkg); err != nil {
			return nil, err
		}
	}
	return b, nil
}
