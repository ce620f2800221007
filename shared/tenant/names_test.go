package tenant

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	agentA = "618a30beee4e8e87d2f94015"
	agentB = "64f1c0ffee0ddba11ad0be57"
)

func TestSecretNames(t *testing.T) {
	if AgentSecretName(agentA) != "crmbridge/agents/"+agentA || SourceSecretName("generic", "acme") != "crmbridge/sources/generic/acme" ||
		ActionSecretPrefix(agentA) != "crmbridge/actions/"+agentA+"/" {
		t.Fatal("names")
	}
	tests := []struct {
		name    string
		want    SecretRef
		problem string
	}{
		{name: "crmbridge/agents/" + agentA, want: SecretRef{Kind: SecretAgent, AgentID: agentA}},
		{name: "crmbridge/sources/generic/acme", want: SecretRef{Kind: SecretSource, Source: "generic", Account: "acme"}},
		{name: "crmbridge/actions/" + agentA + "/shop", want: SecretRef{Kind: SecretAction, AgentID: agentA, Name: "shop"}},
		{name: "crmbridge/agents/a1", problem: "24 lowercase hex"},
		{name: "crmbridge/agents/" + agentA + "/x", problem: "24 lowercase hex"},
		{name: "crmbridge/sources/generic", problem: "{source}/{account}"},
		{name: "crmbridge/sources/generic/a/b", problem: "{source}/{account}"},
		{name: "crmbridge/sources/Generic/acme", problem: "{source}/{account}"},
		{name: "crmbridge/actions/" + agentA, problem: "{agentId}/{name}"},
		{name: "crmbridge/actions/" + agentA + "/", problem: "{agentId}/{name}"},
		{name: "crmbridge/actions/" + agentA + "/..", problem: "{agentId}/{name}"},
		{name: "crmbridge/actions/" + agentA + "/a/b", problem: "{agentId}/{name}"},
		{name: "crmbridge/actions/test/shop", problem: "{agentId}/{name}"},
		{name: "prod/db-password", problem: "must be crmbridge/agents/{agentId}"},
		{name: "crmbridge/other", problem: "must be crmbridge/agents/{agentId}"},
		{name: "", problem: "must be"},
	}
	for _, tt := range tests {
		got, err := ParseSecretName(tt.name)
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("ParseSecretName(%q) = %+v, %v; want error with %q", tt.name, got, err, tt.problem)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSecretName(%q) = %+v, %v", tt.name, got, err)
		}
	}
}

func TestCheckActionSecret(t *testing.T) {
	tests := []struct {
		name    string
		foreign bool // refused as another tenant's
		ok      bool
	}{
		{name: "crmbridge/actions/" + agentA + "/shop", ok: true},
		{name: "crmbridge/actions/" + agentA + "/shop.v2@eu", ok: true},
		{name: "crmbridge/agents/" + agentB, foreign: true},
		{name: "crmbridge/agents/" + agentA, foreign: true},
		{name: "crmbridge/actions/" + agentB + "/shop", foreign: true},
		{name: "crmbridge/sources/generic/acme", foreign: true},
		{name: "other/actions/" + agentA + "/shop", foreign: true},
		{name: "crmbridge/actions/" + agentA + "/..", ok: false},
		{name: "crmbridge/actions/" + agentA + "/a/b", ok: false},
		{name: "crmbridge/actions/" + agentA + "/", ok: false},
	}
	for _, tt := range tests {
		err := CheckActionSecret(agentA, tt.name)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && err == nil:
			t.Errorf("%s accepted", tt.name)
		case tt.foreign && !errors.Is(err, ErrForeignSecret):
			t.Errorf("%s: %v, want ErrForeignSecret", tt.name, err)
		}
	}
}

// Cross-tenant reads through the real read path: the loader refuses items
// that name another tenant's secret, and Credentials refuses such names on
// every read even when handed a Source or Action that did not come from
// the loader. No refused read reaches the secret store.
func TestCredentialsRefuseForeignSecrets(t *testing.T) {
	sourceB := `{"pk":{"S":"SOURCE#generic#acme"},"sk":{"S":"CONFIG"},"agentId":{"S":"` + agentA + `"},"enabled":{"BOOL":true},` +
		`"credentialsSecret":{"S":"crmbridge/sources/generic/other"}}`
	agentItemB := `{"pk":{"S":"AGENT#` + agentA + `"},"sk":{"S":"CONFIG"},"secret":{"S":"crmbridge/agents/` + agentB + `"},"webhookAuth":{"M":{"scheme":{"S":"header"}}}}`
	db := newFakeDB(t, sourceB, agentItemB)
	sec := &fakeSecrets{values: map[string]string{
		"crmbridge/sources/generic/other":             `{"inboundSecret":"x"}`,
		"crmbridge/agents/" + agentB:                  `{"apiKey":"B-key","webhookSecret":"w"}`,
		"crmbridge/actions/" + agentA + "/shop":       `{"token":"t"}`,
		"crmbridge/actions/" + agentB + "/shop":       `{"token":"B-token"}`,
		"crmbridge/sources/generic/acme":              `{"inboundSecret":"mine"}`,
		"crmbridge/agents/" + agentA:                  `{"apiKey":"A-key"}`,
		"crmbridge/actions/" + agentA + "/../../x":    `{}`,
		"crmbridge/actions/" + agentA + "/shop/extra": `{}`,
	}}
	l := newLoader(db, &fakeClock{t: time.Unix(1_700_000_000, 0)})
	c := &Credentials{Loader: l, Secrets: sec}
	ctx := context.Background()

	if _, err := l.Source(ctx, "generic", "acme"); err == nil || !strings.Contains(err.Error(), "its own secret") {
		t.Fatalf("account naming another account's secret: %v", err)
	}
	if _, err := c.APIKey(ctx, agentA); err == nil || !strings.Contains(err.Error(), "its own secret") {
		t.Fatalf("agent naming another agent's secret: %v", err)
	}
	// Hand-made values, as a handler with a bug might pass.
	if _, err := c.SourceCredentials(ctx, &Source{Source: "generic", Account: "acme", CredentialsSecret: "crmbridge/sources/generic/other"}); !errors.Is(err, ErrForeignSecret) {
		t.Fatalf("SourceCredentials foreign: %v", err)
	}
	act := &Action{AgentID: agentA, Name: "lookupOrder", Kind: ActionHTTP}
	parse := func(raw []byte) (any, error) { return string(raw), nil }
	for _, name := range []string{"crmbridge/agents/" + agentB, "crmbridge/actions/" + agentB + "/shop", "crmbridge/sources/generic/other",
		"crmbridge/actions/" + agentA + "/../../x", "crmbridge/actions/" + agentA + "/shop/extra"} {
		if _, err := c.ActionSecret(ctx, act, name, parse); err == nil {
			t.Fatalf("ActionSecret(%s) accepted", name)
		}
	}
	if len(sec.gets) != 0 {
		t.Fatalf("refused names were read: %v", sec.gets)
	}
	// The tenant's own names are read.
	if v, err := c.SourceCredentials(ctx, &Source{Source: "generic", Account: "acme", CredentialsSecret: "crmbridge/sources/generic/acme"}); err != nil || string(v) != `{"inboundSecret":"mine"}` {
		t.Fatalf("own credentials: %s %v", v, err)
	}
	if v, err := c.SourceCredentials(ctx, &Source{Source: "generic", Account: "acme"}); err != nil || v != nil {
		t.Fatalf("no credentials: %s %v", v, err)
	}
	if v, err := c.ActionSecret(ctx, act, "crmbridge/actions/"+agentA+"/shop", parse); err != nil || v != `{"token":"t"}` {
		t.Fatalf("own action secret: %v %v", v, err)
	}
	if strings.Join(sec.gets, ",") != "crmbridge/sources/generic/acme,crmbridge/actions/"+agentA+"/shop" {
		t.Fatalf("reads %v", sec.gets)
	}
}
