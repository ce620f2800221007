package message_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
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

func withRequestID(ev events.APIGatewayV2HTTPRequest, id string) events.APIGatewayV2HTTPRequest {
	ev.RequestContext.RequestID = id
	return ev
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
		ops    string // what the platform was asked, in order, once the queue is drained
	}{
		{"a reply is queued, then delivered", nil, []events.APIGatewayV2HTTPRequest{hook("/webhooks/message", send("hi", "m1"), bearer)}, 200, `"queued"`, "send"},
		{"the same messageId twice is sent once", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks/message", send("hi", "m1"), bearer), hook("/webhooks/message", send("hi", "m1"), bearer),
		}, 200, `"duplicate"`, "send"},
		{"a reply without messageId is not deduplicated", nil, []events.APIGatewayV2HTTPRequest{
			withRequestID(hook("/webhooks/message", send("hi", ""), bearer), "r1"), withRequestID(hook("/webhooks/message", send("hi", ""), bearer), "r2"),
		}, 200, `"queued"`, "send send"},
		{"the single URL serves replies too", nil, []events.APIGatewayV2HTTPRequest{hook("/webhooks", send("hi", "m1"), bearer)}, 200, `"queued"`, "send"},
		{"widget message and end go to the desk, in order", nil, []events.APIGatewayV2HTTPRequest{
			hook("/webhooks/message", map[string]any{"eventType": "widgetMessage", "platformConversationId": pcid, "text": "hello desk"}, bearer),
			hook("/webhooks/message", map[string]any{"eventType": "widgetEndSession", "platformConversationId": pcid}, bearer),
		}, 200, `"queued"`, "widgetMessage widgetEnd"},
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
		{"the queue unavailable", func(e *env) {
			e.Outbound.Fail = func() error { return errors.New("sqs throttled") }
		}, []events.APIGatewayV2HTTPRequest{hook("/webhooks/message", send("hi", "m1"), bearer)}, 503, `"queue_unavailable"`, ""},
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
			if left := e.Drain(t); left != 0 {
				t.Fatalf("%d records left queued", left)
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

// A platform refusing a reply for good: a dead letter at once, and the
// conversation goes on. A platform down: the reply waits until the
// account's maximum age, then is a dead letter too; a replay puts it back
// on the queue, where it is delivered, and the AI agent's late retry is a
// duplicate.
func TestDeadLettersAndReplay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var status atomic.Int32
	status.Store(400)
	e.p.Fail = func(op string) error {
		if s := int(status.Load()); s != 0 {
			return &egress.StatusError{Op: "fake send", Status: s}
		}
		return nil
	}
	invoke := func(text, id string) {
		t.Helper()
		if resp := e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send(text, id), "Bearer "+secret)); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	}
	invoke("refused", "m-400")
	if failed := e.Deliver(t, route.WebhookMessage); failed != 0 || e.Outbound.Len() != 0 {
		t.Fatalf("a 400: %d failed, %d left; want a dead letter at once", failed, e.Outbound.Len())
	}
	if dl, err := e.Deps.State.DeadLetter(ctx, state.BotMessageKey(agentID, "m-400")); err != nil || dl.Reason != "fake send: HTTP 400" {
		t.Fatalf("the refused reply: %+v %v", dl, err)
	}
	_ = e.Deps.State.Discard(ctx, state.BotMessageKey(agentID, "m-400"))
	status.Store(503)
	invoke("keep me", "m-dead")
	for i := 0; i < 3; i++ {
		e.Clock.Add(9 * time.Hour)
		if failed := e.Deliver(t, route.WebhookMessage); (i < 2) != (failed == 1) {
			t.Fatalf("attempt %d at %s: %d failed", i, e.Clock.Now(), failed)
		}
	}
	dls, err := e.Deps.State.DeadLetters(ctx, state.DeadOutbound, 10)
	if err != nil || len(dls) != 1 || dls[0].Ref["pcid"] != pcid || dls[0].Reason != "gave up after 27h0m0s (the account's maximum age): fake send: HTTP 503" {
		t.Fatalf("dead letters %+v %v", dls, err)
	}
	status.Store(0)
	if _, err := e.Deps.Replayer().Replay(ctx, dls[0].Key); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Deps.Replayer().Replay(ctx, dls[0].Key); !errors.Is(err, state.ErrNotDead) {
		t.Fatalf("a second replay = %v, want ErrNotDead", err)
	}
	if left := e.Drain(t); left != 0 {
		t.Fatalf("%d left", left)
	}
	calls := e.p.Calls()
	if last := calls[len(calls)-1]; last.Op != "send" || last.Message.Text != "keep me" || last.PCID != pcid {
		t.Fatalf("replayed %+v", last)
	}
	if dls, _ := e.Deps.State.DeadLetters(ctx, state.DeadOutbound, 10); len(dls) != 0 {
		t.Fatalf("still listed after the replay: %+v", dls)
	}
	// The sender's retry of the replayed message is a duplicate.
	resp := e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send("keep me", "m-dead"), "Bearer "+secret))
	if !strings.Contains(resp.Body, `"duplicate"`) {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

// parts is a platform whose messages have three parts; it fails the part
// a test names once.
type parts struct {
	sourcetest.Platform
	mu     sync.Mutex
	failAt int
	got    []string
	ids    []string
}

func (p *parts) Send(_ context.Context, _ *source.Account, _ source.Conversation, msg ultimate.Message, pr *source.Progress) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, pr.ID)
	for pr.Sent < 3 {
		if p.failAt == pr.Sent+1 {
			p.failAt = 0
			return retry.Retryable(&egress.StatusError{Op: "fake part", Status: 503}, 0)
		}
		p.got = append(p.got, fmt.Sprintf("%s/%d", msg.Text, pr.Sent+1))
		pr.Sent++
	}
	return nil
}

// A multi-part send that failed part-way resumes after the parts the
// platform has; success writes nothing but the claim.
func TestPartialSendResumes(t *testing.T) {
	p := &parts{failAt: 2}
	e := &env{Env: apptest.New(t, apptest.Options{Sources: source.NewRegistry(p)}), p: &p.Platform}
	e.Put(t, tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, nil), tenanttest.Source(sourcetest.Name, "acme", agentID, nil))
	e.Secrets.Set(tenanttest.AgentSecretName(agentID), `{"apiKey":"k","webhookSecret":"`+secret+`"}`)
	e.Deps.Retry = retry.Policy{} // one attempt: the queue retries
	writes := 0
	e.DB.Fault = func(op, table string) error {
		if table == apptest.StateTable && op != "GetItem" {
			writes++
		}
		return nil
	}
	e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send("card", "m-parts"), "Bearer "+secret))
	e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send("plain", ""), "Bearer "+secret))
	if failed := e.Deliver(t, route.WebhookMessage); failed != 2 {
		t.Fatalf("%d failed, want the card and the message behind it", failed)
	}
	if writes != 2 {
		t.Fatalf("%d writes after the partial send, want the claim and the progress", writes)
	}
	if left := e.Drain(t); left != 0 {
		t.Fatalf("%d left", left)
	}
	want := []string{"card/1", "card/2", "card/3", "plain/1", "plain/2", "plain/3"}
	if !slices.Equal(p.got, want) {
		t.Fatalf("the platform got %q, want %q (no part twice)", p.got, want)
	}
	if writes != 2 {
		t.Fatalf("%d writes in all, want 2: success writes nothing", writes)
	}
	// Without a messageId the adapters' dedupe key comes from the queue
	// message, the same on every delivery.
	if len(p.ids) != 3 || p.ids[2] == "" || !strings.HasPrefix(p.ids[2], "msg_") {
		t.Fatalf("progress IDs %q", p.ids)
	}
}

type barriers struct {
	mu    sync.Mutex
	got   []string
	err   error
	sends func() int
}

func (b *barriers) BarrierReached(_ context.Context, pcid, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, fmt.Sprintf("%s|%s|after %d sends", pcid, token, b.sends()))
	return b.err
}

// A handover's barrier is acknowledged once the bot messages queued
// before it are delivered; a failed acknowledgement is retried.
func TestBarrierAfterTheMessagesBeforeIt(t *testing.T) {
	e := newEnv(t)
	b := &barriers{err: errors.New("state table throttled"), sends: func() int { return len(e.p.Calls()) }}
	e.Deps.Barriers = b
	ctx := context.Background()
	e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send("before", "m-b1"), "Bearer "+secret))
	data, _ := json.Marshal(map[string]string{"token": "tok-1"})
	if err := e.Deps.OutboundQueue.Send(ctx, queue.Envelope{Kind: queue.KindBarrier, PCID: pcid, Data: data}, "tok-1"); err != nil {
		t.Fatal(err)
	}
	if failed := e.Deliver(t, route.WebhookMessage); failed != 1 {
		t.Fatalf("%d failed, want the barrier's failed acknowledgement", failed)
	}
	b.err = nil
	if left := e.Drain(t); left != 0 {
		t.Fatalf("%d left", left)
	}
	if want := []string{pcid + "|tok-1|after 1 sends", pcid + "|tok-1|after 1 sends"}; !slices.Equal(b.got, want) {
		t.Fatalf("barrier calls %q, want %q", b.got, want)
	}
}

func TestTranscriptGetsDeliveredBotTurns(t *testing.T) {
	e := newEnv(t)
	var turns []string
	e.Deps.Transcript = transcriptFunc(func(pcid string, turn source.Turn) error {
		turns = append(turns, pcid+"|"+turn.From+"|"+turn.Text)
		return errors.New("transcript store down")
	})
	e.Invoke(t, route.WebhookMessage, hook("/webhooks/message", send("hello visitor", "m-t"), "Bearer "+secret))
	if left := e.Drain(t); left != 0 {
		t.Fatalf("%d left: a failed Append must not fail the delivery", left)
	}
	if want := []string{pcid + "|bot|hello visitor"}; !slices.Equal(turns, want) {
		t.Fatalf("turns %q, want %q", turns, want)
	}
}

type transcriptFunc func(pcid string, t source.Turn) error

func (f transcriptFunc) Append(_ context.Context, _ *source.Account, pcid string, t source.Turn) error {
	return f(pcid, t)
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
	if l["agentId"] != agentID || l["pcid"] != pcid || l["eventType"] != "sendMessage" || l["outcome"] != "queued" || l["status"] != float64(200) || l["requestId"] != "req-test" {
		t.Fatalf("line %v", l)
	}
	if strings.Contains(e.Logs(), "my secret plans") {
		t.Fatal("message text in the logs")
	}
}
