package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// startStack runs a local stack (its own moto_server) on free ports and
// points this process's environment at it, as `eval "$(crmbridge local
// env)"` does.
func startStack(t *testing.T) *localstack.Stack {
	t.Helper()
	st, err := localstack.Start(context.Background(), localstack.Options{
		Addr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", SunshineAddr: "127.0.0.1:0", LivePersonAddr: "127.0.0.1:0", EventsDir: "../../events",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	for _, k := range localstack.CLIUnset {
		t.Setenv(k, "")
	}
	for _, v := range st.CLIEnv() {
		t.Setenv(v.Key, v.Value)
	}
	return st
}

func scanCount(t *testing.T, st *localstack.Stack, table string) int32 {
	t.Helper()
	out, err := st.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), Select: ddbtypes.SelectCount})
	if err != nil {
		t.Fatal(err)
	}
	return out.Count
}

// doctor against the local stack (the CLI's real wiring, over moto_server
// and the fake AI agent): the demo deployment passes, without a write and
// without a request the AI agent accepts; each broken part is found and
// named with its fix.
func TestDoctorOnTheLocalStack(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	doctor := func() (string, error) {
		var out bytes.Buffer
		c := &cli{stdout: &out, stderr: io.Discard, connect: connectAWS}
		err := c.run(ctx, []string{"doctor", "--api", st.API})
		return out.String(), err
	}
	items, states := scanCount(t, st, st.Opts.TenantsTable), scanCount(t, st, st.Opts.StateTable)
	received := len(st.Agent.Received())

	// The demo's account "other" is another tenant's, for the ownership
	// check, and its agent is configured nowhere: the one problem.
	out, err := doctor()
	if err == nil || err.Error() != "1 problem" || !strings.Contains(out, "FAIL  item SOURCE#generic#other/CONFIG: maps to agent 64f1c0ffee0ddba11ad0be58, which has no item") {
		t.Fatalf("doctor on the demo stack: %v\n%s", err, out)
	}
	for _, want := range []string{
		"ok    table crmbridge-tenants (tenants)", "ok    table crmbridge-state (state)",
		"ok    tenant items", "ok    secret " + tenant.AgentSecretName(localstack.DemoAgentID) + ": present and valid",
		"ok    secret crmbridge/actions/" + localstack.DemoAgentID + "/shop", "ok    secret crmbridge/sources/sunshine/",
		"ok    AI agent " + localstack.DemoAgentID + ": accepts", "ok    webhook URL " + st.API + "/webhooks",
		"ok    source URL of generic demo", "ok    source URL of liveperson",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor said\n%s\nwant %q", out, want)
		}
	}
	if n := len(st.Agent.Received()); n != received {
		t.Errorf("the AI agent accepted %d requests from doctor", n-received)
	}
	if a, b := scanCount(t, st, st.Opts.TenantsTable), scanCount(t, st, st.Opts.StateTable); a != items || b != states {
		t.Errorf("doctor wrote: items %d→%d, state %d→%d", items, a, states, b)
	}

	// Break three things: the agent's key, an action's secret, an item.
	if _, err := st.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(tenant.AgentSecretName(localstack.DemoAgentID)),
		SecretString: aws.String(`{"apiKey":"rotated-elsewhere","webhookSecret":"w"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SM.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("crmbridge/actions/" + localstack.DemoAgentID + "/shop"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	bad, err := tenant.DecodeItemJSON([]byte(`{"pk":{"S":"SOURCE#generic#broken"},"sk":{"S":"CONFIG"},"agentId":{"S":"` + localstack.DemoAgentID + `"},"enabeld":{"BOOL":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Opts.TenantsTable), Item: bad}); err != nil {
		t.Fatal(err)
	}
	out, err = doctor()
	if err == nil || err.Error() != "4 problems" {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	for _, want := range []string{
		"FAIL  AI agent " + localstack.DemoAgentID + ": refuses the API key\n      fix: regenerate the custom CRM API key",
		"FAIL  secret crmbridge/actions/" + localstack.DemoAgentID + "/shop: missing (named by action lookupOrder of agent " + localstack.DemoAgentID + ")\n      fix: crmbridge secrets put action " + localstack.DemoAgentID + " shop",
		"FAIL  item SOURCE#generic#broken/CONFIG: ", "did you mean `enabled`?",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor said\n%s\nwant %q", out, want)
		}
	}
}

// local env prints the running stack's environment, and refuses a file
// whose stack is gone.
func TestLocalEnv(t *testing.T) {
	st := startStack(t)
	file := t.TempDir() + "/env"
	if err := writeEnvFile(file, shellEnv(st)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: io.Discard}
	if err := c.run(context.Background(), []string{"local", "env", "--env-file", file}); err != nil {
		t.Fatal(err)
	}
	for _, v := range st.CLIEnv() {
		if !strings.Contains(out.String(), "export "+v.Key+"='"+v.Value+"'\n") {
			t.Errorf("local env lacks %s=%s:\n%s", v.Key, v.Value, out.String())
		}
	}
	if !strings.Contains(out.String(), "unset AWS_PROFILE AWS_SESSION_TOKEN") {
		t.Errorf("local env does not unset the profile:\n%s", out.String())
	}
	st.Close()
	if err := c.run(context.Background(), []string{"local", "env", "--env-file", file}); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("local env of a stopped stack: %v", err)
	}
}
