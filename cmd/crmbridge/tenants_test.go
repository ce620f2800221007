package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	agentA = "64f1c0ffee0ddba11ad0be57" // the demo agent
	agentB = "618a30beee4e8e87d2f94015"
)

// The demo tenant is valid as shipped, in the local stack's mode (its
// URLs are loopback ones) and only there.
func TestValidateDemoTenant(t *testing.T) {
	t.Setenv("EGRESS_LOCAL", "1")
	t.Setenv("STAGE", "local")
	files, err := filepath.Glob("../../events/tenant/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no demo files: %v", err)
	}
	var out bytes.Buffer
	if err := (&cli{stdout: &out, stderr: io.Discard}).run(context.Background(), append([]string{"tenants", "validate"}, files...)); err != nil {
		t.Fatalf("demo tenant: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "ok  "); n != len(files) {
		t.Fatalf("%d of %d files ok:\n%s", n, len(files), out.String())
	}
}

// Every rule the functions apply at read time applies to `tenants
// validate`: strict fields with the nearest name, and secret names owned by
// the item's tenant, including the cross-tenant cases.
func TestValidateRefuses(t *testing.T) {
	source := func(extra string) string {
		return `{"pk":{"S":"SOURCE#generic#acme"},"sk":{"S":"CONFIG"},"agentId":{"S":"` + agentA + `"},"enabled":{"BOOL":true},` +
			`"settings":{"M":{"callbackUrl":{"S":"https://acme.example.com/hook"}}}` + extra + `}`
	}
	agent := func(extra string) string {
		return `{"pk":{"S":"AGENT#` + agentA + `"},"sk":{"S":"CONFIG"},"webhookAuth":{"M":{"scheme":{"S":"header"}` + extra + `}}}`
	}
	action := func(http string) string {
		return `{"pk":{"S":"AGENT#` + agentA + `"},"sk":{"S":"ACTION#lookup"},"kind":{"S":"http"},"http":{"M":{"url":{"S":"https://shop.example.com/o"}` + http + `}}}`
	}
	lp := func(extra string) string {
		return `{"pk":{"S":"SOURCE#liveperson#90412077"},"sk":{"S":"CONFIG"},"agentId":{"S":"` + agentA + `"},"enabled":{"BOOL":true},` +
			`"settings":{"M":{"botId":{"S":"b1"},"jwksUrl":{"S":"https://sentinel.example.com/jwks"},"zone":{"S":"z1"}` + extra + `}}}`
	}
	tests := []struct {
		name, file, want string
	}{
		{"webhookAuth.prefx", agent(`,"prefx":{"S":"Bearer "}`), "field webhookAuth.prefx: unknown field; did you mean `prefix`?"},
		{"sanitise in a metadata rule", source(`,"metadata":{"L":[{"M":{"field":{"S":"email"},"sanitise":{"BOOL":true}}}]}`), "field metadata[0].sanitise: unknown field; did you mean `sanitize`?"},
		{"sanitise in an action result", action(`,"results":{"L":[{"M":{"key":{"S":"email"},"path":{"S":"e"},"sanitise":{"BOOL":true}}}]}`), "field http.results[0].sanitise: unknown field; did you mean `sanitize`?"},
		{"top-level enabeld", source(`,"enabeld":{"BOOL":false}`), "field enabeld: unknown field; did you mean `enabled`?"},
		{"timeoutSecond", strings.Replace(source(""), `"callbackUrl"`, `"timeoutSecond":{"N":"5"},"callbackUrl"`, 1), "field settings.timeoutSecond: unknown field; did you mean `timeoutSeconds`?"},
		{"closeOnEnds", lp(`,"closeOnEnds":{"BOOL":true}`), "field settings.closeOnEnds: unknown field; did you mean `closeOnEnd`?"},
		{"teams typo", strings.Replace(agent(""), `"webhookAuth"`, `"teams":{"M":{"default":{"M":{"mode":{"S":"fixed"},"onlin":{"BOOL":true}}}}},"webhookAuth"`, 1),
			"field teams.default.onlin: unknown field; did you mean `online`?"},
		{"agentId not 24 hex", strings.Replace(source(""), agentA, "agent-1", 1), "field agentId: 24 lowercase hex characters"},
		{"agent pk not 24 hex", strings.Replace(agent(""), "AGENT#"+agentA, "AGENT#bot", 1), "field pk: agent ID must be 24 lowercase hex"},
		{"agent secret outside crmbridge/", strings.Replace(agent(""), `"webhookAuth"`, `"secret":{"S":"prod/agents/`+agentA+`"},"webhookAuth"`, 1), "field secret: must be \"crmbridge/agents/" + agentA + "\""},
		{"agent secret of another agent", strings.Replace(agent(""), `"webhookAuth"`, `"secret":{"S":"crmbridge/agents/`+agentB+`"},"webhookAuth"`, 1), "an agent may only use its own secret"},
		{"credentialsSecret of another account", source(`,"credentialsSecret":{"S":"crmbridge/sources/generic/other"}`), `field credentialsSecret: must be "crmbridge/sources/generic/acme": an account may only use its own secret`},
		{"credentialsSecret outside crmbridge/", source(`,"credentialsSecret":{"S":"shared/generic"}`), "an account may only use its own secret"},
		{"action secret of another agent", action(`,"headers":{"M":{"X-Api-Key":{"S":"{{secret.apiKey}}"}}},"secret":{"S":"crmbridge/agents/` + agentB + `"}`),
			`http.secret: must start with "crmbridge/actions/` + agentA + `/" (an action may only use its own agent's secrets)`},
		{"action secret of its own agent's key", action(`,"headers":{"M":{"X-Api-Key":{"S":"{{secret.apiKey}}"}}},"secret":{"S":"crmbridge/agents/` + agentA + `"}`), "an action may only use its own agent's secrets"},
		{"action secret of another agent's action", action(`,"secret":{"S":"crmbridge/actions/` + agentB + `/shop"}`), "an action may only use its own agent's secrets"},
		{"secret file outside crmbridge/", `{"Name":"prod/db","SecretString":"{}"}`, "secret prod/db: must be crmbridge/agents/{agentId}"},
		{"secret file of a malformed agent", `{"Name":"crmbridge/agents/bot","SecretString":"{\"apiKey\":\"k\"}"}`, "24 lowercase hex"},
		{"secret file of a malformed action", `{"Name":"crmbridge/actions/test/shop","SecretString":"{}"}`, "{agentId}/{name}"},
		{"secret file field typo", `{"Name":"crmbridge/agents/` + agentA + `","SecretStrng":"{}"}`, "SecretStrng: unknown field; did you mean `SecretString`?"},
		{"agent secret without apiKey", `{"Name":"crmbridge/agents/` + agentA + `","SecretString":"{\"webhookSecret\":\"w\"}"}`, "apiKey is missing"},
		{"source secret of an unknown source", `{"Name":"crmbridge/sources/nosuch/acme","SecretString":"{}"}`, `unknown source "nosuch"`},
		{"source secret with bad credentials", `{"Name":"crmbridge/sources/generic/acme","SecretString":"{\"inboundSecret\":\"x\"}"}`, "credentials inboundSecret"},
		{"action secret not an object", `{"Name":"crmbridge/actions/` + agentA + `/shop","SecretString":"[1]"}`, "must be a JSON object"},
		{"not JSON", `{`, "not JSON"},
		{"unknown kind", `{"pk":{"S":"OTHER"},"sk":{"S":"CONFIG"}}`, "unknown kind"},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(dir, "f"+string(rune('a'+i))+".json")
			if err := os.WriteFile(f, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := (&cli{stdout: &out, stderr: io.Discard}).run(context.Background(), []string{"tenants", "validate", f})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v\nwant one containing %q", err, tt.want)
			}
			if strings.Contains(out.String(), "ok  ") {
				t.Fatalf("reported ok: %s", out.String())
			}
		})
	}
}

// Secret values never appear in what validate prints or returns.
func TestValidateNeverEchoesSecrets(t *testing.T) {
	const value = "S3CRET-VALUE-xyz"
	dir := t.TempDir()
	var files []string
	for i, body := range []string{
		`{"Name":"crmbridge/agents/` + agentA + `","SecretString":"{\"webhookSecret\":\"` + value + `\"}"}`,
		`{"Name":"crmbridge/sources/generic/acme","SecretString":"{\"inboundSecret\":\"` + value + `\"}"}`,
		`{"Name":"crmbridge/actions/` + agentA + `/x","SecretString":"` + value + `"}`,
	} {
		f := filepath.Join(dir, "s"+string(rune('a'+i))+".json")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var out bytes.Buffer
	err := (&cli{stdout: &out, stderr: io.Discard}).run(context.Background(), append([]string{"tenants", "validate"}, files...))
	if err == nil || strings.Contains(err.Error(), value) || strings.Contains(out.String(), value) {
		t.Fatalf("err %v / out %s", err, out.String())
	}
}
