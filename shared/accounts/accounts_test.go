package accounts_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

const (
	agentA = "64f1c0ffee0ddba11ad0a001"
	agentB = "64f1c0ffee0ddba11ad0b002"
	newSec = "new-webhook-secret"
	oldSec = "old-webhook-secret"
)

// newEnv: agent A (scheme given) owns fakechat/acme and the disabled
// fakechat/paused; agent B owns fakechat/other.
func newEnv(t *testing.T, scheme tenanttest.Fields) *apptest.Env {
	t.Helper()
	e := apptest.New(t, apptest.Options{Sources: source.NewRegistry(&sourcetest.Platform{})})
	e.Put(t,
		tenanttest.Agent(agentA, scheme, nil),
		tenanttest.Agent(agentB, tenanttest.Fields{"scheme": "header"}, nil),
		tenanttest.Source(sourcetest.Name, "acme", agentA, tenanttest.Fields{"credentialsSecret": tenanttest.SourceSecretName(sourcetest.Name, "acme")}),
		tenanttest.Source(sourcetest.Name, "paused", agentA, tenanttest.Fields{"enabled": false}),
		tenanttest.Source(sourcetest.Name, "other", agentB, nil),
	)
	// During a rotation both the new and the previous secret are valid.
	e.Secrets.Set(tenanttest.AgentSecretName(agentA), `{"apiKey":"k","webhookSecret":"`+newSec+`","previousWebhookSecret":"`+oldSec+`"}`)
	e.Secrets.Set(tenanttest.AgentSecretName(agentB), `{"apiKey":"k","webhookSecret":"b-secret"}`)
	e.Secrets.Set(tenanttest.SourceSecretName(sourcetest.Name, "acme"), "platform-token")
	return e
}

func body(botID, pcid, eventType string) []byte {
	return []byte(`{"botId":"` + botID + `","data":{"eventType":"` + eventType + `","platformConversationId":"` + pcid + `","teamId":"t"}}`)
}

func request(b []byte, headers map[string]string, query map[string]string) *apigw.Request {
	ev := apptest.Event("POST", "POST /webhooks/escalation", "/webhooks/escalation", headers, b)
	q := url.Values{}
	for k, v := range query {
		q.Set(k, v)
	}
	ev.RawQueryString = q.Encode()
	req, err := apigw.FromEvent(ev, apigw.Limits{})
	if err != nil {
		panic(err)
	}
	return req
}

func admit(t *testing.T, e *apptest.Env, b []byte, headers, query map[string]string) (*accounts.Call, error) {
	t.Helper()
	w, err := accounts.ParseWebhook(b)
	if err != nil {
		return nil, err
	}
	return e.Deps.Accounts.AdmitWebhook(context.Background(), request(b, headers, query), w)
}

func wantStatus(t *testing.T, err error, status int, code string) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	e := apigw.AsError(err)
	if err == nil || e.Status != status || e.Code != code {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
}

// TestEveryScheme authenticates each webhookAuth scheme with the current
// secret, the previous one (a rotation), a wrong one and none.
func TestEveryScheme(t *testing.T) {
	pcid := sourcetest.Name + ":acme:c1"
	b := body(agentA, pcid, "escalate")
	sign := func(s webhookauth.Scheme, secret string) (map[string]string, map[string]string) {
		return webhookauth.Sign(s, secret, b)
	}
	type creds func() (headers, query map[string]string)
	schemes := []struct {
		name   string
		scheme tenanttest.Fields
		auth   webhookauth.Scheme
	}{
		{"header with Bearer", tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}},
		{"header of its own name", tenanttest.Fields{"scheme": "header", "header": "X-Bot-Key"}, webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Header: "X-Bot-Key"}},
		{"hmac-sha256 hex", tenanttest.Fields{"scheme": "hmac-sha256"}, webhookauth.Scheme{Kind: webhookauth.SchemeHMAC}},
		{"hmac-sha256 base64", tenanttest.Fields{"scheme": "hmac-sha256", "header": "X-Hub-Signature", "encoding": "base64"}, webhookauth.Scheme{Kind: webhookauth.SchemeHMAC, Header: "X-Hub-Signature", Encoding: "base64"}},
		{"token", tenanttest.Fields{"scheme": "token", "param": "key"}, webhookauth.Scheme{Kind: webhookauth.SchemeToken, Param: "key"}},
	}
	for _, sc := range schemes {
		cases := []struct {
			name   string
			creds  creds
			status int
			code   string
		}{
			{"current secret", func() (map[string]string, map[string]string) { return sign(sc.auth, newSec) }, 0, ""},
			{"previous secret during a rotation", func() (map[string]string, map[string]string) { return sign(sc.auth, oldSec) }, 0, ""},
			{"wrong secret", func() (map[string]string, map[string]string) { return sign(sc.auth, "guess") }, 401, "bad_credentials"},
			{"another agent's secret", func() (map[string]string, map[string]string) { return sign(sc.auth, "b-secret") }, 401, "bad_credentials"},
			{"no credentials", func() (map[string]string, map[string]string) { return nil, nil }, 401, "missing_credentials"},
		}
		for _, tc := range cases {
			t.Run(sc.name+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t, sc.scheme)
				h, q := tc.creds()
				call, err := admit(t, e, b, h, q)
				wantStatus(t, err, tc.status, tc.code)
				if err == nil && (call.Agent.AgentID != agentA || call.Conv.PCID() != pcid || string(call.Account.Credentials) != "platform-token") {
					t.Fatalf("call %+v", call)
				}
			})
		}
	}
	t.Run("none", func(t *testing.T) {
		e := newEnv(t, tenanttest.Fields{"scheme": "none"})
		if _, err := admit(t, e, b, nil, nil); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.Logs(), "webhook authentication is disabled") {
			t.Fatal("an unauthenticated agent is not logged loudly")
		}
	})
	t.Run("hmac over a changed body", func(t *testing.T) {
		e := newEnv(t, tenanttest.Fields{"scheme": "hmac-sha256"})
		h, _ := sign(webhookauth.Scheme{Kind: webhookauth.SchemeHMAC}, newSec)
		other := body(agentA, sourcetest.Name+":acme:c2", "escalate")
		_, err := admit(t, e, other, h, nil)
		wantStatus(t, err, 401, "bad_credentials")
	})
}

func TestAdmission(t *testing.T) {
	bearer := map[string]string{"authorization": "Bearer " + newSec}
	cases := []struct {
		name    string
		body    []byte
		headers map[string]string
		setup   func(e *apptest.Env)
		status  int
		code    string
	}{
		{"own conversation", body(agentA, sourcetest.Name+":acme:c1", "escalate"), bearer, nil, 0, ""},
		{"another agent's account", body(agentA, sourcetest.Name+":other:c1", "escalate"), bearer, nil, 403, "not_owner"},
		{"an account nobody has: the same answer", body(agentA, sourcetest.Name+":nobody:c1", "escalate"), bearer, nil, 403, "not_owner"},
		{"own disabled account", body(agentA, sourcetest.Name+":paused:c1", "escalate"), bearer, nil, 403, "account_disabled"},
		{"escalate names no conversation", body(agentA, "", "escalate"), bearer, nil, 400, "invalid_payload"},
		{"isTeamOnline needs none", body(agentA, "", "isTeamOnline"), bearer, nil, 0, ""},
		{"unknown agent", body("64f1c0ffee0ddba11ad0c003", sourcetest.Name+":acme:c1", "escalate"), bearer, nil, 401, "unknown_agent"},
		{"agent secret unreadable", body(agentA, sourcetest.Name+":acme:c1", "escalate"), bearer, func(e *apptest.Env) {
			e.Secrets.Fault = func(string) error { return errors.New("secrets manager down") }
		}, 500, "credentials_unavailable"},
		{"agent secret without webhookSecret", body(agentA, sourcetest.Name+":acme:c1", "escalate"), bearer, func(e *apptest.Env) {
			e.Secrets.Set(tenanttest.AgentSecretName(agentA), `{"apiKey":"k"}`)
		}, 500, "credentials_unavailable"},
		{"configuration unreadable", body(agentA, sourcetest.Name+":acme:c1", "escalate"), bearer, func(e *apptest.Env) {
			e.DB.Fault = func(op, _ string) error { return errors.New("throttled") }
		}, 503, "config_unavailable"},
		{"agent item invalid", body(agentA, sourcetest.Name+":acme:c1", "escalate"), bearer, func(e *apptest.Env) {
			e.Put(t, tenanttest.Agent(agentA, tenanttest.Fields{"scheme": "sideways"}, nil))
		}, 500, "config_invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "})
			if tc.setup != nil {
				tc.setup(e)
			}
			_, err := admit(t, e, tc.body, tc.headers, nil)
			wantStatus(t, err, tc.status, tc.code)
		})
	}
}

func TestAccount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tenanttest.Fields{"scheme": "none"})
	r := e.Deps.Accounts
	acct, err := r.Account(ctx, sourcetest.Name, "acme", "")
	if err != nil || acct.AgentID != agentA || string(acct.Credentials) != "platform-token" {
		t.Fatalf("%+v %v", acct, err)
	}
	_, err = r.Account(ctx, sourcetest.Name, "nobody", "")
	wantStatus(t, err, 404, "unknown_account")
	_, err = r.Account(ctx, sourcetest.Name, "paused", "")
	wantStatus(t, err, 403, "account_disabled")
	_, err = r.Account(ctx, sourcetest.Name, "acme", agentB)
	wantStatus(t, err, 403, "not_owner")
	e.Put(t, tenanttest.Source(sourcetest.Name, "nocreds", agentA, tenanttest.Fields{"credentialsSecret": "crmbridge/sources/fakechat/nocreds"}))
	_, err = r.Account(ctx, sourcetest.Name, "nocreds", "")
	wantStatus(t, err, 500, "credentials_unavailable")
	_, err = r.Agent(ctx, "64f1c0ffee0ddba11ad0c003", apigw.Errorf(404, "agent_not_configured", "no"))
	wantStatus(t, err, 404, "agent_not_configured")
}

func TestParseWebhookChecksEveryID(t *testing.T) {
	long := strings.Repeat("x", 300)
	cases := []struct{ name, body, field string }{
		{"botId", `{"botId":"a b","data":{"eventType":"isTeamOnline"}}`, "botId"},
		{"pcid", `{"botId":"64f1c0ffee0ddba11ad0be57","data":{"eventType":"escalate","platformConversationId":"fakechat:acme:` + long + `"}}`, "platformConversationId"},
		{"messageId", `{"botId":"64f1c0ffee0ddba11ad0be57","data":{"eventType":"sendMessage","platformConversationId":"fakechat:acme:c","messageId":"m 1"}}`, "data.messageId"},
		{"teamId", `{"botId":"64f1c0ffee0ddba11ad0be57","data":{"eventType":"isTeamOnline","teamId":"` + long + `"}}`, "data.teamId"},
		{"escalateTo", `{"botId":"64f1c0ffee0ddba11ad0be57","data":{"eventType":"escalate","platformConversationId":"fakechat:acme:c","escalateTo":"a\nb"}}`, "data.escalateTo"},
		{"action name", `{"botId":"64f1c0ffee0ddba11ad0be57","name":"../x","data":[]}`, "name"},
		{"action pcid", `{"botId":"64f1c0ffee0ddba11ad0be57","name":"x","platformConversationId":"nope","data":[]}`, "platformConversationId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := accounts.ParseWebhook([]byte(tc.body))
			e := apigw.AsError(err)
			if err == nil || e.Status != 400 || !strings.HasPrefix(e.Message, tc.field+":") || strings.Contains(e.Message, long) {
				t.Fatalf("%v", err)
			}
		})
	}
	if _, err := accounts.ParseWebhook([]byte(`{"botId":"64f1c0ffee0ddba11ad0be57","data":{"eventType":"escalate","platformConversationId":"fakechat:acme:c:with:colons","escalateTo":"Billing team"}}`)); err != nil {
		t.Fatal(err)
	}
}
