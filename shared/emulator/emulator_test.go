package emulator

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func shell(script string) Spec {
	return Spec{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script}, Ready: func(line string) (string, bool) {
		url, ok := strings.CutPrefix(line, "listening on ")
		return url, ok
	}}
}

func TestStartAndStop(t *testing.T) {
	// A child in the background stands for anything an emulator starts. It
	// holds the write end of a FIFO: the read end sees EOF when it dies.
	fifo := filepath.Join(t.TempDir(), "child")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), shell("sleep 600 >'"+fifo+"' & echo booting; echo >&2 'listening on http://127.0.0.1:1'; wait"))
	if err != nil {
		t.Fatal(err)
	}
	child, err := os.Open(fifo) // returns once the child opened its end
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	if p.URL != "http://127.0.0.1:1" {
		t.Errorf("URL %q", p.URL)
	}
	if out := p.Output(); !strings.Contains(out, "booting") {
		t.Errorf("output %q lacks stdout", out)
	}
	p.Stop()
	<-p.Exited()
	gone := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(child)
		gone <- err
	}()
	select {
	case err := <-gone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a bound on failure, not a wait for success
		t.Fatal("the emulator's child outlived Stop")
	}
	p.Stop() // idempotent
}

func TestStartFailures(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		spec Spec
		want string
	}{
		{name: "exits early", ctx: context.Background(), spec: shell("echo 'port in use' >&2; exit 3"), want: "port in use"},
		{name: "cancelled", ctx: cancelled, spec: shell("exec sleep 600"), want: "context canceled"},
		{name: "missing binary", ctx: context.Background(), spec: Spec{Name: "nothing", Path: "/nonexistent/emulator"}, want: "start nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Start(tt.ctx, tt.spec)
			if err == nil {
				p.Stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestLineWriter(t *testing.T) {
	var got []string
	w := &lineWriter{fn: func(s string) { got = append(got, s) }}
	for _, chunk := range []string{"a", "b\r\nc\n", "", "d\ne"} {
		_, _ = w.Write([]byte(chunk))
	}
	if strings.Join(got, "|") != "ab|c|d" {
		t.Errorf("lines %q", got)
	}
}
