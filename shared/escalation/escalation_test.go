package escalation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
)

const (
	agentID = "64f1c0ffee0ddba11ad0a001"
	otherID = "64f1c0ffee0ddba11ad0b002"
	secret  = "wh-secret"
	pcid    = sourcetest.Name + ":acme:c1"
)

type env struct {
	*apptest.Env
	p *sourcetest.Platform
}

// newEnv's agent has teams of every mode; apptest.Start is a Wednesday,
// 10:00 UTC (11:00 in Berlin).
func newEnv(t *testing.T) *env {
	t.Helper()
	p := &sourcetest.Platform{Online: true}
	e := &env{Env: apptest.New(t, apptest.Options{Sources: source.NewRegistry(p)}), p: p}
	e.Put(t,
		tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, tenanttest.Fields{"teams": tenanttest.Fields{
			"default":  tenanttest.Fields{"mode": "fixed", "online": false},
			"office":   tenanttest.Fields{"mode": "schedule", "timeZone": "Europe/Berlin", "hours": tenanttest.Fields{"wed": []string{"09:00-12:00"}}},
			"desk":     tenanttest.Fields{"mode": "callback", "source": sourcetest.Name, "account": "acme"},
			"deskb":    tenanttest.Fields{"mode": "callback", "source": sourcetest.Name, "account": "desk-b"},
			"deskelse": tenanttest.Fields{"mode": "callback", "source": sourcetest.Name, "account": "other"},
		}}),
		tenanttest.Agent(otherID, tenanttest.Fields{"scheme": "header"}, nil),
		tenanttest.Source(sourcetest.Name, "acme", agentID, nil),
		tenanttest.Source(sourcetest.Name, "desk-b", agentID, nil),
		tenanttest.Source(sourcetest.Name, "other", otherID, nil),
	)
	e.Secrets.Set(tenanttest.AgentSecretName(agentID), `{"apiKey":"k","webhookSecret":"`+secret+`"}`)
	return e
}

func hook(data map[string]any) events.APIGatewayV2HTTPRequest {
	b, _ := json.Marshal(map[string]any{"botId": agentID, "channel": "chat", "data": data})
	return apptest.Event("POST", "POST /webhooks/escalation", "/webhooks/escalation", map[string]string{"authorization": "Bearer " + secret}, b)
}

func escalate(to string) events.APIGatewayV2HTTPRequest {
	return hook(map[string]any{"eventType": "escalate", "platformConversationId": pcid, "escalateTo": to})
}

func online(team string) events.APIGatewayV2HTTPRequest {
	return hook(map[string]any{"eventType": "isTeamOnline", "teamId": team})
}

func failWith(err error) func(e *env) {
	return func(e *env) { e.p.Fail = func(string) error { return err } }
}

func TestWebhookEscalation(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(e *env)
		events []events.APIGatewayV2HTTPRequest
		status int
		body   string
		ops    string
	}{
		{"escalate hands over", nil, []events.APIGatewayV2HTTPRequest{escalate("billing")}, 200, `"escalated"`, "escalate"},
		{"a second escalate does not hand over again", nil, []events.APIGatewayV2HTTPRequest{escalate("billing"), escalate("billing")}, 200, `"already_escalated"`, "escalate"},
		{"widgetEscalate goes to the desk", nil, []events.APIGatewayV2HTTPRequest{
			hook(map[string]any{"eventType": "widgetEscalate", "platformConversationId": pcid, "escalateTo": "tier2"}),
		}, 200, `"escalated"`, "widgetEscalate"},
		{"a refused handover is a 409", failWith(&egress.StatusError{Op: "handover", Status: 422, Code: "no_agents"}), []events.APIGatewayV2HTTPRequest{escalate("")}, 409, `"handover_rejected"`, "escalate"},
		{"an unavailable platform is a 503", failWith(retry.Retryable(&egress.StatusError{Op: "handover", Status: 503}, 0)), []events.APIGatewayV2HTTPRequest{escalate("")}, 503, `"handover_unavailable"`, "escalate escalate escalate"},
		{"a platform out of time is a 504", failWith(context.DeadlineExceeded), []events.APIGatewayV2HTTPRequest{escalate("")}, 504, `"handover_timeout"`, "escalate"},
		{"a platform that did not confirm in time is a 504", failWith(fmt.Errorf("transfer command 7: %w", source.ErrPending)), []events.APIGatewayV2HTTPRequest{escalate("")}, 504, `"handover_timeout"`, "escalate"},
		{"a platform that reported the handover failed is a 409", failWith(fmt.Errorf("transfer command 7: %w: skill-unavailable", source.ErrRefused)), []events.APIGatewayV2HTTPRequest{escalate("")}, 409, `skill-unavailable`, "escalate"},
		{"anything else is a 502", failWith(errors.New("boom")), []events.APIGatewayV2HTTPRequest{escalate("")}, 502, `"handover_failed"`, "escalate"},
		{"escalate without a conversation", nil, []events.APIGatewayV2HTTPRequest{hook(map[string]any{"eventType": "escalate"})}, 400, `platformConversationId: required`, ""},
		{"sendMessage at the escalation route", nil, []events.APIGatewayV2HTTPRequest{
			hook(map[string]any{"eventType": "sendMessage", "platformConversationId": pcid, "text": "x"}),
		}, 400, `POST /webhooks/message`, ""},
		{"an action at the escalation route", nil, []events.APIGatewayV2HTTPRequest{func() events.APIGatewayV2HTTPRequest {
			return apptest.Event("POST", "POST /webhooks/escalation", "/webhooks/escalation", nil, []byte(`{"botId":"`+agentID+`","name":"x","data":[]}`))
		}()}, 400, `POST /webhooks/action`, ""},
		{"a fixed team", nil, []events.APIGatewayV2HTTPRequest{online("nope")}, 200, `{"isOnline":false}`, ""},
		{"a team by its schedule", nil, []events.APIGatewayV2HTTPRequest{online("office")}, 200, `{"isOnline":true}`, ""},
		{"a schedule outside its hours", func(e *env) { e.Clock.Add(2 * time.Hour) }, []events.APIGatewayV2HTTPRequest{online("office")}, 200, `{"isOnline":false}`, ""},
		{"a team asked through its platform", nil, []events.APIGatewayV2HTTPRequest{online("desk")}, 200, `{"isOnline":true}`, "teamOnline"},
		{"a callback account the call does not name", nil, []events.APIGatewayV2HTTPRequest{online("deskb")}, 200, `{"isOnline":true}`, "teamOnline"},
		{"a callback account of another agent", nil, []events.APIGatewayV2HTTPRequest{online("deskelse")}, 403, `"not_owner"`, ""},
		{"a callback that fails", failWith(errors.New("down")), []events.APIGatewayV2HTTPRequest{online("desk")}, 502, `"team_check_failed"`, "teamOnline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			var last events.APIGatewayV2HTTPResponse
			for _, ev := range tc.events {
				last = e.Invoke(t, route.WebhookEscalation, ev)
			}
			if last.StatusCode != tc.status || !strings.Contains(last.Body, tc.body) {
				t.Fatalf("%d %s, want %d with %s", last.StatusCode, last.Body, tc.status, tc.body)
			}
			var ops []string
			for _, c := range e.p.Calls() {
				ops = append(ops, c.Op)
			}
			if got := strings.Join(ops, " "); got != tc.ops {
				t.Fatalf("platform was asked %q, want %q", got, tc.ops)
			}
		})
	}
}

// A handover records the conversation as escalated with its target; a
// failed one leaves it with the AI agent.
func TestEscalationRecordsTheConversation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.p.Fail = func(string) error { return &egress.StatusError{Op: "handover", Status: 409} }
	e.Invoke(t, route.WebhookEscalation, escalate("billing"))
	if cv, err := e.Deps.State.Conversation(ctx, pcid); err != nil || cv.Status == state.ConvEscalated {
		t.Fatalf("a failed handover escalated the conversation: %+v %v", cv, err)
	}
	e.p.Fail = nil
	if resp := e.Invoke(t, route.WebhookEscalation, escalate("billing")); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	cv, err := e.Deps.State.Conversation(ctx, pcid)
	if err != nil || cv.Status != state.ConvEscalated || cv.HandoverTo != "billing" || cv.AgentID != agentID {
		t.Fatalf("%+v %v", cv, err)
	}
	if calls := e.p.Calls(); calls[len(calls)-1].Target != "billing" {
		t.Fatalf("handover target %+v", calls)
	}
}

// 50 concurrent escalates of one conversation through the function: one
// handover, 50 answers of 200. (Before the one handover path: 40 handovers.)
func TestConcurrentEscalates(t *testing.T) {
	e := newEnv(t)
	h := e.Handlers[route.WebhookEscalation]
	const n = 50
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h(context.Background(), escalate("billing"))
			if err != nil {
				t.Errorf("handler: %v", err)
			}
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != 200 {
			t.Fatalf("an escalate answered %d", st)
		}
	}
	if calls := e.p.Calls(); len(calls) != 1 || calls[0].Op != "escalate" {
		t.Fatalf("platform calls %+v", calls)
	}
}

// The desk of a widget escalation and the platform of an escalate get the
// context the bridge has, under one handover ID.
func TestEscalationContext(t *testing.T) {
	e := newEnv(t)
	if err := e.Deps.State.SetAttrs(context.Background(), pcid, map[string]string{"param.email": "ada@example.com", "param.plan": "gold"}); err != nil {
		t.Fatal(err)
	}
	resp := e.Invoke(t, route.WebhookEscalation, hook(map[string]any{"eventType": "widgetEscalate", "platformConversationId": pcid, "escalateTo": "tier2"}))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	c := e.p.Calls()[0]
	hc := c.Handover.Context
	// The account has no metadata rules: email is personal data, masked.
	if c.Op != "widgetEscalate" || c.Handover.ID == "" || hc.Reason != source.ReasonEscalate || hc.Params["email"] != "***" || hc.Params["plan"] != "gold" {
		t.Fatalf("call %+v", c)
	}
}
