package inbound_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

const (
	agentID = "64f1c0ffee0ddba11ad0a001"
	token   = "platform-token"
)

type env struct {
	*apptest.Env
	agent *ultimatetest.Server
}

// newEnv runs the bridge against the fake AI agent; the agent's own
// webhooks (its replies) go to a sink, this test is about the inbound side.
func newEnv(t *testing.T, agentUp bool) *env {
	t.Helper()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	agent := ultimatetest.New(ultimatetest.Options{Agents: []ultimatetest.Agent{{
		ID: agentID, APIKey: "k", WebhookURL: sink.URL,
		WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}, WebhookSecret: "wh",
	}}})
	agentURL := ""
	if agentUp {
		u, err := agent.Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		agentURL = u
	}
	t.Cleanup(func() { _ = agent.Close() })
	e := &env{Env: apptest.New(t, apptest.Options{Sources: source.NewRegistry(&sourcetest.Platform{}), AgentURL: agentURL}), agent: agent}
	e.Put(t,
		tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, nil),
		tenanttest.Source(sourcetest.Name, "acme", agentID, tenanttest.Fields{"credentialsSecret": tenanttest.SourceSecretName(sourcetest.Name, "acme")}),
		tenanttest.Source(sourcetest.Name, "paused", agentID, tenanttest.Fields{"enabled": false, "credentialsSecret": tenanttest.SourceSecretName(sourcetest.Name, "paused")}),
	)
	e.Secrets.Set(tenanttest.AgentSecretName(agentID), `{"apiKey":"k","webhookSecret":"wh"}`)
	e.Secrets.Set(tenanttest.SourceSecretName(sourcetest.Name, "acme"), token)
	return e
}

type ev struct{ ID, Conversation, Text string }

func delivery(account, auth string, evs ...ev) events.APIGatewayV2HTTPRequest {
	var list []map[string]string
	for _, e := range evs {
		list = append(list, map[string]string{"id": e.ID, "conversation": e.Conversation, "text": e.Text})
	}
	b, _ := json.Marshal(map[string]any{"events": list})
	path := "/sources/" + sourcetest.Name + "/" + account
	r := apptest.Event("POST", "ANY /sources/{source}/{account}", path, map[string]string{"authorization": auth}, b)
	r.PathParameters = map[string]string{"source": sourcetest.Name, "account": account}
	return r
}

func (e *env) messages(t *testing.T, conv string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.agent.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range e.agent.Received() {
		if r.Chat != nil && r.Chat.PlatformConversationID == sourcetest.Name+":acme:"+conv && r.Chat.EventType == "message" {
			out = append(out, r.Chat.Text)
		}
	}
	return out
}

func TestInbound(t *testing.T) {
	bearer := "Bearer " + token
	cases := []struct {
		name    string
		agentUp bool
		setup   func(t *testing.T, e *env)
		events  []events.APIGatewayV2HTTPRequest
		status  int
		body    string
		sent    []string // the messages the AI agent got for conversation c1
	}{
		{"a message reaches the AI agent", true, nil, []events.APIGatewayV2HTTPRequest{delivery("acme", bearer, ev{"e1", "c1", "hello"})},
			200, `"sent":1`, []string{"hello"}},
		{"a redelivery is a duplicate", true, nil, []events.APIGatewayV2HTTPRequest{
			delivery("acme", bearer, ev{"e1", "c1", "hello"}), delivery("acme", bearer, ev{"e1", "c1", "hello"}),
		}, 200, `"duplicate":1`, []string{"hello"}},
		{"a malformed event among good ones is skipped", true, nil, []events.APIGatewayV2HTTPRequest{
			delivery("acme", bearer, ev{"e1", "c1", "one"}, ev{"e\n2", "c1", "two"}, ev{"e3", "c1", "three"}),
		}, 200, `"invalid":1`, []string{"one", "three"}},
		{"a malformed event alone is refused", true, nil, []events.APIGatewayV2HTTPRequest{
			delivery("acme", bearer, ev{"e1", strings.Repeat("c", 201), "one"}),
		}, 400, `events[0].conversation: longer than 200 bytes`, nil},
		{"held while a human has it", true, func(t *testing.T, e *env) {
			if err := e.Deps.State.SetStatus(context.Background(), sourcetest.Name+":acme:c1", agentID, state.ConvEscalated, "desk"); err != nil {
				t.Fatal(err)
			}
		}, []events.APIGatewayV2HTTPRequest{delivery("acme", bearer, ev{"e1", "c1", "hello"})}, 200, `"held":1`, nil},
		{"the AI agent down: 503, and the retry goes through", false, nil, []events.APIGatewayV2HTTPRequest{delivery("acme", bearer, ev{"e1", "c1", "hello"})},
			503, `"agent_unavailable"`, nil},
		{"a wrong token", true, nil, []events.APIGatewayV2HTTPRequest{delivery("acme", "Bearer guess", ev{"e1", "c1", "hello"})}, 401, `"bad_credentials"`, nil},
		{"a disabled account", true, nil, []events.APIGatewayV2HTTPRequest{delivery("paused", bearer, ev{"e1", "c1", "hello"})}, 403, `"account_disabled"`, nil},
		{"an unknown account", true, nil, []events.APIGatewayV2HTTPRequest{delivery("nobody", bearer, ev{"e1", "c1", "hello"})}, 404, `"unknown_account"`, nil},
		{"an unknown source", true, nil, []events.APIGatewayV2HTTPRequest{func() events.APIGatewayV2HTTPRequest {
			r := delivery("acme", bearer, ev{"e1", "c1", "hello"})
			r.PathParameters["source"] = "telex"
			return r
		}()}, 404, `"unknown_source"`, nil},
		{"an unmatched route is the $default route's 404", true, nil, []events.APIGatewayV2HTTPRequest{
			apptest.Event("GET", "$default", "/nothing/here", nil, nil),
		}, 404, `"route_not_found"`, nil},
		{"a known path with another method is a 405", true, nil, []events.APIGatewayV2HTTPRequest{
			apptest.Event("GET", "$default", "/webhooks/message", nil, nil),
		}, 405, `"method_not_allowed"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.agentUp)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			var last events.APIGatewayV2HTTPResponse
			for _, r := range tc.events {
				last = e.Invoke(t, route.SourceInbound, r)
			}
			if last.StatusCode != tc.status || !strings.Contains(last.Body, tc.body) {
				t.Fatalf("%d %s, want %d with %s", last.StatusCode, last.Body, tc.status, tc.body)
			}
			if tc.agentUp {
				if got := e.messages(t, "c1"); strings.Join(got, "|") != strings.Join(tc.sent, "|") {
					t.Fatalf("the AI agent got %q, want %q", got, tc.sent)
				}
			}
		})
	}
}

// A claim given back after the AI agent failed lets the platform's retry
// deliver the event.
func TestRetryAfterTheAgentFailed(t *testing.T) {
	e := newEnv(t, false)
	r := delivery("acme", "Bearer "+token, ev{"e1", "c1", "hello"})
	if resp := e.Invoke(t, route.SourceInbound, r); resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	lease, err := e.Deps.State.Begin(context.Background(), state.Claim{Key: state.EventKey(sourcetest.Name, "acme", "e1")})
	if err != nil {
		t.Fatalf("the failed event's claim was not released: %v", err)
	}
	_ = e.Deps.State.Release(context.Background(), lease)
}
