package liveperson_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/liveperson"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// The real source-inbound handler, state store and AI-agent client behind
// Third-Party Bots as LivePerson's guide describes it (lptest.TPB), with the
// fake AI agent that greets on every startSession.
type lpEnv struct {
	e     *apptest.Env
	agent *ultimatetest.Server
	ep    lptest.Endpoint
}

func newLPEnv(t *testing.T) *lpEnv {
	t.Helper()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	agent := ultimatetest.New(ultimatetest.Options{Agents: []ultimatetest.Agent{{
		ID: lptest.DemoAgentID, APIKey: "k", WebhookURL: sink.URL,
		WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}, WebhookSecret: "wh",
	}}})
	u, err := agent.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Close() })
	s, err := lptest.DemoSentinel()
	if err != nil {
		t.Fatal(err)
	}
	e := apptest.New(t, apptest.Options{AgentURL: u})
	secret := tenanttest.SourceSecretName(liveperson.Name, lptest.DemoAccount)
	e.Put(t,
		tenanttest.Agent(lptest.DemoAgentID, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, nil),
		tenanttest.Source(liveperson.Name, lptest.DemoAccount, lptest.DemoAgentID, tenanttest.Fields{
			"credentialsSecret": secret,
			"settings": map[string]any{"botId": lptest.DemoBotID, "jwtPublicKeyPem": s.PublicKeyPEM(), "jwtKeyIds": []any{lptest.DemoKID},
				"apiBaseUrl": "http://127.0.0.1:9"},
		}),
	)
	e.Secrets.Set(tenanttest.AgentSecretName(lptest.DemoAgentID), `{"apiKey":"k","webhookSecret":"wh"}`)
	e.Secrets.Set(secret, `{"username":"crmbridge-api","password":"p"}`)
	bearer, err := s.Bearer(apptest.Start)
	if err != nil {
		t.Fatal(err)
	}
	return &lpEnv{e: e, agent: agent, ep: lptest.Endpoint{Account: lptest.DemoAccount, BotID: lptest.DemoBotID, Authorization: bearer}}
}

func (l *lpEnv) tpb(t *testing.T, conv string) *lptest.TPB {
	p := lptest.Person{FirstName: "Ada", Email: "ada@example.com"}
	return &lptest.TPB{Endpoint: l.ep, ConvID: conv, Conversation: lptest.ConversationBody(lptest.MessagingSDES(p, true), "MESSAGING"),
		Do: func(r lptest.Request) (int, error) {
			return l.e.Invoke(t, route.SourceInbound, r.Event("req", apptest.Start)).StatusCode, nil
		}}
}

// chats are the Chat API events the AI agent got for conv, by type.
func (l *lpEnv) chats(t *testing.T, conv string) []ultimate.ChatEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.agent.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var out []ultimate.ChatEvent
	for _, r := range l.agent.Received() {
		if r.Chat != nil && r.Chat.PlatformConversationID == "liveperson:"+lptest.DemoAccount+":"+conv {
			out = append(out, *r.Chat)
		}
	}
	return out
}

func (l *lpEnv) welcomes(conv string) int {
	n := 0
	for _, d := range l.agent.Deliveries() {
		if d.Event == ultimate.EventSendMessage && d.PlatformConversationID == "liveperson:"+lptest.DemoAccount+":"+conv && strings.Contains(string(d.Body), ultimatetest.WelcomeText) {
			n++
		}
	}
	return n
}

func kinds(evs []ultimate.ChatEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.EventType+":"+e.Text)
	}
	return strings.Join(out, "|")
}

// One welcome whatever the order: PUT then START, or START before any PUT
// (answered 404, on which TPB creates the conversation and sends START
// again). The consumer message START carries reaches the AI agent once.
func TestOneWelcome(t *testing.T) {
	for _, startFirst := range []bool{false, true} {
		name := map[bool]string{false: "put then start", true: "start before put"}[startFirst]
		t.Run(name, func(t *testing.T) {
			l := newLPEnv(t)
			const conv = "9a1c1d52-0b8e-4c6e-a6d3-5b2f1c7e8d90"
			tpb := l.tpb(t, conv)
			start := lptest.StartEvent(conv, 0, "I need help with my bill")
			var st int
			var err error
			if startFirst {
				st, err = tpb.SendFirst(start)
			} else {
				st, err = tpb.Send(start)
			}
			if err != nil || st != http.StatusOK {
				t.Fatalf("start: %d %v (calls %+v)", st, err, tpb.Calls)
			}
			if got := kinds(l.chats(t, conv)); got != "startSession:|message:I need help with my bill" {
				t.Fatalf("the AI agent got %s", got)
			}
			if n := l.welcomes(conv); n != 1 {
				t.Fatalf("%d welcomes", n)
			}
			want := []lptest.TPBCall{{Method: "PUT", Status: 200}, {Method: "POST", Type: "START", Status: 200}}
			if startFirst {
				want = append([]lptest.TPBCall{{Method: "POST", Type: "START", Status: 404}}, want...)
			}
			if len(tpb.Calls) != len(want) {
				t.Fatalf("calls %+v, want %+v", tpb.Calls, want)
			}
			for i := range want {
				if tpb.Calls[i] != want[i] {
					t.Fatalf("calls %+v, want %+v", tpb.Calls, want)
				}
			}
		})
	}
}

// A transfer back to the bot ends the AI agent's session with the human's
// turn, so the next consumer message starts a fresh one; a consumer's file
// reaches the AI agent marked private; an unknown type is a 400.
func TestTransferredBackAndFiles(t *testing.T) {
	l := newLPEnv(t)
	const conv = "0b7e2a61-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
	tpb := l.tpb(t, conv)
	steps := []struct {
		body   map[string]any
		status int
	}{
		{lptest.TextEvent(conv, 1, "hi"), 200},
		{lptest.HostedFileEvent(conv, 2, "/v1/AUTH_async-images/90412077/c1/bill.pdf", "PDF", "my bill"), 200},
		{lptest.StateEvent(conv, 3, "TRANSFERRED"), 200},
		{lptest.TextEvent(conv, 4, "back again"), 200},
	}
	for _, s := range steps {
		if st, err := tpb.Send(s.body); err != nil || st != s.status {
			t.Fatalf("%v: %d %v", s.body["type"], st, err)
		}
	}
	want := "startSession:|message:hi|message:my bill\n[file, private] /v1/AUTH_async-images/90412077/c1/bill.pdf|endSession:|message:back again"
	if got := kinds(l.chats(t, conv)); got != want {
		t.Fatalf("the AI agent got\n%s\nwant\n%s", got, want)
	}
	r := l.ep.PostEvent(conv, map[string]any{"type": "TYPING", "data": map[string]any{}, "context": map[string]any{"lpEvent": map[string]any{}}})
	if resp := l.e.Invoke(t, route.SourceInbound, r.Event("req", apptest.Start)); resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "unknown_event_type") {
		t.Fatalf("unknown type: %d %s", resp.StatusCode, resp.Body)
	}
}
