package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
)

// The test binary is the tool when asked: TestExitCodes runs it as a
// process to see what an operator sees (exit code, stdout, stderr).
func TestMain(m *testing.M) {
	if os.Getenv("CRMBRIDGE_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMainEnv runs the CLI as a process with extra environment variables
// (which override the defaults here).
func runMainEnv(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runMainIn(t, nil, env, args...)
}

func runMainIn(t *testing.T, stdin io.Reader, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = "../.." // the repository root, like `go run ./cmd/crmbridge`
	cmd.Stdin = stdin
	// No AWS at all: these commands must not need it.
	cmd.Env = append([]string{"CRMBRIDGE_TEST_RUN_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_ACCESS_KEY_ID=none", "AWS_SECRET_ACCESS_KEY=none", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "MOTO_SERVER=/nonexistent/moto_server"}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// bridge is a fake bridge answering every request with status and body.
func bridge(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"pk":{"S":"SOURCE#generic#x"},"sk":{"S":"CONFIG"},"agentId":{"S":"a"},"enabled":{"S":"yes"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rejected := bridge(t, 502, `{"error":{"code":"agent_rejected","message":"the AI agent rejected the event"}}`)
	notConfigured := bridge(t, 404, `{"error":{"code":"agent_not_configured","message":"the account's AI agent is not configured"}}`)
	accepted := bridge(t, 200, `{"status":"ok","events":{"sent":1}}`)
	// Pointed at AWS (no local endpoint) with the tables, but no credentials.
	aws := []string{"AWS_ENDPOINT_URL=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "TENANTS_TABLE=t", "STATE_TABLE=s"}
	local := []string{"EGRESS_LOCAL=1", "STAGE=local"}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
		env    []string
	}{
		{"no arguments", nil, 0, "Usage:", "", nil},
		{"--help", []string{"--help"}, 0, "crmbridge tenants validate", "", nil},
		{"help", []string{"help"}, 0, "crmbridge doctor", "", nil},
		{"--version", []string{"--version"}, 0, "crmbridge ", "", nil},
		{"version", []string{"version"}, 0, "crmbridge ", "", nil},
		{"an unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`, nil},
		{"tenants alone", []string{"tenants"}, 2, "", "crmbridge tenants needs a command", nil},
		{"tenants of another kind", []string{"tenants", "drop"}, 2, "", `unknown command "drop"`, nil},
		{"an unknown flag", []string{"tenants", "put", "--frob", "x.json"}, 2, "", "flag provided but not defined: -frob", nil},
		{"tenants validate without files", []string{"tenants", "validate"}, 2, "", "usage: crmbridge tenants validate", nil},
		{"tenants validate the demo tenant", []string{"tenants", "validate", "events/tenant/agent-demo.json", "events/tenant/source-generic-demo.json", "events/tenant/action-demo-lookuporder.json"}, 0, "ok  events/tenant/source-generic-demo.json", "", local},
		{"the demo tenant's loopback URLs are refused outside the local stack", []string{"tenants", "validate", "events/tenant/source-generic-demo.json"}, 1, "", "loopback addresses are refused outside the local stack", nil},
		{"tenants validate a bad item", []string{"tenants", "validate", bad}, 1, "", "field enabled", nil},
		{"tenants validate a missing file", []string{"tenants", "validate", "nope.json"}, 1, "", "nope.json", nil},
		{"tenants put of a bad item writes nothing", []string{"tenants", "put", bad}, 1, "", "field enabled", nil},
		{"tenants put --dry-run of a bad item", []string{"tenants", "put", "--dry-run", bad}, 1, "", "field enabled", nil},
		{"tenants diff of a bad item", []string{"tenants", "diff", bad}, 1, "", "field enabled", nil},
		{"tenants get without a key", []string{"tenants", "get"}, 2, "", "usage: crmbridge tenants get", nil},
		{"tenants delete without a key", []string{"tenants", "delete"}, 2, "", "usage: crmbridge tenants delete", nil},
		{"secrets put without a kind", []string{"secrets", "put"}, 2, "", "usage: crmbridge secrets put", nil},
		{"secrets put of another kind", []string{"secrets", "put", "password", "x"}, 2, "", `unknown kind "password"`, nil},
		{"secrets put of a malformed agent ID", []string{"secrets", "put", "agent", "bot-1", "--value-file", "events/tenant/secret-agent-demo.json"}, 1, "", "24 lowercase hex", nil},
		{"secrets put of an unknown source", []string{"secrets", "put", "source", "nosuch", "acme", "--value-file", "events/tenant/agent-demo.json"}, 1, "", `unknown source "nosuch"`, nil},
		{"deadletters alone", []string{"deadletters"}, 2, "", "crmbridge deadletters needs a command", nil},
		{"deadletters show without a key", []string{"deadletters", "show"}, 2, "", "usage: crmbridge deadletters show KEY", nil},
		{"deadletters list of a wrong kind", []string{"deadletters", "list", "--kind", "sideways"}, 2, "", "--kind must be inbound or outbound", nil},
		{"deadletters replay -h", []string{"deadletters", "replay", "-h"}, 0, "-conversation", "", nil},
		{"deadletters replay with a key and --all", []string{"deadletters", "replay", "--all", "EVENT#x"}, 2, "", "usage: crmbridge deadletters replay KEY | replay --all", nil},
		{"deadletters replay of a local table would reach AWS's SQS", []string{"deadletters", "replay", "EVENT#x"}, 1, "", "set AWS_ENDPOINT_URL_SQS",
			[]string{"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4000", "AWS_ENDPOINT_URL_SQS=https://sqs.us-east-1.amazonaws.com"}},
		{"deadletters replay onto a local queue would reach AWS's SQS", []string{"deadletters", "replay", "EVENT#x"}, 1, "", "INBOUND_QUEUE_URL is a local queue",
			[]string{"INBOUND_QUEUE_URL=http://sqs.us-east-1.localhost:4566/000000000000/crmbridge-inbound.fifo",
				"AWS_ENDPOINT_URL_SQS=https://sqs.us-east-1.amazonaws.com", "AWS_ENDPOINT_URL_DYNAMODB=https://dynamodb.us-east-1.amazonaws.com"}},
		{"events alone", []string{"events"}, 2, "", "crmbridge events needs a command", nil},
		{"events sign a sample", []string{"events", "sign", "events/source-inbound/generic-message.json"}, 0, `"webhook-signature"`, "", nil},
		{"keys", []string{"keys"}, 0, `"inboundSecret":"whsec_`, "", nil},
		{"keys with an argument", []string{"keys", "now"}, 2, "", "usage: crmbridge keys", nil},
		{"invoke without arguments", []string{"invoke"}, 2, "", "usage: crmbridge invoke", nil},
		{"invoke an unknown function", []string{"invoke", "--build", t.TempDir(), "webhook-nothing", "x.json"}, 1, "", "functions: source-inbound, webhook-message", nil},
		{"send with no secret file", []string{"send", "--secret-file", "nope.json", "hi"}, 1, "", "read the account's secret", nil},
		// Any refused request fails.
		{"send answered 502 agent_rejected", []string{"send", "--api", rejected, "--wait", "0", "hi"}, 1, "HTTP 502", "the bridge answered HTTP 502 agent_rejected", nil},
		{"send answered 404 agent_not_configured", []string{"send", "--api", notConfigured, "--wait", "0", "hi"}, 1, "HTTP 404", "the bridge answered HTTP 404 agent_not_configured", nil},
		{"send answered 200", []string{"send", "--api", accepted, "--wait", "0", "hi"}, 0, "HTTP 200", "", nil},
		{"flags after the text", []string{"send", "hi", "--api", accepted, "--wait", "0"}, 0, "HTTP 200", "", nil},
		// Pointed at a local emulator, nothing falls back to production.
		{"deadletters replay on a local stack without its environment", []string{"deadletters", "replay", "EVENT#generic#demo#e1"}, 1, "", "ULTIMATE_BASE_URL (the AI agent would be https://api.ultimate.ai)", nil},
		{"tenants list on a local stack without its environment", []string{"tenants", "list"}, 1, "", "local env", nil},
		{"doctor on a local stack without its environment", []string{"doctor"}, 1, "", "use the local stack's environment", nil},
		// Pointed at AWS: the tables and the credentials are said plainly.
		{"tenants list without the tables", []string{"tenants", "list"}, 1, "", "TENANTS_TABLE and STATE_TABLE not set", []string{"AWS_ENDPOINT_URL="}},
		{"tenants list without credentials", []string{"tenants", "list"}, 1, "", "no AWS credentials: set AWS_PROFILE", aws},
		{"local env with no stack", []string{"local", "env", "--env-file", filepath.Join(t.TempDir(), "env")}, 1, "", "no local stack is running", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMainEnv(t, tc.env, tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
		})
	}
}

// commandPaths lists every command and subcommand of the tree.
func commandPaths(cmd *command, prefix []string) [][]string {
	var out [][]string
	for _, s := range cmd.subs {
		p := append(append([]string(nil), prefix...), s.name)
		out = append(out, p)
		out = append(out, commandPaths(s, p)...)
	}
	return out
}

// Every command and subcommand answers -h and --help (also after other
// arguments) with its help on stdout and exit 0, and calls nothing: every
// endpoint it could reach is a listener that counts connections.
func TestHelpEverywhere(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	url := "http://" + ln.Addr().String()
	env := []string{"AWS_ENDPOINT_URL=" + url, "ULTIMATE_BASE_URL=" + url, "CRMBRIDGE_API=" + url, "STAGE=local", "EGRESS_LOCAL=1"}
	paths := commandPaths(commands(), nil)
	if len(paths) < 20 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	for _, p := range paths {
		for _, args := range [][]string{append(p, "-h"), append(p, "--help"), append(append(p, "x"), "--help")} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, stdout, stderr := runMainEnv(t, env, args...)
				if code != 0 || !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, strings.Join(p, " ")) || stderr != "" {
					t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
				}
				if strings.Contains(stdout, "whsec_") {
					t.Fatal("keys -h made keys")
				}
			})
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("help made %d connections", n)
	}
}

// fakeCLI runs commands in-process against the in-memory fakes, the
// functions' own wiring over them.
func fakeCLI(t *testing.T, p *sourcetest.Platform) (*cli, *apptest.Env, *bytes.Buffer) {
	t.Helper()
	// The demo tenant's items are the local stack's (loopback URLs).
	t.Setenv("EGRESS_LOCAL", "1")
	t.Setenv("STAGE", "local")
	e := apptest.New(t, apptest.Options{Sources: source.NewRegistry(p)})
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: io.Discard, connect: func(context.Context, io.Writer) (*backend, error) {
		return &backend{Deps: e.Deps, DB: e.DB, SM: e.Secrets}, nil
	}}
	return c, e, &out
}

func TestTenantsPutGetList(t *testing.T) {
	c, _, out := fakeCLI(t, &sourcetest.Platform{})
	ctx := context.Background()
	root := "../../events/tenant/"
	if err := c.run(ctx, []string{"tenants", "put", root + "agent-demo.json", root + "source-generic-demo.json"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "put AGENT#64f1c0ffee0ddba11ad0be57/CONFIG") || !strings.Contains(out.String(), "put SOURCE#generic#demo/CONFIG") {
		t.Fatalf("put said %s", out)
	}
	out.Reset()
	if err := c.run(ctx, []string{"tenants", "get", "SOURCE#generic#demo"}); err != nil {
		t.Fatal(err)
	}
	var item map[string]map[string]any
	if err := json.Unmarshal(out.Bytes(), &item); err != nil || item["agentId"]["S"] != "64f1c0ffee0ddba11ad0be57" {
		t.Fatalf("get printed %s (%v)", out, err)
	}
	out.Reset()
	if err := c.run(ctx, []string{"tenants", "list"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "AGENT#64f1c0ffee0ddba11ad0be57\tCONFIG\nSOURCE#generic#demo\tCONFIG\n" {
		t.Fatalf("list printed %q", got)
	}
	if err := c.run(ctx, []string{"tenants", "get", "SOURCE#generic#nobody"}); err == nil || !strings.Contains(err.Error(), "no item SOURCE#generic#nobody/CONFIG") {
		t.Fatalf("get of nothing: %v", err)
	}
}

func TestDeadLetters(t *testing.T) {
	p := &sourcetest.Platform{}
	c, e, out := fakeCLI(t, p)
	ctx := context.Background()
	const agentID, pcid = "64f1c0ffee0ddba11ad0a001", sourcetest.Name + ":acme:c1"
	e.Put(t, tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "none"}, nil), tenanttest.Source(sourcetest.Name, "acme", agentID, nil))
	// Two kept the way the queue consumer keeps them, one the way the
	// bridge did before the queues (a DeadMessage payload).
	kept := func(key, text string, envelope bool) {
		event := `{"eventType":"sendMessage","platformConversationId":"` + pcid + `","text":"` + text + `"}`
		payload := `{"agentId":"` + agentID + `","pcid":"` + pcid + `","event":` + event + `}`
		if envelope {
			payload = `{"v":1,"kind":"outbound","key":"` + key + `","pcid":"` + pcid + `","enqueued":1,"data":{"agentId":"` + agentID + `","event":` + event + `}}`
		}
		if err := e.Deps.State.Keep(ctx, state.DeadLetter{Key: key, Kind: state.DeadOutbound, Reason: "HTTP 500", Payload: payload, Ref: map[string]string{"pcid": pcid, "receives": "7"}}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Add(time.Second)
	}
	kept("BOTMSG#a#m1", "first", false)
	kept("BOTMSG#a#m2", "second", true)
	kept("BOTMSG#a#m3", "third", true)
	if err := c.run(ctx, []string{"deadletters", "list", "--kind", "outbound"}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "BOTMSG#a#m1\tattempts=1\treplays=0\ttries=7\tHTTP 500") {
		t.Fatalf("list printed %s (want oldest first)", out)
	}
	out.Reset()
	if err := c.run(ctx, []string{"deadletters", "show", "BOTMSG#a#m1"}); err != nil || !strings.Contains(out.String(), `"reason": "HTTP 500"`) {
		t.Fatalf("show: %v %s", err, out)
	}
	out.Reset()
	if err := c.run(ctx, []string{"deadletters", "replay", "BOTMSG#a#m1"}); err != nil || out.String() != "queued BOTMSG#a#m1 for delivery (replay 1)\n" {
		t.Fatalf("replay: %v %s", err, out)
	}
	if err := c.run(ctx, []string{"deadletters", "replay", "BOTMSG#a#m1"}); err == nil {
		t.Fatal("a replayed dead letter was replayed again")
	}
	e.Drain(t)
	if calls := p.Calls(); len(calls) != 1 || calls[0].Message.Text != "first" || calls[0].PCID != pcid {
		t.Fatalf("the platform got %+v", calls)
	}
	out.Reset()
	if err := c.run(ctx, []string{"deadletters", "discard", "BOTMSG#a#m2"}); err != nil || out.String() != "discarded BOTMSG#a#m2\n" {
		t.Fatalf("discard: %v %s", err, out)
	}
	// A platform that refuses again: the replay becomes a dead letter
	// again, its attempts counted.
	p.Fail = func(string) error { return &egress.StatusError{Op: "send", Status: 400} }
	out.Reset()
	if err := c.run(ctx, []string{"deadletters", "replay", "--all", "--conversation", pcid}); err != nil || out.String() != "queued BOTMSG#a#m3 for delivery (replay 1)\n" {
		t.Fatalf("replay --all: %v %s", err, out)
	}
	e.Drain(t)
	dl, err := e.Deps.State.DeadLetter(ctx, "BOTMSG#a#m3")
	if err != nil || dl.Attempts != 2 || dl.Replays != 1 || dl.Reason != "send: HTTP 400" {
		t.Fatalf("after a failed replay: %+v %v", dl, err)
	}
	out.Reset()
	if err := c.run(ctx, []string{"deadletters", "replay", "--all", "--conversation", "generic:other:c"}); err != nil || out.String() != "" {
		t.Fatalf("another conversation's: %v %q", err, out)
	}
}
