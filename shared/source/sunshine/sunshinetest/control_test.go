package sunshinetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestControlRoutes(t *testing.T) {
	var (
		mu        sync.Mutex
		delivered []Envelope
		keys      []string
	)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env Envelope
		_ = json.NewDecoder(r.Body).Decode(&env)
		mu.Lock()
		delivered = append(delivered, env)
		keys = append(keys, r.Header.Get("X-API-Key"))
		mu.Unlock()
	}))
	defer target.Close()
	s := New(Options{AppID: app, KeyID: "k", KeySecret: "s", IntegrationID: "int1", WebhookTarget: target.URL, WebhookSecret: "whs"})

	post := func(path, body string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var m map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m
	}

	if code, m := post("/_fake/conversations/c9/visitor", `{"text":"hi"}`); code != 200 || m["webhookStatus"] != float64(200) {
		t.Fatalf("visitor: %d %v", code, m)
	}
	if len(delivered) != 1 || len(delivered[0].Events) != 2 || delivered[0].Events[0].Type != "conversation:create" || delivered[0].Events[1].Type != "conversation:message" || keys[0] != "whs" {
		t.Fatalf("first delivery %+v", delivered)
	}
	if code, _ := post("/_fake/conversations/c9/visitor", `{"text":"Yes","payload":"{\"t\":\"Yes\"}"}`); code != 200 || len(delivered[1].Events) != 1 {
		t.Fatalf("reply: %d %+v", code, delivered)
	}
	if code, _ := post("/_fake/conversations/c9/postback", `{"payload":"{\"t\":\"Select\",\"c\":0}"}`); code != 200 || delivered[2].Events[0].Type != "conversation:postback" {
		t.Fatalf("postback: %d", code)
	}
	s.mu.Lock()
	agent := s.switchboard[1]
	s.convs["c9"].Active = &agent
	s.mu.Unlock()
	if code, _ := post("/_fake/conversations/c9/handBack", ``); code != 200 {
		t.Fatalf("handBack: %d", code)
	}
	ev := delivered[3].Events[0]
	if ev.Type != "switchboard:passControl" || ev.Payload["reason"] != "ticketClosed" {
		t.Fatalf("handBack event %+v", ev)
	}
	if c, _ := s.Conversation("c9"); c.Active.Name != BotSwitchboardName {
		t.Fatalf("control not back with the bot: %+v", c.Active)
	}

	req := httptest.NewRequest(http.MethodGet, "/_fake/conversations/c9", nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var view map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &view); err != nil || rec.Code != 200 || len(view["messages"].([]any)) != 2 {
		t.Fatalf("view %d %s", rec.Code, rec.Body)
	}

	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/_fake/conversations/c9/visitor", `{}`, 400},
		{"/_fake/conversations/c9/postback", `{}`, 400},
		{"/_fake/conversations/nope/handBack", `{}`, 400},
		{"/_fake/conversations/c9/dance", `{}`, 400},
		{"/_fake/conversations/c9/visitor", `[`, 400},
		{"/_fake/other", `{}`, 404},
	} {
		if code, m := post(tc.path, tc.body); code != tc.code {
			t.Errorf("%s %s: %d %v, want %d", tc.path, tc.body, code, m, tc.code)
		}
	}
	noTarget := New(Options{AppID: app})
	req = httptest.NewRequest(http.MethodPost, "/_fake/conversations/c1/visitor", strings.NewReader(`{"text":"hi"}`))
	rec = httptest.NewRecorder()
	noTarget.ServeHTTP(rec, req)
	if rec.Code != http.StatusConflict {
		t.Fatalf("without target: %d", rec.Code)
	}
	if len(s.Calls()) != 0 {
		t.Fatalf("control routes recorded as API calls: %+v", s.Calls())
	}
}

func TestStartAtLoopbackOnly(t *testing.T) {
	s := New(Options{AppID: app})
	if _, err := s.StartAt("0.0.0.0:0"); err == nil {
		t.Fatal("listened on a public address")
	}
	u, err := s.StartAt("127.0.0.1:0")
	if err != nil || !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("%q %v", u, err)
	}
	_ = s.Close()
}
