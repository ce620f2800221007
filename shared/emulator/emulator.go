// Package emulator runs a local emulator (moto_server, fauxqs) as a child
// process for the tests and the local stack: in its own process group, so
// Stop ends it and anything it started; ready when its own output says it
// listens, not after a sleep or a polling loop; bound to 127.0.0.1 on a port
// the emulator picked itself, so two test packages never race for a port.
package emulator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec says how to start one emulator and how to tell it is ready.
type Spec struct {
	Name string   // for errors: "moto_server", "fauxqs"
	Path string   // the executable
	Args []string // its arguments
	Env  []string // extra environment (KEY=value) on top of this process's
	// Ready is called with each line of the emulator's output (stdout and
	// stderr) until it returns ok; url is the base URL it serves on.
	Ready func(line string) (url string, ok bool)
	// Limit bounds the wait for Ready; it only turns a hung start into an
	// error. Zero means 60 s.
	Limit time.Duration
}

// Process is a running emulator.
type Process struct {
	URL    string
	name   string
	cmd    *exec.Cmd
	stdin  io.Closer
	exited chan struct{}
	out    *tail
	stop   sync.Once
}

// Start runs the emulator and returns once it reported it listens.
func Start(ctx context.Context, s Spec) (*Process, error) {
	limit := s.Limit
	if limit <= 0 {
		limit = time.Minute
	}
	cmd := exec.Command(s.Path, s.Args...)
	// Its own group, killed with us: Pdeathsig covers a test binary that
	// dies, the closed stdin an emulator that watches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), s.Env...)
	ready := make(chan string, 1)
	p := &Process{name: s.Name, cmd: cmd, exited: make(chan struct{}), out: &tail{max: 8 << 10}}
	lines := &lineWriter{fn: func(line string) {
		p.out.add(line)
		if url, ok := s.Ready(line); ok {
			select {
			case ready <- url:
			default:
			}
		}
	}}
	cmd.Stdout, cmd.Stderr = lines, lines
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case p.URL = <-ready:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before it listened (%v): %s", s.Name, cmd.ProcessState, p.out.String())
	case <-ctx.Done():
		p.Stop()
		return nil, fmt.Errorf("start %s: %w", s.Name, ctx.Err())
	case <-timer.C:
		p.Stop()
		return nil, fmt.Errorf("%s did not report that it listens within %s: %s", s.Name, limit, p.out.String())
	}
}

// Output is the end of what the emulator printed, for a failing test's log.
func (p *Process) Output() string { return p.out.String() }

// Exited is closed once the emulator's process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop ends the emulator's process group: SIGTERM, and SIGKILL if it is
// still there after a grace period. It returns once the process is gone.
// Safe to call more than once and on nil.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	p.stop.Do(func() {
		_ = p.stdin.Close()
		pgid := -p.cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(pgid, syscall.SIGKILL) // the rest of the group, or a process that ignored SIGTERM
		<-p.exited
	})
}

// lineWriter calls fn with each complete line written to it.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line: keep what fits
		w.fn(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(b), nil
}

// tail keeps the last max bytes of output.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(append(t.b, line...), '\n')
	if over := len(t.b) - t.max; over > 0 {
		t.b = t.b[over:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// ToolDir is where `make deps` installed an emulator: the directory named
// by the environment variable envVar, or rel below the module root (the
// nearest directory at or above the working directory with a go.mod: the
// repository root for tests, which run in their package's directory, and
// for `make run`).
func ToolDir(envVar, rel string) (string, error) {
	if dir := os.Getenv(envVar); dir != "" {
		return dir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory to find %s in; set %s", rel, envVar)
		}
		dir = parent
	}
}
