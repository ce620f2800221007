// Package motoserver starts and stops moto_server, the AWS emulator the
// tests and the local stack use for DynamoDB and Secrets Manager. It lets
// moto pick a free loopback port and report it, and is stopped by its
// process group (shared/emulator), so parallel test packages and a running
// `make run` never collide.
package motoserver

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/awsconf"
	"github.com/crmbridge/crmbridge/shared/emulator"
)

// Server is a running moto_server.
type Server struct {
	URL  string
	proc *emulator.Process
}

// listening is werkzeug's start-up line, printed once the socket listens.
var listening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Start runs moto_server (found on PATH, or in MOTO_SERVER) on a free port
// of 127.0.0.1 and returns once it listens.
func Start(ctx context.Context) (*Server, error) {
	bin := os.Getenv("MOTO_SERVER")
	if bin == "" {
		bin = "moto_server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("moto_server not found (install with `pip install 'moto[server]'`, or run `make deps` which does): %w", err)
	}
	path = unshim(ctx, path)
	proc, err := emulator.Start(ctx, emulator.Spec{
		Name: "moto_server", Path: path, Args: []string{"-H", "127.0.0.1", "-p", "0"},
		Env: []string{"MOTO_ALLOW_NONEXISTENT_REGION=true"},
		Ready: func(line string) (string, bool) {
			m := listening.FindStringSubmatch(line)
			if m == nil {
				return "", false
			}
			return m[1], true
		},
	})
	if err != nil {
		return nil, err
	}
	return &Server{URL: proc.URL, proc: proc}, nil
}

// unshim returns the script a pyenv shim would run. The shim starts Python
// as its child, so the parent-death signal that ends moto_server with a
// test binary that dies would reach only the shim; run directly, the
// script's interpreter is the process and gets the signal itself.
func unshim(ctx context.Context, path string) string {
	if filepath.Base(filepath.Dir(path)) != "shims" {
		return path
	}
	out, err := exec.CommandContext(ctx, filepath.Join(filepath.Dir(filepath.Dir(path)), "bin", "pyenv"), "which", filepath.Base(path)).Output()
	if err != nil {
		return path
	}
	if real := strings.TrimSpace(string(out)); real != "" {
		if _, err := os.Stat(real); err == nil {
			return real
		}
	}
	return path
}

// Stop ends moto_server and its process group; safe on nil and twice.
func (s *Server) Stop() {
	if s != nil {
		s.proc.Stop()
	}
}

// Reset drops all emulated state (moto's reset API), for test isolation.
func (s *Server) Reset() error {
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	return nil
}

// Env returns the environment for SDK clients (and child processes) to
// reach this server with dummy credentials.
func (s *Server) Env() map[string]string {
	return awsconf.LocalEnv("AWS_ENDPOINT_URL", s.URL)
}

// Config is an SDK configuration that reaches this server with dummy
// credentials and the bridge's retry policy (shared/awsconf).
func (s *Server) Config(ctx context.Context) (aws.Config, error) {
	return awsconf.Local(ctx, s.URL)
}
