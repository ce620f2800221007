package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

const demoRoot = "../../events/tenant/"

// tenants diff and put --dry-run show the change and write nothing; put
// writes it; diff then finds nothing.
func TestTenantsDiffAndDryRun(t *testing.T) {
	c, e, out := fakeCLI(t, &sourcetest.Platform{})
	ctx := context.Background()
	if err := c.run(ctx, []string{"tenants", "put", demoRoot + "agent-demo.json"}); err != nil {
		t.Fatal(err)
	}
	// A changed copy of the account item, and the agent item as is.
	b, _ := os.ReadFile(demoRoot + "source-generic-demo.json")
	changed := filepath.Join(t.TempDir(), "source.json")
	if err := os.WriteFile(changed, []byte(strings.Replace(string(b), `"BOOL": true`, `"BOOL": false`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := c.run(ctx, []string{"tenants", "diff", demoRoot + "agent-demo.json", changed}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"= AGENT#" + agentA + "/CONFIG", "+ SOURCE#generic#demo/CONFIG", "1 of 2 items would change"} {
		if !strings.Contains(got, want) {
			t.Fatalf("diff says\n%s\nwant %q", got, want)
		}
	}
	if err := c.run(ctx, []string{"tenants", "put", demoRoot + "source-generic-demo.json"}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := c.run(ctx, []string{"tenants", "put", "--dry-run", changed}); err != nil {
		t.Fatal(err)
	}
	got = out.String()
	if !strings.Contains(got, "~ SOURCE#generic#demo/CONFIG") || !strings.Contains(got, "-     \"BOOL\": true\n  +     \"BOOL\": false") ||
		!strings.Contains(got, "…") || strings.Contains(got, "callbackUrl") || !strings.Contains(got, "nothing written") {
		t.Fatalf("dry run says\n%s", got)
	}
	if it, _ := e.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.Deps.Config.TenantsTable), Key: key(tenant.SourceKey("generic", "demo"), tenant.ConfigSK)}); !strings.Contains(itemJSON(t, it.Item), `"BOOL": true`) {
		t.Fatal("the dry run wrote the item")
	}
}

func itemJSON(t *testing.T, it tenant.Item) string {
	t.Helper()
	b, err := tenant.EncodeItemJSON(it)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tenants delete: an agent item accounts map to is refused without
// --force; --dry-run deletes nothing; a missing item is an error.
func TestTenantsDelete(t *testing.T) {
	c, _, out := fakeCLI(t, &sourcetest.Platform{})
	ctx := context.Background()
	if err := c.run(ctx, []string{"tenants", "put", demoRoot + "agent-demo.json", demoRoot + "source-generic-demo.json"}); err != nil {
		t.Fatal(err)
	}
	agentPK := tenant.AgentKey(agentA)
	if err := c.run(ctx, []string{"tenants", "delete", agentPK}); err == nil || !strings.Contains(err.Error(), "accounts map to this agent: SOURCE#generic#demo") {
		t.Fatalf("delete of a used agent: %v", err)
	}
	out.Reset()
	if err := c.run(ctx, []string{"tenants", "delete", "--dry-run", "SOURCE#generic#demo"}); err != nil || !strings.Contains(out.String(), "would delete SOURCE#generic#demo/CONFIG") {
		t.Fatalf("dry run: %v %s", err, out)
	}
	out.Reset()
	if err := c.run(ctx, []string{"tenants", "delete", "SOURCE#generic#demo", "CONFIG"}); err != nil || out.String() != "deleted SOURCE#generic#demo/CONFIG\n" {
		t.Fatalf("delete: %v %s", err, out)
	}
	if err := c.run(ctx, []string{"tenants", "delete", "SOURCE#generic#demo"}); err == nil || !strings.Contains(err.Error(), "no item SOURCE#generic#demo/CONFIG") {
		t.Fatalf("second delete: %v", err)
	}
	if err := c.run(ctx, []string{"tenants", "delete", agentPK}); err != nil {
		t.Fatalf("delete of an unused agent: %v", err)
	}
}

// secrets put names each kind by the naming rules, checks the value with
// the functions' parsers first, and adds a version to an existing secret.
func TestSecretsPut(t *testing.T) {
	t.Setenv("EGRESS_LOCAL", "1")
	t.Setenv("STAGE", "local")
	c, e, out := fakeCLI(t, &sourcetest.Platform{})
	ctx := context.Background()
	value := func(v string) string {
		f := filepath.Join(t.TempDir(), "v.json")
		if err := os.WriteFile(f, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	get := func(name string) string {
		o, err := e.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			return ""
		}
		return aws.ToString(o.SecretString)
	}
	creds, _ := json.Marshal(map[string]string{"inboundSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "callbackSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	tests := []struct {
		args []string
		name string // the secret written, "" for a refusal
		err  string
	}{
		{[]string{"agent", agentA, "--value-file", value(`{"apiKey":"k1","webhookSecret":"w"}`)}, tenant.AgentSecretName(agentA), ""},
		{[]string{"agent", agentA, "--value-file", value(`{"apiKey":"k2","webhookSecret":"w"}`)}, tenant.AgentSecretName(agentA), ""},
		{[]string{"agent", agentA, "--value-file", value(`{"webhookSecret":"w"}`)}, "", "apiKey is missing"},
		{[]string{"agent", "bot", "--value-file", value(`{"apiKey":"k"}`)}, "", "24 lowercase hex"},
		{[]string{"source", "generic", "acme", "--value-file", value(string(creds))}, tenant.SourceSecretName("generic", "acme"), ""},
		{[]string{"source", "generic", "acme", "--value-file", value(`{"inboundSecret":"nope"}`)}, "", "inboundSecret"},
		{[]string{"action", agentA, "shop", "--value-file", value(`{"apiKey":"s"}`)}, tenant.ActionSecretPrefix(agentA) + "shop", ""},
		{[]string{"action", agentA, "shop", "--value-file", value(`["s"]`)}, "", "must be a JSON object"},
		{[]string{"action", agentA, "../x", "--value-file", value(`{}`)}, "", "crmbridge/actions/{agentId}/{name}"},
		{[]string{"file", demoRoot + "secret-action-demo-shop.json"}, "crmbridge/actions/" + agentA + "/shop", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			out.Reset()
			before := ""
			if tt.name != "" {
				before = get(tt.name)
			}
			err := c.run(ctx, append([]string{"secrets", "put"}, tt.args...))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				if strings.Contains(out.String(), "created") || strings.Contains(out.String(), "updated") {
					t.Fatalf("a refused value was written: %s", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			verb := map[bool]string{true: "created ", false: "updated "}[before == ""]
			if out.String() != verb+tt.name+"\n" {
				t.Fatalf("said %q, want %q", out.String(), verb+tt.name)
			}
			if v := get(tt.name); v == "" || strings.HasSuffix(v, "\n") {
				t.Fatalf("stored %q", v)
			}
		})
	}
	if v := get(tenant.AgentSecretName(agentA)); !strings.Contains(v, "k2") {
		t.Fatalf("the second put did not replace the value: %s", v)
	}
	// --dry-run checks and writes nothing.
	out.Reset()
	if err := c.run(ctx, []string{"secrets", "put", "--dry-run", "agent", agentB, "--value-file", value(`{"apiKey":"k"}`)}); err != nil || get(tenant.AgentSecretName(agentB)) != "" {
		t.Fatalf("dry run: %v, stored %q", err, get(tenant.AgentSecretName(agentB)))
	}
	// Standard input is the default.
	stdin = strings.NewReader(`{"apiKey":"from-stdin"}`)
	t.Cleanup(func() { stdin = os.Stdin })
	if err := c.run(ctx, []string{"secrets", "put", "agent", agentB}); err != nil || !strings.Contains(get(tenant.AgentSecretName(agentB)), "from-stdin") {
		t.Fatalf("stdin: %v", err)
	}
}
