package sunshine

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
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
	if len(evs) != 3 || evs[0].Text != "Yes" || evs[1].Text != "Select" || evs[1].CardIndex == nil || *evs[1].CardIndex != 4 || evs[2].Text != "[image, private] https://m.example.com/a.png" {
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

// A click on a button the bridge sent, as the fake reports it from the
// message the bridge posted: a postback's payload, or (the spec makes it
// optional) only the action's metadata, maps back to the AI agent's text
// and card; a reply button comes back as a text message with its payload.
func TestClicksRoundTrip(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	a := testAdapter()
	acct := account(t, f.URL(), map[string]any{"replyStyle": "postback"})
	card := []ultimate.Card{
		{Title: "Tacos", Buttons: []ultimate.Button{btn("Select tacos")}},
		{Title: "Ramen", Buttons: []ultimate.Button{btn("Select ramen")}},
	}
	for _, m := range []ultimate.Message{
		{Type: "text", Text: "Refund?", Buttons: []ultimate.Button{btn("Yes, refund")}},
		{Type: "carousel", CarouselCards: card},
	} {
		if err := a.Send(context.Background(), acct, testConversation(), m, &source.Progress{}); err != nil {
			t.Fatal(err)
		}
	}
	replyAcct := account(t, f.URL(), nil)
	if err := a.Send(context.Background(), replyAcct, testConversation(), ultimate.Message{Type: "text", Text: "OK?", Buttons: []ultimate.Button{btn("Fine")}}, &source.Progress{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		button         string
		withoutPayload bool
		text           string
		card           *int
	}{
		{"Select ramen", false, "Select ramen", intp(1)},
		{"Select ramen", true, "Select ramen", intp(1)},
		{"Yes, refund", true, "Yes, refund", nil},
		{"Fine", false, "Fine", nil},
	}
	for _, tc := range tests {
		ev, err := f.Click(testConv, testUser, tc.button, tc.withoutPayload)
		if err != nil {
			t.Fatal(err)
		}
		if pb, ok := ev.Payload["postback"].(map[string]any); ok {
			if _, has := pb["payload"]; has == tc.withoutPayload {
				t.Fatalf("%s: postback %v", tc.button, pb)
			}
		}
		body, _ := json.Marshal(f.Envelope(ev))
		b, err := a.Parse(request(body, nil), acct)
		if err != nil || len(b.Events) != 1 {
			t.Fatalf("%s: %+v, %v", tc.button, b, err)
		}
		got := b.Events[0]
		if got.Text != tc.text || (got.CardIndex == nil) != (tc.card == nil) || (tc.card != nil && *got.CardIndex != *tc.card) {
			t.Fatalf("%s (without payload %v): %+v", tc.button, tc.withoutPayload, got)
		}
	}
}

// With private attachments a visitor's mediaUrl does not open without the
// app's credentials, and the AI agent is told so; with public ones it opens.
func TestPrivateAttachments(t *testing.T) {
	for _, private := range []bool{true, false} {
		f := sunshinetest.New(sunshinetest.Options{AppID: testApp, KeyID: testKeyID, KeySecret: testKeySecret, IntegrationID: testIntegration, PrivateAttachments: private})
		if _, err := f.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		u := f.AttachmentURL("receipt.png")
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if opens := resp.StatusCode == http.StatusOK; opens == private {
			t.Fatalf("private %v: GET without credentials answered %d", private, resp.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.SetBasicAuth(testKeyID, testKeySecret)
		if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET with credentials: %v %v", resp, err)
		}
		_ = resp.Body.Close()

		mode := map[bool]string{true: "private", false: "public"}[private]
		body, _ := json.Marshal(f.Envelope(f.UserImage(testConv, testUser, u)))
		b, err := testAdapter().Parse(request(body, nil), account(t, "", map[string]any{"attachments": mode}))
		if err != nil || len(b.Events) != 1 {
			t.Fatalf("%+v %v", b, err)
		}
		want := "[image] " + u
		if private {
			want = "[image, private] " + u
		}
		if b.Events[0].Text != want {
			t.Fatalf("%s: text %q", mode, b.Events[0].Text)
		}
	}
}

// The fake refuses to build user content the spec's schemas forbid, so no
// test can feed the adapter what SunCo never sends.
func TestFakeUserContentFollowsTheSpec(t *testing.T) {
	f := sunshinetest.New(sunshinetest.Options{AppID: testApp, IntegrationID: testIntegration})
	bad := []map[string]any{
		{"type": "text"},
		{"type": "image"},
		{"type": "formResponse"},
		{"type": "formResponse", "fields": []any{}},
		{"type": "formResponse", "fields": []any{map[string]any{"type": "text", "name": "n", "label": "L"}}},
		{"type": "formResponse", "fields": []any{map[string]any{"type": "phone", "name": "n", "label": "L", "text": "1"}}},
		{"type": "formResponse", "fields": []any{map[string]any{"type": "email", "label": "L", "email": "a@b.c"}}},
	}
	for _, c := range bad {
		if _, err := f.UserContent(testConv, testUser, c); err == nil {
			t.Errorf("accepted %v", c)
		}
	}
	for _, c := range []map[string]any{
		{"type": "text", "htmlText": "<b>hi</b>"},
		{"type": "text", "markdownText": "**hi**"},
		{"type": "formResponse", "fields": []any{map[string]any{"type": "email", "name": "e", "label": "E", "email": "a@b.c"}}},
	} {
		if _, err := f.UserContent(testConv, testUser, c); err != nil {
			t.Errorf("refused %v: %v", c, err)
		}
	}
}
