package liveperson

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/inbound"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/queue/queuetest"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// The adapter inside the real source-inbound handler, with in-memory
// configuration, state and AI agent: what LivePerson sees end to end.

type memTenants struct {
	src     *tenant.Source
	lookups int
}

func (m *memTenants) Source(_ context.Context, src, acct string) (*tenant.Source, error) {
	m.lookups++
	if src != m.src.Source || acct != m.src.Account {
		return nil, tenant.ErrNotFound
	}
	return m.src, nil
}

func (m *memTenants) Agent(_ context.Context, id string) (*tenant.Agent, error) {
	return &tenant.Agent{AgentID: id}, nil
}

type memSecrets map[string][]byte

func (m memSecrets) Get(_ context.Context, name string) ([]byte, error) { return m[name], nil }

func (m memSecrets) SourceCredentials(_ context.Context, src *tenant.Source) ([]byte, error) {
	return m[src.CredentialsSecret], nil
}

type memAgent struct {
	mu     sync.Mutex
	events []ultimate.ChatEvent
}

func (m *memAgent) Chat(_ context.Context, _ ultimate.Target, ev ultimate.ChatEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, ev)
	return nil
}

func (m *memAgent) Widget(context.Context, ultimate.Target, ultimate.WidgetEvent) error { return nil }

func (m *memAgent) take() []ultimate.ChatEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.events
	m.events = nil
	return out
}

// memState follows the store's claim rules closely enough for these flows:
// accepted keys are duplicates; RequireNew refuses a live conversation.
type memState struct {
	done  map[string]bool
	convs map[string]string
}

func (m *memState) Accept(_ context.Context, key, _ string) (*state.Lease, error) {
	if m.done[key] {
		return nil, &state.DuplicateError{Key: key, Status: state.StatusDone}
	}
	m.done[key] = true
	return &state.Lease{Key: key}, nil
}

func (m *memState) ChangeConversation(_ context.Context, c state.ConvChange) error {
	st, exists := m.convs[c.PCID]
	if c.RequireNew && exists && st != state.ConvEnded {
		return state.ErrExists
	}
	if c.SetStatus != "" {
		m.convs[c.PCID] = c.SetStatus
	}
	return nil
}

func (m *memState) Release(context.Context, *state.Lease) error { return nil }
func (m *memState) Touch(context.Context, string) error         { return nil }
func (m *memState) Stale(*state.Conversation) bool              { return false }
func (m *memState) Conversation(_ context.Context, pcid string) (*state.Conversation, error) {
	st, ok := m.convs[pcid]
	if !ok {
		return nil, state.ErrNoConversation
	}
	return &state.Conversation{PCID: pcid, Status: st}, nil
}

func TestThroughTheInboundHandler(t *testing.T) {
	a := newAdapter()
	acct := account(t, baseSettings(t), nil)
	acct.CredentialsSecret = "crmbridge/sources/liveperson/" + testAccount
	tenants := &memTenants{src: acct.Source}
	agent := &memAgent{}
	q := queuetest.New()
	in := &inbound.Handler{
		Queue:    &queue.Producer{API: q, URL: "https://sqs.local/inbound.fifo", Now: func() time.Time { return testNow }},
		Accounts: &accounts.Resolver{Tenants: tenants, Secrets: memSecrets{acct.CredentialsSecret: userPass}},
		State:    &memState{done: map[string]bool{}, convs: map[string]string{}}, Agent: agent,
		Sources: source.NewRegistry(a), Log: obs.NewLogger(io.Discard, "error"), Metrics: obs.NewMetrics(io.Discard, "test", "test"),
		Now: func() time.Time { return testNow },
	}
	h := &apigw.Handler{Name: "source-inbound", Serve: in.Serve, Log: in.Log, Now: in.Now}
	consumer := &queue.Consumer{Handle: in.Deliver, Now: in.Now}
	// take delivers what the bridge queued, then returns what the AI agent got.
	take := func() []ultimate.ChatEvent {
		t.Helper()
		if left, err := q.Drain(context.Background(), consumer.Consume); left != 0 || err != nil {
			t.Fatalf("%d records left, %v", left, err)
		}
		return agent.take()
	}
	ep := endpoint(t)
	call := func(r lptest.Request) (int, string) {
		t.Helper()
		resp, err := h.Invoke(context.Background(), r.Event("req", testNow))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Body
	}
	const empty = `{"response":[],"analytics":{"intents":[]}}`

	if st, body := call(ep.State()); st != 200 || body != `{"state":"online","version":"1.0.0"}` {
		t.Fatalf("state: %d %s", st, body)
	}
	p := lptest.Person{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", CustomerID: "C-1"}
	put := ep.CreateConversation(testConv, lptest.ConversationBody(lptest.MessagingSDES(p, true), "MESSAGING"))
	if st, body := call(put); st != 200 || body != `{}` {
		t.Fatalf("put: %d %s", st, body)
	}
	evs := take()
	if len(evs) != 1 || evs[0].EventType != ultimate.EventStartSession || evs[0].PlatformConversationID != "liveperson:"+testAccount+":"+testConv {
		t.Fatalf("put: %+v", evs)
	}
	meta := map[string]ultimate.MetaItem{}
	for _, m := range evs[0].MetaData {
		meta[m.Key] = m
	}
	if m := meta["email"]; m.Value != "ada@example.com" || !m.Sanitize {
		t.Fatalf("email %+v", m)
	}
	if m := meta[ParamSkillID]; m.Value != "1234567" || m.Sanitize {
		t.Fatalf("skill %+v", m)
	}
	// LivePerson retries the same PUT: answered, not started twice.
	if st, _ := call(put); st != 200 || len(take()) != 0 {
		t.Fatalf("retried put: %d", st)
	}
	// Another PUT for the live conversation: 409, as the OpenAPI file says.
	if st, body := call(ep.CreateConversation(testConv, lptest.ConversationBody(nil, "CHAT"))); st != http.StatusConflict {
		t.Fatalf("second put: %d %s", st, body)
	}

	text := ep.Text(testConv, 1, "I want to change my plan")
	if st, body := call(text); st != 200 || body != empty {
		t.Fatalf("text: %d %s", st, body)
	}
	if evs := take(); len(evs) != 1 || evs[0].EventType != ultimate.EventMessage || evs[0].Text != "I want to change my plan" {
		t.Fatalf("text: %+v", evs)
	}
	if st, body := call(text); st != 200 || body != empty || len(take()) != 0 {
		t.Fatalf("resent text: %d %s", st, body)
	}
	if st, _ := call(ep.Click(testConv, 2, "Buy (3/3)", clickID(2, "Buy"))); st != 200 {
		t.Fatalf("click: %d", st)
	}
	if evs := take(); len(evs) != 1 || evs[0].Text != "Buy" || evs[0].CardIndex == nil || *evs[0].CardIndex != 2 {
		t.Fatalf("click: %+v", evs)
	}
	if st, body := call(ep.PostEvent(testConv, map[string]any{"type": "TYPING", "data": map[string]any{}})); st != http.StatusBadRequest || !strings.Contains(body, "unknown_event_type") || len(take()) != 0 {
		t.Fatalf("unknown type: %d %s", st, body)
	}
	if st, body := call(ep.HostedFile(testConv, 4, "/v1/AUTH_async-images/le1/receipt.jpg", "JPG", "")); st != 200 || body != empty {
		t.Fatalf("hosted file: %d %s", st, body)
	}
	if evs := take(); len(evs) != 1 || evs[0].Text != "[image, private] /v1/AUTH_async-images/le1/receipt.jpg" {
		t.Fatalf("hosted file: %+v", evs)
	}
	// An event for a conversation never created: 404, nothing delivered.
	if st, body := call(ep.Text("never-created", 1, "hi")); st != http.StatusNotFound || !strings.Contains(body, "unknown_conversation") || len(take()) != 0 {
		t.Fatalf("never created: %d %s", st, body)
	}
	if st, _ := call(ep.Closed(testConv, 3)); st != 200 {
		t.Fatalf("closed: %d", st)
	}
	if evs := take(); len(evs) != 1 || evs[0].EventType != ultimate.EventEndSession {
		t.Fatalf("closed: %+v", evs)
	}

	// A bad token is a JSON 401; a wrong method is refused before any lookup.
	bad := ep.State()
	bad.Authorization = "Bearer x.y.z"
	if st, body := call(bad); st != 401 || !json.Valid([]byte(body)) {
		t.Fatalf("bad token: %d %s", st, body)
	}
	before := tenants.lookups
	wrong := ep.State()
	wrong.Method = http.MethodDelete
	if st, _ := call(wrong); st != http.StatusMethodNotAllowed || tenants.lookups != before {
		t.Fatalf("DELETE: %d, %d lookups", st, tenants.lookups-before)
	}
}
