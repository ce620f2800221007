// Package coldstart measures how fast a Lambda bootstrap starts and answers,
// by serving the Lambda Runtime API itself (no emulator): each trial starts
// the program in a clean environment, hands it one event on its first
// `GET /next`, and times the start to that request (init) and to the
// answer (cold), then a series of warm invocations, and reads the process's
// memory and CPU time from /proc. research/baselines.md explains why the
// Runtime Interface Emulator's own figures cannot be used for this.
package coldstart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Target is one program to measure.
type Target struct {
	Name string
	Path string   // the bootstrap
	Env  []string // KEY=value on top of LambdaEnv
	// Event is the payload of every invocation; Check says whether an
	// answer is the one expected (nil accepts any answer).
	Event []byte
	Check func(answer []byte) error
}

// LambdaEnv is the environment Lambda gives every function that the SDK and
// aws-lambda-go read (static dummy credentials and a region), and nothing
// from this process: AWS_CA_BUNDLE, profiles, endpoints and proxies change
// what SDK start-up does (research/baselines.md).
func LambdaEnv(function string) []string {
	return []string{
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDBENCHMARK0000000",
		"AWS_SECRET_ACCESS_KEY=benchmark/secret/key/0000000000000000000",
		"AWS_SESSION_TOKEN=benchmark-session-token",
		"AWS_LAMBDA_FUNCTION_NAME=" + function,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + function,
		"AWS_LAMBDA_LOG_STREAM_NAME=bench",
		"_HANDLER=bootstrap",
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin/:/bin",
	}
}

// Sample is one trial's figures.
type Sample struct {
	Init time.Duration // start → the first GET /next
	Cold time.Duration // start → the first answer
	// InitCPU is the CPU time (all threads, user and system) the process
	// had used when it asked for its first event: less sensitive to a
	// loaded machine than the wall-clock figures.
	InitCPU time.Duration
	Warm    time.Duration // median of the warm invocations (event handed → answer)
	RSS     int64         // VmRSS after the warm invocations, bytes
	HWM     int64         // VmHWM (peak RSS), bytes
}

// Run starts t once, invokes it 1+warm times and stops it.
func Run(ctx context.Context, t Target, warm int) (Sample, error) {
	api, err := newRuntimeAPI()
	if err != nil {
		return Sample{}, err
	}
	defer api.close()

	cmd := exec.Command(t.Path)
	cmd.Dir = filepath.Dir(t.Path)
	cmd.Env = append(append(LambdaEnv(t.Name), "AWS_LAMBDA_RUNTIME_API="+api.addr), t.Env...)
	out := &tail{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	exited := make(chan struct{})

	// The process can ask for its first event before Start has returned
	// (and set cmd.Process): its CPU time is read once its pid is known.
	var pid int
	started := make(chan struct{})
	api.cpu = func() time.Duration {
		<-started
		return cpuTime(pid)
	}
	start := time.Now()
	err = cmd.Start()
	if err == nil {
		pid = cmd.Process.Pid
	}
	close(started)
	if err != nil {
		return Sample{}, fmt.Errorf("start %s: %w", t.Name, err)
	}
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}()

	fail := func(err error) (Sample, error) {
		return Sample{}, fmt.Errorf("%s: %w; output: %s", t.Name, err, out.String())
	}
	invoke := func() (time.Time, time.Duration, error) {
		handed := time.Now()
		select {
		case api.events <- t.Event:
		case <-exited:
			return time.Time{}, 0, errors.New("the process exited before it asked for an event")
		case <-ctx.Done():
			return time.Time{}, 0, ctx.Err()
		}
		select {
		case r := <-api.answers:
			if r.err != nil {
				return time.Time{}, 0, r.err
			}
			if t.Check != nil {
				if err := t.Check(r.body); err != nil {
					return time.Time{}, 0, fmt.Errorf("unexpected answer: %w", err)
				}
			}
			return r.at, r.at.Sub(handed), nil
		case <-exited:
			return time.Time{}, 0, errors.New("the process exited during an invocation")
		case <-ctx.Done():
			return time.Time{}, 0, ctx.Err()
		}
	}
	answered, _, err := invoke()
	if err != nil {
		return fail(err)
	}
	s := Sample{Cold: answered.Sub(start)}
	first := api.firstNext()
	s.Init, s.InitCPU = first.at.Sub(start), first.cpu
	warms := make([]time.Duration, 0, warm)
	for range warm {
		_, d, err := invoke()
		if err != nil {
			return fail(err)
		}
		warms = append(warms, d)
	}
	s.Warm = Median(warms)
	// The process now waits in GET /next: its memory is what a warm
	// execution environment holds.
	if s.RSS, s.HWM, err = memory(cmd.Process.Pid); err != nil {
		return fail(err)
	}
	return s, nil
}

// Median of ds (the mean of the middle two for an even count); 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// runtimeAPI is the Lambda Runtime API for one process: one event at a time.
type runtimeAPI struct {
	addr    string
	srv     *http.Server
	events  chan []byte
	answers chan answer
	cpu     func() time.Duration

	mu    sync.Mutex
	first *next
	seq   int
}

type next struct {
	at  time.Time
	cpu time.Duration
}

type answer struct {
	at   time.Time
	body []byte
	err  error
}

func newRuntimeAPI() (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the Runtime API: %w", err)
	}
	a := &runtimeAPI{addr: ln.Addr().String(), events: make(chan []byte), answers: make(chan answer, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", a.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		b, err := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		a.answers <- answer{at: at, body: b, err: err}
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 4<<10))
		w.WriteHeader(http.StatusAccepted)
		a.answers <- answer{at: time.Now(), err: fmt.Errorf("the function answered an error: %s", b)}
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 4<<10))
		w.WriteHeader(http.StatusAccepted)
		a.answers <- answer{at: time.Now(), err: fmt.Errorf("init error: %s", b)}
	})
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

func (a *runtimeAPI) next(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	a.mu.Lock()
	if a.first == nil {
		a.first = &next{at: now, cpu: a.cpu()}
	}
	a.seq++
	id := "bench-" + strconv.Itoa(a.seq)
	a.mu.Unlock()
	var ev []byte
	select {
	case ev = <-a.events:
	case <-r.Context().Done():
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0")
	_, _ = w.Write(ev)
}

func (a *runtimeAPI) firstNext() next {
	a.mu.Lock()
	defer a.mu.Unlock()
	return *a.first
}

func (a *runtimeAPI) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
	_ = a.srv.Close()
}

// cpuTime sums the on-CPU time of every thread of pid (schedstat's first
// field, nanoseconds); 0 when the kernel does not expose it.
func cpuTime(pid int) time.Duration {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total int64
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		total += n
	}
	return time.Duration(total)
}

// memory reads VmRSS and VmHWM of pid, in bytes.
func memory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read the process status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val) // "10240 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("unexpected %s line %q", name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("unexpected %s line %q", name, line)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in the process status")
	}
	return rss, hwm, nil
}

// tail keeps the last max bytes a process printed, for errors.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// Rounds runs every target once per round, after one uncounted warm-up
// round (page cache, CPU frequency). Interleaving the targets within each
// round, with the starting target rotated, lets a change in the machine's
// load hit every target alike, so their ratios hold on a busy machine
// where absolute timings do not. samples[i] are targets[i]'s trials.
func Rounds(ctx context.Context, targets []Target, rounds, warm int, progress func(round int)) (samples [][]Sample, err error) {
	samples = make([][]Sample, len(targets))
	for round := 0; round <= rounds; round++ {
		for k := range targets {
			i := (k + round) % len(targets)
			s, err := Run(ctx, targets[i], warm)
			if err != nil {
				return nil, fmt.Errorf("round %d: %w", round, err)
			}
			if round > 0 {
				samples[i] = append(samples[i], s)
			}
		}
		if progress != nil {
			progress(round)
		}
	}
	return samples, nil
}

// Summary is the median of each figure over a target's trials, and the
// spread of the cold start.
type Summary struct {
	Init, Cold, InitCPU, Warm time.Duration
	ColdMin, ColdMax          time.Duration
	RSS, HWM                  int64
	N                         int
}

// Summarize takes the medians of ss.
func Summarize(ss []Sample) Summary {
	pick := func(f func(Sample) time.Duration) []time.Duration {
		out := make([]time.Duration, len(ss))
		for i, s := range ss {
			out[i] = f(s)
		}
		return out
	}
	cold := pick(func(s Sample) time.Duration { return s.Cold })
	sum := Summary{
		Init:    Median(pick(func(s Sample) time.Duration { return s.Init })),
		Cold:    Median(cold),
		InitCPU: Median(pick(func(s Sample) time.Duration { return s.InitCPU })),
		Warm:    Median(pick(func(s Sample) time.Duration { return s.Warm })),
		RSS:     int64(Median(pick(func(s Sample) time.Duration { return time.Duration(s.RSS) }))),
		HWM:     int64(Median(pick(func(s Sample) time.Duration { return time.Duration(s.HWM) }))),
		N:       len(ss),
	}
	if len(cold) > 0 {
		sum.ColdMin, sum.ColdMax = slices.Min(cold), slices.Max(cold)
	}
	return sum
}
