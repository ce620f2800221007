// Package fauxqs starts and stops fauxqs, the SQS emulator the tests and
// the local stack use (an npm package, pinned with its dependencies in
// npm/package-lock.json and installed by `make deps` into
// .build/tools/fauxqs). Its FIFO queues keep a message group's order on
// redelivery and dead-letter in order, which moto_server's do not; the
// probe in probe_test.go holds both to the semantics the bridge relies on.
//
// fauxqs's own CLI listens on every interface and a fixed port, so
// launch.mjs runs it through its documented buildApp API on a port of
// 127.0.0.1 it picks itself, and prints the address once it listens.
package fauxqs

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/awsconf"
	"github.com/crmbridge/crmbridge/shared/emulator"
)

// Version is the fauxqs release npm/package.json pins.
const Version = "1.9.2"

// InstallDir is where `make deps` installs fauxqs, relative to the module
// root; FAUXQS_DIR overrides it.
const InstallDir = ".build/tools/fauxqs"

//go:embed launch.mjs
var launcher string

// Server is a running fauxqs.
type Server struct {
	URL  string
	proc *emulator.Process
}

// Start runs fauxqs with node (on PATH, or in NODE) on a free port of
// 127.0.0.1 and returns once it listens.
func Start(ctx context.Context) (*Server, error) {
	app, err := appPath()
	if err != nil {
		return nil, err
	}
	bin := os.Getenv("NODE")
	if bin == "" {
		bin = "node"
	}
	node, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("node not found (fauxqs needs Node.js 20 or later): %w", err)
	}
	proc, err := emulator.Start(ctx, emulator.Spec{
		Name: "fauxqs", Path: node, Args: []string{"--input-type=module", "-e", launcher, app},
		Ready: func(line string) (string, bool) {
			var m struct{ Fauxqs, Address string }
			if json.Unmarshal([]byte(line), &m) != nil || m.Fauxqs != "listening" || m.Address == "" {
				return "", false
			}
			return m.Address, true
		},
	})
	if err != nil {
		return nil, err
	}
	return &Server{URL: proc.URL, proc: proc}, nil
}

// appPath finds the installed fauxqs and checks it is the pinned release.
func appPath() (string, error) {
	dir, err := emulator.ToolDir("FAUXQS_DIR", InstallDir)
	if err != nil {
		return "", err
	}
	pkg := filepath.Join(dir, "node_modules", "fauxqs")
	b, err := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err != nil {
		return "", fmt.Errorf("fauxqs is not installed in %s (run `make deps`): %w", dir, err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("fauxqs package.json in %s: %w", pkg, err)
	}
	if meta.Version != Version {
		return "", fmt.Errorf("fauxqs %s is installed in %s, the tests need %s (run `make deps`)", meta.Version, dir, Version)
	}
	return filepath.Join(pkg, "dist", "app.js"), nil
}

// Stop ends fauxqs and its process group; safe on nil and twice.
func (s *Server) Stop() {
	if s != nil {
		s.proc.Stop()
	}
}

// Env returns the environment for SDK clients (and child processes) to
// reach this server for SQS only: AWS_ENDPOINT_URL_SQS wins over
// AWS_ENDPOINT_URL, which may name moto_server for everything else.
func (s *Server) Env() map[string]string {
	return awsconf.LocalEnv("AWS_ENDPOINT_URL_SQS", s.URL)
}

// Config is an SDK configuration that reaches this server with dummy
// credentials and the bridge's retry policy (shared/awsconf).
func (s *Server) Config(ctx context.Context) (aws.Config, error) {
	return awsconf.Local(ctx, s.URL)
}
