package sunshine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
)

// inboundStub runs what the source-inbound handler runs for a request
// (API Gateway event, method check, auth, parse) and keeps the events.
type inboundStub struct {
	t      *testing.T
	a      *Adapter
	acct   *source.Account
	mu     sync.Mutex
	events []source.Event
}

func (s *inboundStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := apigw.Route{Method: "ANY", Pattern: "/sources/{source}/{account}"}
	ev, err := apigw.FromHTTP(r, route, map[string]string{"source": Name, "account": testApp}, 0)
	if err != nil {
		s.t.Error(err)
		return
	}
	req, err := apigw.FromEvent(ev, apigw.Limits{})
	if err == nil {
		err = s.a.Route(req)
	}
	if err == nil {
		err = s.a.Authenticate(req, s.acct, testNow)
	}
	var batch *source.Batch
	if err == nil {
		batch, err = s.a.Parse(req, s.acct)
	}
	if err != nil {
		apigw.WriteHTTP(w, apigw.Fail(err, "test"))
		return
	}
	s.mu.Lock()
	s.events = append(s.events, batch.Events...)
	s.mu.Unlock()
	apigw.WriteHTTP(w, apigw.JSON(http.StatusOK, map[string]string{"status": "ok"}))
}

func (s *inboundStub) take() []source.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.events
	s.events = nil
	return out
}

// TestFakeWebhooksParse drives the adapter with the fake's webhooks: what
// the fake delivers is what the adapter understands, end to end over HTTP.
func TestFakeWebhooksParse(t *testing.T) {
	f := sunshinetest.New(sunshinetest.Options{AppID: testApp, KeyID: testKeyID, KeySecret: testKeySecret, IntegrationID: testIntegration, IncludeFullUser: true})
	f.AddUser(sunshinetest.User{ID: testUser, GivenName: "Ann", Surname: "Lee", Email: "ann@example.com", Authenticated: true})
	stub := &inboundStub{t: t, a: testAdapter(), acct: account(t, "", nil)}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	ctx := context.Background()
	deliver := func(secret string, evs ...sunshinetest.Event) ([]source.Event, int) {
		t.Helper()
		status, err := f.Deliver(ctx, srv.URL, secret, evs...)
		if err != nil {
			t.Fatal(err)
		}
		return stub.take(), status
	}

	created := f.ConversationCreated(testConv, testUser, "startConversation")
	text := f.UserText(testConv, testUser, "Hi there")
	evs, status := deliver(testSecret, created, text, f.BusinessText(testConv, "Hello, I'm the bot"))
	if status != http.StatusOK || len(evs) != 2 || evs[0].Kind != source.Started || evs[0].ID != created.ID ||
		evs[0].User["name"] != "Ann Lee" || evs[1].Kind != source.Message || evs[1].Text != "Hi there" || evs[1].ID != text.ID {
		t.Fatalf("status %d, events %+v", status, evs)
	}

	evs, _ = deliver(testSecret, f.UserReply(testConv, testUser, "Yes", `{"t":"Yes"}`), f.Postback(testConv, testUser, `{"t":"Select","c":4}`), f.UserImage(testConv, testUser, "https://m.example.com/a.png"))
	if len(evs) != 3 || evs[0].Text != "Yes" || evs[1].Text != "Select" || evs[1].CardIndex == nil || *evs[1].CardIndex != 4 || evs[2].Text != "[image] https://m.example.com/a.png" {
		t.Fatalf("events %+v", evs)
	}

	// Handover: our own pass is ignored, messages while the agent is in
	// control are standby, the pass back ends the AI agent's session.
	away, err := f.PassControl(testConv, "zd:agentWorkspace", "")
	if err != nil {
		t.Fatal(err)
	}
	if evs, _ = deliver(testSecret, away, f.UserText(testConv, testUser, "for the human"), f.PassControlFailure(testConv, "switchboard_invalid_target", "x")); len(evs) != 0 {
		t.Fatalf("acted while with a human: %+v", evs)
	}
	back, err := f.PassControl(testConv, sunshinetest.BotSwitchboardName, "ticketClosed")
	if err != nil {
		t.Fatal(err)
	}
	if evs, _ = deliver(testPrevSecret, back, f.ReleaseControl(testConv, "")); len(evs) != 2 || evs[0].Kind != source.HandedBack || evs[1].Kind != source.HandedBack {
		t.Fatalf("events %+v", evs)
	}

	if _, status = deliver("wrong", f.UserText(testConv, testUser, "x")); status != http.StatusUnauthorized {
		t.Fatalf("wrong secret answered %d", status)
	}
	if _, status = deliver("", f.UserText(testConv, testUser, "x")); status != http.StatusUnauthorized {
		t.Fatalf("no secret answered %d", status)
	}
}
