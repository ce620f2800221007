package message_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
)

const (
	agentID = "64f1c0ffee0ddba11ad0a001"
	secret  = "wh-secret"
	pcid    = sourcetest.Name + ":acme:c1"
)

type env struct {
	*apptest.Env
	p *sourcetest.Platform
}

func newEnv(t *testing.T) *env {
	t.Helper()
	p := &sourcetest.Platform{Online: true}
	e := &env{Env: apptest.New(t, apptest.Options{Sources: source.NewRegistry(p)}), p: p}
	e.Put(t,
		tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, tenanttest.Fields{
			"teams": tenanttest.Fields{"default": tenanttest.Fields{"mode": "fixed", "online": true}},
		}),
		tenanttest.Source(sourcetest.Name, "acme", agentID, nil),
	)
	e.Secrets.Set(tenanttest.AgentSecretName(agentID), `{"apiKey":"k","webhookSecret":"`+secret+`"}`)
	return e
}

func hook(path string, data map[string]any, auth string) events.APIGatewayV2HTTPRequest {
	b, _ := json.Marshal(map[string]any{"botId": agentID, "channel": "chat", "data": data})
	return apptest.Event("POST", "POST "+path, path, map[string]string{"authorization": auth}, b)
}

func send(text, messageID string) map[string]any {
	return map[string]any{"eventType": "sendMessage", "platformConversationId": pcid, "text": text, "messageId": messageID}
}

func (e *env) ops() []string {
	var out []string
	for _, c := range e.p.Calls() {
		out = append(out, c.Op)
	}
	return out
}

func TestWebhookMessage(t *testing.T) {
	bearer := "Bearer " + secret
	cases := []struct {
		name   string
		setup  func(e *env)
		events []events.APIGatewayV2HTTPRequest
		status int    // of the last answer
		body   string // part of the last answer
		ops    string // what the platform was asked, in order
	}{
		{"a reply is delivered", nil, []events.APIGatewayV2HTTPRequest{hook("/webhooks/message", send("hi", "m1"), bearer)}, 200, `"delivered"`, "send"},
		{"the same messageId twice is sent once", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks/message", send("hi", "m1"), bearer), hook("/webhooks/message", send("hi", "m1"), bearer),
		}, 200, `"duplicate"`, "send"},
		{"a reply without messageId is not deduplicated", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks/message", send("hi", ""), bearer), hook("/webhooks/message", send("hi", ""), bearer),
		}, 200, `"delivered"`, "send send"},
		{"the single URL serves replies too", nil, []events.APIGatewayV2HTTPRequest{hook("/webhooks", send("hi", "m1"), bearer)}, 200, `"delivered"`, "send"},
		{"widget message and end go to the desk", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks/message", map[string]any{"eventType": "widgetMessage", "platformConversationId": pcid, "text": "hello desk"}, bearer),
			hook("/webhooks/message", map[string]any{"eventType": "widgetEndSession", "platformConversationId": pcid}, bearer),
		}, 200, `"delivered"`, "widgetMessage widgetEnd"},
		{"the single URL forwards an escalation", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks", map[string]any{"eventType": "escalate", "platformConversationId": pcid}, bearer),
		}, 200, `"escalated"`, "escalate"},
		{"the single URL forwards isTeamOnline", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks", map[string]any{"eventType": "isTeamOnline"}, bearer),
		}, 200, `{"isOnline":true}`, ""},
		{"the single URL forwards nothing unauthenticated", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks", map[string]any{"eventType": "escalate", "platformConversationId": pcid}, "Bearer guess"),
		}, 401, `"bad_credentials"`, ""},
		{"escalate at the message route", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks/message", map[string]any{"eventType": "escalate", "platformConversationId": pcid}, bearer),
		}, 400, `POST /webhooks/escalation`, ""},
		{"an unknown eventType", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks/message", map[string]any{"eventType": "sendSmoke", "platformConversationId": pcid}, bearer),
		}, 400, `"invalid_payload"`, ""},
		{"a reply without conversation", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks/message", map[string]any{"eventType": "sendMessage", "text": "hi"}, bearer),
		}, 400, `platformConversationId: required`, ""},
		{"a platform failure keeps a dead letter and answers 502", func(e *env) {
			e.p.Fail = func(op string) error { return &egress.StatusError{Op: "fake send", Status: 400} }
		}, []events.APIGatewayV2HTTPRequest{hook("/webhooks/message", send("hi", "m1"), bearer)}, 502, `the platform answered 400`, "send"},
		{"the state table unavailable", func(e *env) {
			e.DB.Fault = func(op, table string) error {
				if table == apptest.StateTable {
					return errors.New("throttled")
				}
				return nil
			}
		}, []events.APIGatewayV2HTTPRequest{hook("/webhooks/message", send("hi", "m1"), bearer)}, 503, `"state_unavailable"`, ""},
		{"GET", nil, []events.APIGatewayV2HTTPRequest{func() events.APIGatewayV2HTTPRequest {
			ev := hook("/webhooks/message", send("hi", "m1"), bearer)
			ev.RequestContext.HTTP.Method = "GET"
			return ev
		}()}, 405, `"method_not_allowed"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			var last events.APIGatewayV2HTTPResponse
			for _, ev := range tc.events {
				last = e.Invoke(t, route.WebhookMessage, ev)
			}
			if last.StatusCode != tc.status || !strings.Contains(last.Body, tc.body) {
				t.Fatalf("%d %s, want %d with %s", last.StatusCode, last.Body, tc.status, tc.body)
			}
			if got := strings.Join(e.ops(), " "); got != tc.ops {
				t.Fatalf("platform was asked %q, want %q", got, tc.ops)
			}
			if tc.status >= 400 {
				if _, _, ok := apptest.ErrorBody(last.Body); !ok {
					t.Fatalf("not a JSON error: %s", last.Body)
				}
			}
		})
	}
}

// A reply the platform refused is kept; a replay delivers it and marks it
// done, and a second replay finds nothing to do.
func TestDeadLetterAndReplay(t *testing.T) {
	e := newEnv(t)
	var fail atomic.Bool
	fail.Store(true)
	e.p.Fail = func(string) error {
		if fail.Load() {
			return &egress.StatusError{Op: "fake send", Status: 500}
		}
		return nil
	}
	resp := e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send("keep me", "m-dead"), "Bearer "+secret))
	if resp.StatusCode != 502 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	ctx := context.Background()
	dls, err := e.Deps.State.DeadLetters(ctx, state.DeadOutbound, 10)
	if err != nil || len(dls) != 1 || dls[0].Ref["pcid"] != pcid || strings.Contains(dls[0].Reason, "keep me") {
		t.Fatalf("dead letters %+v %v", dls, err)
	}
	fail.Store(false)
	if err := e.Deps.Message(nil).Replay(ctx, dls[0]); err != nil {
		t.Fatal(err)
	}
	calls := e.p.Calls()
	if last := calls[len(calls)-1]; last.Op != "send" || last.Message.Text != "keep me" || last.PCID != pcid {
		t.Fatalf("replayed %+v", last)
	}
	if dls, _ := e.Deps.State.DeadLetters(ctx, state.DeadOutbound, 10); len(dls) != 0 {
		t.Fatalf("still listed after the replay: %+v", dls)
	}
	if err := e.Deps.Message(nil).Replay(ctx, state.DeadLetter{Key: "x", Kind: state.DeadInbound}); err == nil {
		t.Fatal("an inbound dead letter replayed as a message")
	}
	// The sender's retry of the replayed message is a duplicate now.
	resp = e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send("keep me", "m-dead"), "Bearer "+secret))
	if !strings.Contains(resp.Body, `"duplicate"`) {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

// The request's one log line names the IDs an operator follows, and never
// the message text.
func TestLogLine(t *testing.T) {
	e := newEnv(t)
	e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send("my secret plans", "m1"), "Bearer "+secret))
	var lines []map[string]any
	for _, l := range e.LogLines(t) {
		if l["msg"] == route.WebhookMessage {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d request lines: %s", len(lines), e.Logs())
	}
	l := lines[0]
	if l["agentId"] != agentID || l["pcid"] != pcid || l["eventType"] != "sendMessage" || l["outcome"] != "delivered" || l["status"] != float64(200) || l["requestId"] != "req-test" {
		t.Fatalf("line %v", l)
	}
	if strings.Contains(e.Logs(), "my secret plans") {
		t.Fatal("message text in the logs")
	}
}
