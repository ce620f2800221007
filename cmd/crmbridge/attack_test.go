package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
)

// The item attacks of the attack suite (shared/attack), at write time:
// what an operator's typo or a malicious item would slip past `crmbridge
// tenants validate`. Each is one change to an item that validates; each
// must be refused naming the field, and no secret value may be echoed.

type fields = tenanttest.Fields

// remove deletes the attribute at a path.
const remove = "\x00remove"

// edited returns a deep copy of base with the value at a dotted path set
// (or removed).
func edited(base fields, path string, v any) fields {
	b, _ := json.Marshal(base)
	var out fields
	_ = json.Unmarshal(b, &out)
	m := out
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	if v == remove {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = v
	}
	return out
}

func itemFile(t *testing.T, dir string, n int, f fields) string {
	t.Helper()
	av, err := attributevalue.MarshalMap(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tenant.EncodeItemJSON(av)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, fmt.Sprintf("item-%d.json", n))
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestAttackItems(t *testing.T) {
	t.Setenv("EGRESS_LOCAL", "")
	t.Setenv("STAGE", "")
	const secretValue = "SECRET-ITEM-5e1d"
	agent := tenanttest.Agent(agentA, fields{"scheme": "header", "prefix": "Bearer "}, fields{
		"baseUrl": "https://api.ultimate.ai",
		"teams":   fields{"default": fields{"mode": "fixed", "online": true}},
	})
	gen := tenanttest.Source("generic", "acme", agentA, fields{
		"credentialsSecret": "crmbridge/sources/generic/acme",
		"settings":          fields{"callbackUrl": "https://chat.example.com/crmbridge", "timeoutSeconds": 5},
		"metadata":          []any{fields{"field": "email", "sanitize": true}},
	})
	sun := tenanttest.Source("sunshine", "app1", agentA, fields{
		"credentialsSecret": "crmbridge/sources/sunshine/app1",
		"settings":          fields{"baseUrl": "https://api.smooch.io", "integrationId": "int1"},
	})
	lp := tenanttest.Source("liveperson", "90412077", agentA, fields{
		"credentialsSecret": "crmbridge/sources/liveperson/90412077",
		"settings":          fields{"botId": "b1", "jwksUrl": "https://sentinel.example.com/jwks", "zone": "z1", "closeOnEnd": true},
	})
	act := tenanttest.Action(agentA, "lookup", fields{"kind": "http", "http": fields{
		"method": "POST", "url": "https://shop.example.com/api/orders/{{data.id}}", "secret": "crmbridge/actions/" + agentA + "/shop",
		"headers": fields{"X-Api-Key": "{{secret.key}}"}, "body": fields{"q": "{{data.q}}"},
		"results": []any{fields{"key": "status", "path": "order.status", "sanitize": false}},
	}})
	builtin := tenanttest.Action(agentA, "tags", fields{"kind": "builtin", "builtin": "addTags"})
	type row struct {
		name string
		item fields
		want string // in the error: the field, and the rule or suggestion
	}
	internal := []string{"http://localhost:9001", "https://localhost:9001", "https://127.0.0.1", "https://169.254.169.254", "https://[fd00:ec2::254]",
		"https://10.0.0.1", "https://192.168.0.10", "https://100.64.0.1", "https://[::1]", "https://[::ffff:127.0.0.1]", "https://2130706433", "https://0x7f.1"}
	rows := []row{
		// Typos that would silently weaken security (issue 8, 7).
		{"webhookAuth.prefx", edited(agent, "webhookAuth.prefx", "Bearer "), "webhookAuth.prefx: unknown field; did you mean `prefix`?"},
		{"webhookAuth.schema", edited(agent, "webhookAuth.schema", "none"), "webhookAuth.schema: unknown field; did you mean `scheme`?"},
		{"sanitise in a metadata rule", edited(gen, "metadata", []any{fields{"field": "email", "sanitise": true}}), "metadata[0].sanitise: unknown field; did you mean `sanitize`?"},
		{"sanitise in an action result", edited(act, "http.results", []any{fields{"key": "email", "path": "e", "sanitise": true}}), "http.results[0].sanitise: unknown field; did you mean `sanitize`?"},
		{"top-level enabeld", edited(gen, "enabeld", false), "enabeld: unknown field; did you mean `enabled`?"},
		{"timeoutSecond", edited(gen, "settings.timeoutSecond", 5), "settings.timeoutSecond: unknown field; did you mean `timeoutSeconds`?"},
		{"callbackURL", edited(gen, "settings.callbackURL", "https://x.example.com"), "settings.callbackURL: unknown field"},
		{"closeOnEnds", edited(lp, "settings.closeOnEnds", true), "settings.closeOnEnds: unknown field; did you mean `closeOnEnd`?"},
		{"jwtKeyId", edited(lp, "settings.jwtKeyId", []any{"k1"}), "settings.jwtKeyId: unknown field; did you mean `jwtKeyIds`?"},
		{"integrationID", edited(sun, "settings.integrationID", "int1"), "settings.integrationID: unknown field; did you mean `integrationId`?"},
		{"teams typo", edited(agent, "teams.default.onlin", true), "teams.default.onlin: unknown field; did you mean `online`?"},
		{"http.heders", edited(act, "http.heders", fields{"X-A": "1"}), "http.heders: unknown field; did you mean `headers`?"},
		{"kinds", edited(builtin, "kinds", "builtin"), "kinds: unknown field; did you mean `kind`?"},
		{"enabled as a string", edited(gen, "enabled", "yes"), "enabled: must be a boolean"},
		{"agentId not 24 hex", edited(gen, "agentId", "agent-1"), "agentId: 24 lowercase hex"},
		{"an agent item of a malformed ID", edited(agent, "pk", "AGENT#bot"), "agent ID must be 24 lowercase hex"},
		{"an account of ..", edited(gen, "pk", "SOURCE#generic#.."), "account must be"},
		{"a webhook scheme none in disguise", edited(agent, "webhookAuth.scheme", "None"), "webhookAuth.scheme"},
		// Secret names that are not the item's own (issue 8, 3).
		{"agent secret outside crmbridge/", edited(agent, "secret", "prod/agents/"+agentA), "secret: must be \"crmbridge/agents/" + agentA + "\""},
		{"agent secret of another agent", edited(agent, "secret", "crmbridge/agents/"+agentB), "an agent may only use its own secret"},
		{"credentialsSecret of another account", edited(gen, "credentialsSecret", "crmbridge/sources/generic/other"), "an account may only use its own secret"},
		{"credentialsSecret of another source", edited(gen, "credentialsSecret", "crmbridge/sources/sunshine/acme"), "an account may only use its own secret"},
		{"action secret of another agent", edited(act, "http.secret", "crmbridge/agents/"+agentB), "an action may only use its own agent's secrets"},
		{"action secret of its own agent's key", edited(act, "http.secret", "crmbridge/agents/"+agentA), "an action may only use its own agent's secrets"},
		{"action secret of another agent's action", edited(act, "http.secret", "crmbridge/actions/"+agentB+"/shop"), "an action may only use its own agent's secrets"},
		{"action secret with a path", edited(act, "http.secret", "crmbridge/actions/"+agentA+"/../"+agentB+"/shop"), "http.secret"},
		// Templates that could split a request or climb a path (issue 8, 5).
		{"CR-LF in a header template", edited(act, "http.headers", fields{"X-A": "a\r\nX-Injected: 1"}), "http.headers.X-A: control characters"},
		{"a header name with a colon", edited(act, "http.headers", fields{"X-A: b": "1"}), "not a valid header name"},
		{"a written .. in the URL", edited(act, "http.url", "https://shop.example.com/api/../admin/{{data.id}}"), "http.url: the path may not contain . or .. segments"},
		{"a placeholder in the host", edited(act, "http.url", "https://{{data.host}}/api"), "http.url: placeholders are not allowed in the scheme or host"},
		{"a secret in the URL", edited(act, "http.url", "https://shop.example.com/api?k={{secret.key}}"), "secrets may not appear in the URL"},
		{"an unknown placeholder", edited(act, "http.body", fields{"q": "{{env.AWS_SECRET_ACCESS_KEY}}"}), "unknown placeholder"},
		{"unbalanced braces", edited(act, "http.url", "https://shop.example.com/api/{{data.id}"), "unbalanced"},
		{"a path that is not percent-encoded", edited(act, "http.url", "https://shop.example.com/a b/{{data.id}}"), "percent-encoded"},
		{"a result without a path (the whole answer)", edited(act, "http.results", []any{fields{"key": "all"}}), "http.results[0].path: required"},
		{"a secret placeholder without a secret", edited(act, "http.secret", remove), "set http.secret"},
		{"a URL with user info", edited(act, "http.url", "https://user:pw@shop.example.com/api"), "http.url: must not carry a user or password"},
		{"plain http", edited(act, "http.url", "http://shop.example.com/api"), "http.url: must be https://"},
	}
	// Internal addresses in every URL an item can hold (issue 8, 4).
	for _, u := range internal {
		rows = append(rows,
			row{"callbackUrl " + u, edited(gen, "settings.callbackUrl", u+"/hook"), "callbackUrl"},
			row{"sunshine baseUrl " + u, edited(sun, "settings.baseUrl", u), "baseUrl"},
			row{"liveperson apiBaseUrl " + u, edited(lp, "settings.apiBaseUrl", u), "apiBaseUrl"},
			row{"liveperson jwksUrl " + u, edited(lp, "settings.jwksUrl", u+"/jwks"), "jwksUrl"},
			row{"action url " + u, edited(act, "http.url", u+"/orders/{{data.id}}"), "http.url"},
			row{"agent baseUrl " + u, edited(agent, "baseUrl", u), "baseUrl"},
		)
	}
	dir := t.TempDir()
	panics := 0
	validate := func(file string) (_ string, err error) {
		var out bytes.Buffer
		defer func() {
			if p := recover(); p != nil {
				panics++
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		err = (&cli{stdout: &out, stderr: io.Discard}).run(context.Background(), []string{"tenants", "validate", file})
		return out.String(), err
	}
	// The controls: every base item is valid as it is.
	for i, base := range []fields{agent, gen, sun, lp, act, builtin} {
		if out, err := validate(itemFile(t, dir, 1000+i, base)); err != nil {
			t.Fatalf("control item %v: %v %s", base["pk"], err, out)
		}
	}
	// Secret files with a typo must not echo the value.
	secretRows := []struct{ name, body, want string }{
		{"a secret file field typo", `{"Name":"crmbridge/agents/` + agentA + `","SecretStrng":"{\"apiKey\":\"` + secretValue + `\"}"}`, "SecretStrng: unknown field"},
		{"an agent secret of another name", `{"Name":"prod/agents/` + agentA + `","SecretString":"{\"apiKey\":\"` + secretValue + `\"}"}`, "must be crmbridge/agents/"},
		{"generic credentials not whsec", `{"Name":"crmbridge/sources/generic/acme","SecretString":"{\"inboundSecret\":\"` + secretValue + `\"}"}`, "inboundSecret"},
		{"sunshine keyId with a colon", `{"Name":"crmbridge/sources/sunshine/app1","SecretString":"{\"keyId\":\"a:b\",\"keySecret\":\"` + secretValue + `\",\"webhookSecret\":\"w\"}"}`, "keyId"},
	}
	var tried, refused, leaks int
	check := func(name, file, want string) {
		tried++
		out, err := validate(file)
		switch {
		case err == nil || strings.Contains(out, "ok  "):
			t.Errorf("%s: accepted: %s", name, out)
		case !strings.Contains(err.Error(), want):
			t.Errorf("%s: %v\nwant it to name %q", name, err, want)
		default:
			refused++
		}
		if err != nil && strings.Contains(err.Error()+out, secretValue) {
			leaks++
			t.Errorf("%s: the secret value was echoed", name)
		}
	}
	for i, r := range rows {
		check(r.name, itemFile(t, dir, i, r.item), r.want)
	}
	for i, r := range secretRows {
		f := filepath.Join(dir, fmt.Sprintf("secret-%d.json", i))
		if err := os.WriteFile(f, []byte(r.body), 0o600); err != nil {
			t.Fatal(err)
		}
		check(r.name, f, r.want)
	}
	t.Logf("ATTACK items: tried=%d refused=%d leaks=%d panics=%d", tried, refused, leaks, panics)
	if refused != tried || leaks != 0 || panics != 0 {
		t.Errorf("ATTACK items failed: tried=%d refused=%d leaks=%d panics=%d", tried, refused, leaks, panics)
	}
}
