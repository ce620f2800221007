package inbound_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/queue"
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
	bearer  = "Bearer " + token
)

// front stands before the fake AI agent: it answers 503 while the agent
// is down, or holds requests until released, and counts what reached it.
type front struct {
	agent   http.Handler
	down    atomic.Bool
	status  atomic.Int32 // the answer while down; default 503
	mu      sync.Mutex
	hold    chan struct{} // non-nil: requests wait for it to close, after reaching the agent
	arrived chan struct{}
	calls   atomic.Int32
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if f.down.Load() {
		status := int(f.status.Load())
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"message":"down for ada@example.com"}`))
		return
	}
	f.mu.Lock()
	hold, arrived := f.hold, f.arrived
	f.mu.Unlock()
	if hold == nil {
		f.agent.ServeHTTP(w, r)
		return
	}
	// The agent gets the event, but its answer is late.
	rec := httptest.NewRecorder()
	f.agent.ServeHTTP(rec, r)
	arrived <- struct{}{}
	select {
	case <-hold:
	case <-r.Context().Done():
		return
	}
	w.WriteHeader(rec.Code)
}

type env struct {
	*apptest.Env
	agent *ultimatetest.Server
	front *front
}

// newEnv runs the bridge against the fake AI agent; the agent's own
// webhooks (its replies) go to a sink, this test is about the inbound side.
func newEnv(t *testing.T, delivery *app.Delivery) *env {
	t.Helper()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	agent := ultimatetest.New(ultimatetest.Options{Agents: []ultimatetest.Agent{{
		ID: agentID, APIKey: "k", WebhookURL: sink.URL,
		WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}, WebhookSecret: "wh",
	}}})
	t.Cleanup(func() { _ = agent.Close() })
	f := &front{agent: agent.Handler()}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	e := &env{Env: apptest.New(t, apptest.Options{Sources: source.NewRegistry(&sourcetest.Platform{}), AgentURL: srv.URL, Delivery: delivery}), agent: agent, front: f}
	e.Put(t,
		tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, nil),
		tenanttest.Source(sourcetest.Name, "acme", agentID, tenanttest.Fields{"credentialsSecret": tenanttest.SourceSecretName(sourcetest.Name, "acme")}),
		tenanttest.Source(sourcetest.Name, "paused", agentID, tenanttest.Fields{"enabled": false, "credentialsSecret": tenanttest.SourceSecretName(sourcetest.Name, "paused")}),
	)
	e.Secrets.Set(tenanttest.AgentSecretName(agentID), `{"apiKey":"k","webhookSecret":"wh"}`)
	e.Secrets.Set(tenanttest.SourceSecretName(sourcetest.Name, "acme"), token)
	return e
}

type ev struct {
	ID, Conversation, Text string
	Kind                   source.EventKind
	Agent                  string
	User                   map[string]string
}

func delivery(account, auth string, evs ...ev) events.APIGatewayV2HTTPRequest {
	var list []map[string]any
	for _, e := range evs {
		list = append(list, map[string]any{"id": e.ID, "conversation": e.Conversation, "text": e.Text, "kind": e.Kind, "agent": e.Agent, "user": e.User})
	}
	b, _ := json.Marshal(map[string]any{"events": list})
	path := "/sources/" + sourcetest.Name + "/" + account
	r := apptest.Event("POST", "ANY /sources/{source}/{account}", path, map[string]string{"authorization": auth}, b)
	r.PathParameters = map[string]string{"source": sourcetest.Name, "account": account}
	return r
}

const pcid = sourcetest.Name + ":acme:c1"

// received returns what the AI agent accepted for conversation c1, as
// eventType:text.
func (e *env) received(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.agent.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range e.agent.Received() {
		switch {
		case r.Chat != nil && r.Chat.PlatformConversationID == pcid:
			out = append(out, r.Chat.EventType+":"+r.Chat.Text)
		case r.Widget != nil && r.Widget.PlatformConversationID == pcid:
			out = append(out, "widget."+r.Widget.EventType+":"+r.Widget.Text+r.Widget.Agent)
		}
	}
	return out
}

func TestInbound(t *testing.T) {
	cases := []struct {
		name    string
		agentUp bool
		setup   func(t *testing.T, e *env)
		events  []events.APIGatewayV2HTTPRequest
		status  int
		body    string
		sent    []string // what the AI agent got for c1 once the queue is drained
		left    int      // records still queued after that
	}{
		{"a message is queued, then reaches the AI agent", true, nil, []events.APIGatewayV2HTTPRequest{delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"})},
			200, `"queued":1`, []string{"message:hello"}, 0},
		{"a redelivery is a duplicate", true, nil, []events.APIGatewayV2HTTPRequest{
			delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"}), delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"}),
		}, 200, `"duplicate":1`, []string{"message:hello"}, 0},
		{"a malformed event among good ones is skipped", true, nil, []events.APIGatewayV2HTTPRequest{
			delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "one"}, ev{ID: "e\n2", Conversation: "c1", Text: "two"}, ev{ID: "e3", Conversation: "c1", Text: "three"}),
		}, 200, `"invalid":1`, []string{"message:one", "message:three"}, 0},
		{"a malformed event alone is refused", true, nil, []events.APIGatewayV2HTTPRequest{
			delivery("acme", bearer, ev{ID: "e1", Conversation: strings.Repeat("c", 201), Text: "one"}),
		}, 400, `events[0].conversation: longer than 200 bytes`, nil, 0},
		{"held when a human has it by delivery time", true, func(t *testing.T, e *env) {
			if err := e.Deps.State.SetStatus(context.Background(), pcid, agentID, state.ConvEscalated, "desk"); err != nil {
				t.Fatal(err)
			}
		}, []events.APIGatewayV2HTTPRequest{delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"})}, 200, `"queued":1`, nil, 0},
		{"the AI agent down: the platform is answered, the event waits", false, nil, []events.APIGatewayV2HTTPRequest{delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"})},
			200, `"queued":1`, nil, 1},
		{"an agent message before the desk agent joined is a 409 at once", true, nil, []events.APIGatewayV2HTTPRequest{
			delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Kind: source.AgentMessage, Text: "too early"}),
		}, 409, `"agent_not_joined"`, nil, 0},
		{"desk agent events in order", true, nil, []events.APIGatewayV2HTTPRequest{
			delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Kind: source.AgentJoined, Agent: "Sam"}),
			delivery("acme", bearer, ev{ID: "e2", Conversation: "c1", Kind: source.AgentMessage, Text: "Sam here"}),
			delivery("acme", bearer, ev{ID: "e3", Conversation: "c1", Kind: source.AgentLeft}),
		}, 200, `"queued":1`, []string{"widget.escalationSuccess:Sam", "widget.message:Sam here", "widget.agentDisconnect:"}, 0},
		{"a wrong token", true, nil, []events.APIGatewayV2HTTPRequest{delivery("acme", "Bearer guess", ev{ID: "e1", Conversation: "c1", Text: "hello"})}, 401, `"bad_credentials"`, nil, 0},
		{"a disabled account", true, nil, []events.APIGatewayV2HTTPRequest{delivery("paused", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"})}, 403, `"account_disabled"`, nil, 0},
		{"an unknown account", true, nil, []events.APIGatewayV2HTTPRequest{delivery("nobody", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"})}, 404, `"unknown_account"`, nil, 0},
		{"an unknown source", true, nil, []events.APIGatewayV2HTTPRequest{func() events.APIGatewayV2HTTPRequest {
			r := delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"})
			r.PathParameters["source"] = "telex"
			return r
		}()}, 404, `"unknown_source"`, nil, 0},
		{"an unmatched route is the $default route's 404", true, nil, []events.APIGatewayV2HTTPRequest{
			apptest.Event("GET", "$default", "/nothing/here", nil, nil),
		}, 404, `"route_not_found"`, nil, 0},
		{"a known path with another method is a 405", true, nil, []events.APIGatewayV2HTTPRequest{
			apptest.Event("GET", "$default", "/webhooks/message", nil, nil),
		}, 405, `"method_not_allowed"`, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.front.down.Store(!tc.agentUp)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			var last events.APIGatewayV2HTTPResponse
			for _, r := range tc.events {
				last = e.Invoke(t, route.SourceInbound, r)
				e.Drain(t) // the desk's next event follows the last one's delivery
			}
			if last.StatusCode != tc.status || !strings.Contains(last.Body, tc.body) {
				t.Fatalf("%d %s, want %d with %s", last.StatusCode, last.Body, tc.status, tc.body)
			}
			if left := e.Drain(t); left != tc.left {
				t.Fatalf("%d records left queued, want %d", left, tc.left)
			}
			if got := e.received(t); !slices.Equal(got, tc.sent) {
				t.Fatalf("the AI agent got %q, want %q", got, tc.sent)
			}
		})
	}
}

// An outage longer than any platform's retry window: the platform was
// answered at once, the event waits on the queue with growing delays, and
// reaches the AI agent once it is back.
func TestOutageThenBack(t *testing.T) {
	e := newEnv(t, nil)
	e.front.down.Store(true)
	if resp := e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "one"}, ev{ID: "e2", Conversation: "c1", Text: "two"})); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	for i := 0; i < 5; i++ {
		e.Clock.Add(3 * time.Hour)
		if failed := e.Deliver(t, route.SourceInbound); failed != 2 {
			t.Fatalf("attempt %d: %d failed, want the head and the one behind it", i, failed)
		}
	}
	e.front.down.Store(false)
	if left := e.Drain(t); left != 0 {
		t.Fatalf("%d left", left)
	}
	if got := e.received(t); !slices.Equal(got, []string{"message:one", "message:two"}) {
		t.Fatalf("the AI agent got %q", got)
	}
	if calls := e.front.calls.Load(); calls != 5+2 {
		t.Fatalf("the AI agent was called %d times; want one per delivery of the head (5) and one each after (2)", calls)
	}
}

func TestRetryHorizonAndRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		advance time.Duration
		reason  string
	}{
		{"past the maximum age", 503, 25 * time.Hour, "gave up after 25h0m0s (the account's maximum age): AI agent /converse/chat: HTTP 503"},
		{"400 at once", 400, 0, "AI agent /converse/chat: HTTP 400"},
		{"404 at once", 404, 0, "AI agent /converse/chat: HTTP 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.front.down.Store(true)
			e.front.status.Store(int32(tc.status))
			e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "kept"}))
			e.Clock.Add(tc.advance)
			if failed := e.Deliver(t, route.SourceInbound); failed != 0 || e.Inbound.Len() != 0 {
				t.Fatalf("%d failed, %d left: the record must be a dead letter", failed, e.Inbound.Len())
			}
			dl, err := e.Deps.State.DeadLetter(context.Background(), state.EventKey(sourcetest.Name, "acme", "e1"))
			if err != nil || dl.Kind != state.DeadInbound || dl.Reason != tc.reason || dl.Ref["pcid"] != pcid {
				t.Fatalf("dead letter %+v, %v; want reason %q", dl, err, tc.reason)
			}
			if strings.Contains(dl.Reason, "ada@example.com") || strings.Contains(e.Logs(), "ada@example.com") {
				t.Fatal("an answer body reached the dead letter or the logs")
			}
			if env, err := queue.Decode(dl.Payload); err != nil || env.Key != dl.Key {
				t.Fatalf("the payload is not the record's envelope: %v", err)
			}
			// The conversation goes on.
			e.front.down.Store(false)
			e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e2", Conversation: "c1", Text: "next"}))
			e.Drain(t)
			if got := e.received(t); !slices.Equal(got, []string{"message:next"}) {
				t.Fatalf("the AI agent got %q", got)
			}
		})
	}
}

// The queue refusing the event: the claim is given back and the platform
// asked to retry, which then goes through.
func TestQueueUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	var fail atomic.Bool
	fail.Store(true)
	e.Inbound.Fail = func() error {
		if fail.Load() {
			return errors.New("sqs throttled")
		}
		return nil
	}
	r := delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"})
	resp := e.Invoke(t, route.SourceInbound, r)
	if resp.StatusCode != 503 || !strings.Contains(resp.Body, `"queue_unavailable"`) || resp.Headers["Retry-After"] == "" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	fail.Store(false)
	if resp := e.Invoke(t, route.SourceInbound, r); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"queued":1`) {
		t.Fatalf("the platform's retry: %d %s", resp.StatusCode, resp.Body)
	}
	e.Drain(t)
	if got := e.received(t); !slices.Equal(got, []string{"message:hello"}) {
		t.Fatalf("the AI agent got %q", got)
	}
}

// A redelivery soon after the claim sends the event to the queue again;
// the queue's deduplication makes that one message. (It repairs a bridge
// that died between its claim and its send.)
func TestRedeliveryResendsWithinTheDedupeWindow(t *testing.T) {
	e := newEnv(t, nil)
	r := delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"})
	e.Invoke(t, route.SourceInbound, r)
	e.Invoke(t, route.SourceInbound, r)
	if sends, n := e.Inbound.Sends(), e.Inbound.Len(); sends != 2 || n != 1 {
		t.Fatalf("%d sends, %d queued; want the resend, deduplicated", sends, n)
	}
	e.Clock.Add(5 * time.Minute)
	e.Invoke(t, route.SourceInbound, r)
	if sends := e.Inbound.Sends(); sends != 2 {
		t.Fatalf("%d sends: past the window a redelivery is only a duplicate", sends)
	}
}

// The state changes later requests depend on are written on the HTTP
// side: started (with the session parameters, sanitized ones masked),
// joined, ended.
func TestStateChangesAreWrittenWhenAccepted(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Kind: source.Started, User: map[string]string{"plan": "gold", "email": "ann@example.com"}}))
	c, err := e.Deps.State.Conversation(ctx, pcid)
	if err != nil || c.Status != state.ConvActive || c.Params()["plan"] != "gold" || c.Params()["email"] != state.Masked || c.AgentID != agentID {
		t.Fatalf("after started: %+v, %v (params %v)", c, err, c.Params())
	}
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e2", Conversation: "c1", Kind: source.AgentJoined, Agent: "Sam"}))
	if c, _ := e.Deps.State.Conversation(ctx, pcid); c.DeskAgent != "Sam" {
		t.Fatalf("after joined: %+v", c)
	}
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e3", Conversation: "c1", Kind: source.Ended}))
	if c, _ := e.Deps.State.Conversation(ctx, pcid); c.Status != state.ConvEnded {
		t.Fatalf("after ended: %+v", c)
	}
	// Nothing was delivered yet; the queue holds all three, in order.
	if n := e.Inbound.Len(); n != 3 {
		t.Fatalf("%d queued", n)
	}
	e.Drain(t)
	if got := e.received(t); !slices.Equal(got, []string{"startSession:", "widget.escalationSuccess:Sam", "endSession:"}) {
		t.Fatalf("the AI agent got %q", got)
	}
	// A message writes nothing but its claim.
	writes := 0
	e.DB.Fault = func(op, table string) error {
		if table == apptest.StateTable && op != "GetItem" && op != "Query" {
			writes++
		}
		return nil
	}
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e4", Conversation: "c1", Text: "hi"}))
	e.Drain(t)
	if writes != 1 {
		t.Fatalf("%d State table writes for a message, want 1 (its claim)", writes)
	}
}

type fallback struct {
	e     *env
	err   error
	calls []string
}

func (f *fallback) AgentUnavailable(ctx context.Context, acct *source.Account, conv source.Conversation, held []source.Event) error {
	var texts []string
	for _, h := range held {
		texts = append(texts, h.Text)
	}
	f.calls = append(f.calls, acct.Account+"|"+conv.PCID()+"|"+strings.Join(texts, ","))
	if f.err != nil {
		return f.err
	}
	return f.e.Deps.State.SetStatus(ctx, conv.PCID(), acct.AgentID, state.ConvEscalated, "fallback")
}

func TestFallbackAfterTheAccountsTime(t *testing.T) {
	e := newEnv(t, nil)
	e.Put(t, tenanttest.Source(sourcetest.Name, "acme", agentID, tenanttest.Fields{
		"credentialsSecret": tenanttest.SourceSecretName(sourcetest.Name, "acme"),
		"fallback":          tenanttest.Fields{"afterSeconds": 60, "text": "A human will take over."},
	}))
	fb := &fallback{e: e, err: errors.New("platform down")}
	e.Deps.Fallback = fb
	e.front.down.Store(true)
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "help"}))
	if failed := e.Deliver(t, route.SourceInbound); failed != 1 || len(fb.calls) != 0 {
		t.Fatalf("before afterSeconds: %d failed, fallback calls %q", failed, fb.calls)
	}
	e.Clock.Add(61 * time.Second)
	if failed := e.Deliver(t, route.SourceInbound); failed != 1 || len(fb.calls) != 1 {
		t.Fatalf("a failed fallback must keep the event queued: %d failed, calls %q", failed, fb.calls)
	}
	fb.err = nil
	if failed := e.Deliver(t, route.SourceInbound); failed != 0 || e.Inbound.Len() != 0 {
		t.Fatalf("after the handover: %d failed, %d left", failed, e.Inbound.Len())
	}
	if want := "acme|" + pcid + "|help"; fb.calls[1] != want {
		t.Fatalf("fallback got %q, want %q", fb.calls[1], want)
	}
	// Later messages meet the held check; the AI agent, back, gets none.
	e.front.down.Store(false)
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e2", Conversation: "c1", Text: "still there?"}))
	e.Drain(t)
	if got := e.received(t); len(got) != 0 {
		t.Fatalf("the AI agent got %q while a human has the conversation", got)
	}
	// Accounts without fallback never call it.
	e2 := newEnv(t, nil)
	fb2 := &fallback{e: e2}
	e2.Deps.Fallback = fb2
	e2.front.down.Store(true)
	e2.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "help"}))
	e2.Clock.Add(23 * time.Hour)
	if e2.Deliver(t, route.SourceInbound); len(fb2.calls) != 0 {
		t.Fatalf("fallback called for an account without one: %q", fb2.calls)
	}
}

type transcript struct {
	mu    sync.Mutex
	turns []string
	err   error
}

func (tr *transcript) Append(_ context.Context, _ *source.Account, pcid string, turn source.Turn) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.turns = append(tr.turns, pcid+"|"+turn.From+"|"+turn.Text)
	return tr.err
}

func TestTranscriptGetsDeliveredTurnsOnly(t *testing.T) {
	e := newEnv(t, nil)
	tr := &transcript{err: errors.New("transcript store down")}
	e.Deps.Transcript = tr
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "hello"}))
	e.Deliver(t, route.SourceInbound)
	e.front.down.Store(true)
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e2", Conversation: "c1", Text: "not yet"}))
	e.Deliver(t, route.SourceInbound)
	if want := []string{pcid + "|visitor|hello"}; !slices.Equal(tr.turns, want) {
		t.Fatalf("turns %q, want %q (a failed Append never fails the delivery)", tr.turns, want)
	}
	if e.Inbound.Len() != 1 {
		t.Fatal("the undelivered event is not queued")
	}
}

// An AI agent slower than the first attempt's timeout gets the event a
// second time with a longer one, and not a third; at normal speed once.
func TestSlowAgentGetsAnEventAtMostTwice(t *testing.T) {
	// The first timeout only has to outlast the request's way to the agent;
	// the agent then holds its answer until the bridge has given up.
	e := newEnv(t, &app.Delivery{AttemptTimeouts: []time.Duration{time.Second, time.Minute}})
	e.front.mu.Lock()
	hold, arrived := make(chan struct{}), make(chan struct{}, 4)
	e.front.hold, e.front.arrived = hold, arrived
	e.front.mu.Unlock()
	e.Invoke(t, route.SourceInbound, delivery("acme", bearer, ev{ID: "e1", Conversation: "c1", Text: "slow"}))
	if failed := e.Deliver(t, route.SourceInbound); failed != 1 {
		t.Fatalf("the first attempt: %d failed, want its timeout", failed)
	}
	wait := func(what string) {
		t.Helper()
		select {
		case <-arrived:
		case <-time.After(30 * time.Second): // a bound on failure only
			t.Fatalf("%s never reached the AI agent", what)
		}
	}
	wait("the first attempt") // the agent got it anyway
	done := make(chan int)
	go func() { done <- e.Deliver(t, route.SourceInbound) }()
	wait("the second attempt") // its answer comes now
	close(hold)
	if failed := <-done; failed != 0 {
		t.Fatalf("the second attempt: %d failed", failed)
	}
	if got := e.received(t); len(got) != 2 {
		t.Fatalf("the AI agent got %d copies, want 2", len(got))
	}
	if calls := e.front.calls.Load(); calls != 2 {
		t.Fatalf("%d calls, want 2", calls)
	}
}
