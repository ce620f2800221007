package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/app"
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

// runMainEnv runs the CLI as a process with extra environment variables.
func runMainEnv(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = "../.." // the repository root, like `go run ./cmd/crmbridge`
	// No AWS at all: these commands must not need it.
	cmd.Env = append(env, "CRMBRIDGE_TEST_RUN_MAIN=1", "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir(),
		"AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_ACCESS_KEY_ID=none", "AWS_SECRET_ACCESS_KEY=none", "AWS_REGION=us-east-1")
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

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"pk":{"S":"SOURCE#generic#x"},"sk":{"S":"CONFIG"},"agentId":{"S":"a"},"enabled":{"S":"yes"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
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
		{"an unknown command", []string{"frobnicate"}, 1, "", `unknown command "frobnicate"`, nil},
		{"tenants alone", []string{"tenants"}, 1, "", "usage: crmbridge tenants", nil},
		{"tenants of another kind", []string{"tenants", "drop"}, 1, "", `unknown tenants command "drop"`, nil},
		{"tenants validate without files", []string{"tenants", "validate"}, 1, "", "usage: crmbridge tenants validate", nil},
		{"tenants validate the demo tenant", []string{"tenants", "validate", "events/tenant/agent-demo.json", "events/tenant/source-generic-demo.json", "events/tenant/action-demo-lookuporder.json"}, 0, "ok  events/tenant/source-generic-demo.json", "", []string{"EGRESS_LOCAL=1", "STAGE=local"}},
		{"the demo tenant's loopback URLs are refused outside the local stack", []string{"tenants", "validate", "events/tenant/source-generic-demo.json"}, 1, "", "loopback addresses are refused outside the local stack", nil},
		{"tenants validate a bad item", []string{"tenants", "validate", bad}, 1, "", "field enabled", nil},
		{"tenants validate a missing file", []string{"tenants", "validate", "nope.json"}, 1, "", "nope.json", nil},
		{"tenants put of a bad item writes nothing", []string{"tenants", "put", bad}, 1, "", "field enabled", nil},
		{"tenants get without a key", []string{"tenants", "get"}, 1, "", "usage: crmbridge tenants get", nil},
		{"deadletters alone", []string{"deadletters"}, 1, "", "usage: crmbridge deadletters", nil},
		{"deadletters show without a key", []string{"deadletters", "show"}, 1, "", "usage: crmbridge deadletters show KEY", nil},
		{"deadletters list of a wrong kind", []string{"deadletters", "list", "--kind", "sideways"}, 1, "", "--kind must be inbound or outbound", nil},
		{"deadletters list -h", []string{"deadletters", "list", "-h"}, 0, "", "-kind", nil},
		{"deadletters replay -h", []string{"deadletters", "replay", "-h"}, 0, "", "-conversation", nil},
		{"deadletters replay with a key and --all", []string{"deadletters", "replay", "--all", "EVENT#x"}, 1, "", "usage: crmbridge deadletters replay KEY | replay --all", nil},
		{"deadletters replay of a local table would reach AWS's SQS", []string{"deadletters", "replay", "EVENT#x"}, 1, "", "set AWS_ENDPOINT_URL_SQS",
			[]string{"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4000", "AWS_ENDPOINT_URL_SQS=https://sqs.us-east-1.amazonaws.com"}},
		{"deadletters replay onto a local queue would reach AWS's SQS", []string{"deadletters", "replay", "EVENT#x"}, 1, "", "INBOUND_QUEUE_URL is a local queue",
			[]string{"INBOUND_QUEUE_URL=http://sqs.us-east-1.localhost:4566/000000000000/crmbridge-inbound.fifo",
				"AWS_ENDPOINT_URL_SQS=https://sqs.us-east-1.amazonaws.com", "AWS_ENDPOINT_URL_DYNAMODB=https://dynamodb.us-east-1.amazonaws.com"}},
		{"events alone", []string{"events"}, 1, "", "usage: crmbridge events sign", nil},
		{"events sign a sample", []string{"events", "sign", "events/source-inbound/generic-message.json"}, 0, `"webhook-signature"`, "", nil},
		{"keys", []string{"keys"}, 0, `"inboundSecret":"whsec_`, "", nil},
		{"invoke without arguments", []string{"invoke"}, 1, "", "usage: crmbridge invoke", nil},
		{"invoke an unknown function", []string{"invoke", "--build", t.TempDir(), "webhook-nothing", "x.json"}, 1, "", "functions: source-inbound, webhook-message", nil},
		{"send with no secret file", []string{"send", "--secret-file", "nope.json", "hi"}, 1, "", "read the account's secret", nil},
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

// fakeCLI runs commands in-process against the in-memory fakes, the
// functions' own wiring over them.
func fakeCLI(t *testing.T, p *sourcetest.Platform) (*cli, *apptest.Env, *bytes.Buffer) {
	t.Helper()
	// The demo tenant's items are the local stack's (loopback URLs).
	t.Setenv("EGRESS_LOCAL", "1")
	t.Setenv("STAGE", "local")
	e := apptest.New(t, apptest.Options{Sources: source.NewRegistry(p)})
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: io.Discard, connect: func(context.Context, io.Writer) (*app.Deps, TenantsDB, error) {
		return e.Deps, e.DB, nil
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
		if err := e.Deps.State.Keep(ctx, state.DeadLetter{Key: key, Kind: state.DeadOutbound, Reason: "HTTP 500", Payload: payload, Ref: map[string]string{"pcid": pcid}}); err != nil {
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
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "BOTMSG#a#m1\tattempts=1\treplays=0") {
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
