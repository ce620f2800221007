package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
)

const (
	agentID       = "64f1c0ffee0ddba11ad0be57"
	webhookSecret = "wh-secret"
)

type inputEnv struct {
	*apptest.Env
	platform *sourcetest.Platform
	inbound  stdwebhook.Secret // the generic account's signing key
	dbCalls  atomic.Int64
}

func newInputEnv(t *testing.T) *inputEnv {
	t.Helper()
	p := &sourcetest.Platform{Online: true}
	e := &inputEnv{platform: p}
	e.Env = apptest.New(t, apptest.Options{Sources: source.NewRegistry(p, generic.New(nil, time.Now))})
	e.DB.Fault = func(string, string) error { e.dbCalls.Add(1); return nil }
	in, _ := stdwebhook.NewSecret(nil)
	cb, _ := stdwebhook.NewSecret(nil)
	e.inbound, _ = stdwebhook.ParseSecret(in)
	creds, _ := json.Marshal(generic.Credentials{InboundSecret: in, CallbackSecret: cb})
	e.Put(t,
		tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, nil),
		tenanttest.Source(sourcetest.Name, "acme", agentID, tenanttest.Fields{"credentialsSecret": tenanttest.SourceSecretName(sourcetest.Name, "acme")}),
		tenanttest.Source(generic.Name, "demo", agentID, tenanttest.Fields{
			"credentialsSecret": tenanttest.SourceSecretName(generic.Name, "demo"),
			"settings":          tenanttest.Fields{"callbackUrl": "https://desk.example/callback"},
		}),
	)
	e.Secrets.Set(tenanttest.AgentSecretName(agentID), `{"apiKey":"k","webhookSecret":"`+webhookSecret+`"}`)
	e.Secrets.Set(tenanttest.SourceSecretName(sourcetest.Name, "acme"), "platform-token")
	e.Secrets.Set(tenanttest.SourceSecretName(generic.Name, "demo"), string(creds))
	return e
}

func webhookEvent(path string, body any) events.APIGatewayV2HTTPRequest {
	b, _ := json.Marshal(body)
	return apptest.Event("POST", "POST "+path, path, map[string]string{"authorization": "Bearer " + webhookSecret}, b)
}

func converse(botID string, data map[string]any) map[string]any {
	return map[string]any{"botId": botID, "channel": "chat", "data": data}
}

func (e *inputEnv) genericEvent(t *testing.T, id string, data generic.InboundData) events.APIGatewayV2HTTPRequest {
	t.Helper()
	now := e.Clock.Now()
	body, err := generic.NewEvent(generic.TypeMessage, data, now)
	if err != nil {
		t.Fatal(err)
	}
	ev := apptest.Event("POST", "ANY /sources/{source}/{account}", "/sources/generic/demo", stdwebhook.Headers(e.inbound, id, now, body), body)
	ev.PathParameters = map[string]string{"source": "generic", "account": "demo"}
	return ev
}

// TestIDsAreCheckedBeforeAnything holds every route to one set of input
// rules: an over-long or malformed ID is a 400 JSON error that names the
// field, and it is never logged whole.
func TestIDsAreCheckedBeforeAnything(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	pcid := func(conv string) string { return sourcetest.Name + ":acme:" + conv }
	cases := []struct {
		name, fn string
		ev       func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest
		status   int
		field    string
		noLookup bool // refused before any DynamoDB call
	}{
		{"sendMessage, 10k conversation", route.WebhookMessage, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks/message", converse(agentID, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid(long), "text": "hi", "messageId": "m1"}))
		}, 400, "platformConversationId", true},
		{"sendMessage, CR LF in the conversation", route.WebhookMessage, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks/message", converse(agentID, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid("a\r\nb"), "text": "hi"}))
		}, 400, "platformConversationId", true},
		{"sendMessage, NUL in the conversation", route.WebhookMessage, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks/message", converse(agentID, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid("a\x00b"), "text": "hi"}))
		}, 400, "platformConversationId", true},
		{"sendMessage, 3000-character messageId", route.WebhookMessage, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks/message", converse(agentID, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid("c1"), "text": "hi", "messageId": strings.Repeat("m", 3000)}))
		}, 400, "messageId", true},
		{"single URL, 200 KB botId", route.WebhookMessage, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks", converse(strings.Repeat("b", 200_000), map[string]any{"eventType": "sendMessage", "platformConversationId": pcid("c1"), "text": "hi"}))
		}, 400, "botId", true},
		{"single URL, botId with a slash", route.WebhookMessage, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks", converse("../"+agentID, map[string]any{"eventType": "isTeamOnline"}))
		}, 400, "botId", true},
		{"escalate, 10k conversation", route.WebhookEscalation, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks/escalation", converse(agentID, map[string]any{"eventType": "escalate", "platformConversationId": pcid(long)}))
		}, 400, "platformConversationId", true},
		{"escalate, LF in the conversation", route.WebhookEscalation, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks/escalation", converse(agentID, map[string]any{"eventType": "escalate", "platformConversationId": pcid("a\nb")}))
		}, 400, "platformConversationId", true},
		{"action, 10k conversation", route.WebhookAction, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks/action", map[string]any{"botId": agentID, "name": "tag", "platformConversationId": pcid(long), "data": []any{}})
		}, 400, "platformConversationId", true},
		{"action, malformed botId", route.WebhookAction, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return webhookEvent("/webhooks/action", map[string]any{"botId": "bot\r\nX-Injected: 1", "name": "tag", "data": []any{}})
		}, 400, "botId", true},
		{"generic inbound, signed 3000-character webhook-id", route.SourceInbound, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return e.genericEvent(t, strings.Repeat("i", 3000), generic.InboundData{ConversationID: "c1", Text: "hi"})
		}, 400, "webhook-id", false},
		{"generic inbound, 300-character conversation", route.SourceInbound, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			return e.genericEvent(t, "evt-1", generic.InboundData{ConversationID: strings.Repeat("c", 300), Text: "hi"})
		}, 400, "conversationId", false},
		{"inbound, an event ID with a control character", route.SourceInbound, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			b, _ := json.Marshal(map[string]any{"events": []any{map[string]any{"id": "e\x7f1", "conversation": "c1", "text": "hi"}}})
			ev := apptest.Event("POST", "ANY /sources/{source}/{account}", "/sources/fakechat/acme", map[string]string{"authorization": "Bearer platform-token"}, b)
			ev.PathParameters = map[string]string{"source": sourcetest.Name, "account": "acme"}
			return ev
		}, 400, "id", false},
		{"inbound, a 300-character account", route.SourceInbound, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			acct := strings.Repeat("a", 300)
			ev := apptest.Event("POST", "ANY /sources/{source}/{account}", "/sources/fakechat/"+acct, nil, []byte(`{}`))
			ev.PathParameters = map[string]string{"source": sourcetest.Name, "account": acct}
			return ev
		}, 404, "account", true},
		{"inbound, a source with a control character", route.SourceInbound, func(e *inputEnv, t *testing.T) events.APIGatewayV2HTTPRequest {
			ev := apptest.Event("POST", "ANY /sources/{source}/{account}", "/sources/x/acme", nil, []byte(`{}`))
			ev.PathParameters = map[string]string{"source": "fake\nchat", "account": "acme"}
			return ev
		}, 404, "source", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newInputEnv(t)
			before := e.dbCalls.Load()
			resp := e.Invoke(t, tc.fn, tc.ev(e, t))
			code, msg, ok := apptest.ErrorBody(resp.Body)
			if resp.StatusCode != tc.status || !ok || !strings.Contains(msg, tc.field) {
				t.Fatalf("%d %s, want %d naming %s", resp.StatusCode, short(resp.Body), tc.status, tc.field)
			}
			if tc.noLookup && e.dbCalls.Load() != before {
				t.Errorf("%d DynamoDB calls before the format check refused it (%s)", e.dbCalls.Load()-before, code)
			}
			if calls := e.platform.Calls(); len(calls) != 0 {
				t.Errorf("the platform was called: %+v", calls)
			}
			for _, line := range e.LogLines(t) {
				for k, v := range line {
					if s := fmt.Sprint(v); len(s) > 1024 {
						t.Errorf("log attribute %s holds %d characters", k, len(s))
					}
				}
			}
		})
	}
}

// TestEveryRouteHasSizeLimits: each function refuses an over-large body,
// header set or URI before reading it, with a JSON error.
func TestEveryRouteHasSizeLimits(t *testing.T) {
	e := newInputEnv(t)
	routes := map[string]string{
		route.SourceInbound: "/sources/fakechat/acme", route.WebhookMessage: "/webhooks/message",
		route.WebhookEscalation: "/webhooks/escalation", route.WebhookAction: "/webhooks/action",
	}
	for fn, path := range routes {
		for _, tc := range []struct {
			name    string
			ev      events.APIGatewayV2HTTPRequest
			status  int
			code    string
			limited string
		}{
			{"body", apptest.Event("POST", "POST "+path, path, nil, []byte(strings.Repeat("x", 300<<10))), 413, "body_too_large", "262144"},
			{"headers", apptest.Event("POST", "POST "+path, path, map[string]string{"x-big": strings.Repeat("h", 11<<10)}, []byte(`{}`)), 431, "headers_too_large", "10240"},
			{"uri", apptest.Event("POST", "POST "+path, path+"/"+strings.Repeat("u", 9<<10), nil, []byte(`{}`)), 414, "uri_too_long", "8192"},
		} {
			t.Run(fn+"/"+tc.name, func(t *testing.T) {
				resp := e.Invoke(t, fn, tc.ev)
				code, msg, ok := apptest.ErrorBody(resp.Body)
				if resp.StatusCode != tc.status || !ok || code != tc.code || !strings.Contains(msg, tc.limited) {
					t.Fatalf("%d %s", resp.StatusCode, short(resp.Body))
				}
			})
		}
	}
}

func short(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
