package sunshinetest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	app  = "app1"
	conv = "conv1"
	usr  = "user1"
)

func newFake() *Server {
	s := New(Options{AppID: app, KeyID: "app_key", KeySecret: "secret", IntegrationID: "int1", Now: func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }})
	s.AddUser(User{ID: usr, ExternalID: "ext-1", GivenName: "Ann"})
	s.AddConversation(conv, usr)
	return s
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(s *Server, method, path, body string, auth bool) answer {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.SetBasicAuth("app_key", "secret")
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return answer{rec.Code, rec.Header(), m}
}

func errCode(a answer) string {
	errs, _ := a.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	return str(e["code"]) + ": " + str(e["title"])
}

const msgs = "/v2/apps/" + app + "/conversations/" + conv + "/messages"

func TestPostMessageValidation(t *testing.T) {
	item := func(title string, actions string) string {
		return `{"title":"` + title + `","actions":` + actions + `}`
	}
	postback := `[{"type":"postback","text":"Go","payload":"p"}]`
	items := func(n int) string {
		var xs []string
		for i := 0; i < n; i++ {
			xs = append(xs, item("T", postback))
		}
		return "[" + strings.Join(xs, ",") + "]"
	}
	actions := func(n int) string {
		var xs []string
		for i := 0; i < n; i++ {
			xs = append(xs, `{"type":"reply","text":"R","payload":"p"}`)
		}
		return "[" + strings.Join(xs, ",") + "]"
	}
	tests := []struct {
		name, body string
		status     int
		code       string // prefix of "code: title"
	}{
		{"text", `{"author":{"type":"business"},"content":{"type":"text","text":"Hello!"}}`, 201, ""},
		{"ai subtype", `{"author":{"type":"business","subtypes":["AI"],"displayName":"Bot","avatarUrl":"https://x.example/a.png"},"content":{"type":"text","text":"Hi"}}`, 201, ""},
		{"user author", `{"author":{"type":"user","userId":"user1"},"content":{"type":"text","text":"Hi"}}`, 201, ""},
		{"spec carousel example", `{"author":{"type":"business"},"content":{"type":"carousel","items":[{"title":"Tacos","description":"Get your tacos today!","mediaUrl":"https://example.org/image.jpg","altText":"A giant taco","size":"compact","actions":[{"text":"Select","type":"postback","payload":"TACOS"},{"text":"More info","type":"link","uri":"https://example.org"}]}]}}`, 201, ""},
		{"ten actions", `{"author":{"type":"business"},"content":{"type":"text","text":"Q","actions":` + actions(10) + `}}`, 201, ""},
		{"no author", `{"content":{"type":"text","text":"Hi"}}`, 400, "bad_request: author is required"},
		{"author without type", `{"author":{"displayName":"x"},"content":{"type":"text","text":"Hi"}}`, 400, "bad_request: author.type"},
		{"agent subtype", `{"author":{"type":"business","subtypes":["agent"]},"content":{"type":"text","text":"Hi"}}`, 400, "bad_request: author.subtypes"},
		{"unknown user", `{"author":{"type":"user","userId":"nobody"},"content":{"type":"text","text":"Hi"}}`, 404, "user_not_found"},
		{"no content", `{"author":{"type":"business"}}`, 400, "bad_request: content is required"},
		{"bad type", `{"author":{"type":"business"},"content":{"type":"video"}}`, 400, "bad_request: content.type"},
		{"empty text", `{"author":{"type":"business"},"content":{"type":"text"}}`, 400, "bad_request: content.text is required"},
		{"long text", `{"author":{"type":"business"},"content":{"type":"text","text":"` + strings.Repeat("a", 4097) + `"}}`, 400, "bad_request: content.text must be at most"},
		{"eleven actions", `{"author":{"type":"business"},"content":{"type":"text","text":"Q","actions":` + actions(11) + `}}`, 400, "bad_request: content.actions must hold at most 10"},
		{"reply without text", `{"author":{"type":"business"},"content":{"type":"text","text":"Q","actions":[{"type":"reply","text":"","payload":"p"}]}}`, 400, "bad_request: content.actions[0].text"},
		{"reply without payload", `{"author":{"type":"business"},"content":{"type":"text","text":"Q","actions":[{"type":"reply","text":"R"}]}}`, 400, "bad_request: content.actions[0].payload"},
		{"link without uri", `{"author":{"type":"business"},"content":{"type":"text","text":"Q","actions":[{"type":"link","text":"L"}]}}`, 400, "bad_request: content.actions[0].uri"},
		{"empty carousel", `{"author":{"type":"business"},"content":{"type":"carousel","items":[]}}`, 400, "bad_request: content.items must hold 1 to 10"},
		{"eleven items", `{"author":{"type":"business"},"content":{"type":"carousel","items":` + items(11) + `}}`, 400, "bad_request: content.items must hold 1 to 10"},
		{"ten items", `{"author":{"type":"business"},"content":{"type":"carousel","items":` + items(10) + `}}`, 201, ""},
		{"item without title", `{"author":{"type":"business"},"content":{"type":"carousel","items":[` + item("", postback) + `]}}`, 400, "bad_request: content.items[0].title"},
		{"long title", `{"author":{"type":"business"},"content":{"type":"carousel","items":[` + item(strings.Repeat("t", 129), postback) + `]}}`, 400, "bad_request: content.items[0].title"},
		{"item without actions", `{"author":{"type":"business"},"content":{"type":"carousel","items":[{"title":"T"}]}}`, 400, "bad_request: content.items[0].actions is required"},
		{"four item actions", `{"author":{"type":"business"},"content":{"type":"carousel","items":[` + item("T", "["+strings.Repeat(`{"type":"postback","text":"Go","payload":"p"},`, 3)+`{"type":"postback","text":"Go","payload":"p"}]`) + `]}}`, 400, "bad_request: content.items[0].actions must hold 1 to 3"},
		{"reply in carousel", `{"author":{"type":"business"},"content":{"type":"carousel","items":[` + item("T", `[{"type":"reply","text":"R","payload":"p"}]`) + `]}}`, 400, `bad_request: content.items[0].actions[0].type "reply"`},
		{"nested metadata", `{"author":{"type":"business"},"content":{"type":"text","text":"Hi"},"metadata":{"a":{"b":1}}}`, 400, "bad_request: metadata.a"},
		{"not json", `{"author":`, 400, "bad_request: Request body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake()
			got := call(s, http.MethodPost, msgs, tc.body, true)
			if got.status != tc.status || !strings.HasPrefix(errCode(got), tc.code) {
				t.Fatalf("got %d %q, want %d %q", got.status, errCode(got), tc.status, tc.code)
			}
			if tc.status == 201 {
				if m, _ := got.body["messages"].([]any); len(m) != 1 {
					t.Fatalf("answer %v", got.body)
				}
			}
		})
	}
}

func TestAuthAndRoutes(t *testing.T) {
	s := newFake()
	tests := []struct {
		name, method, path string
		auth               bool
		status             int
		code               string
	}{
		{"no auth", http.MethodGet, "/v2/apps/app1/conversations/conv1", false, 401, "unauthorized"},
		{"other app", http.MethodGet, "/v2/apps/app2/conversations/conv1", true, 403, "forbidden"},
		{"unknown conversation", http.MethodGet, "/v2/apps/app1/conversations/nope", true, 404, "conversation_not_found"},
		{"unknown path", http.MethodGet, "/v2/apps/app1/whatever/1", true, 404, "not_found"},
		{"wrong method", http.MethodDelete, "/v2/apps/app1/conversations/conv1/passControl", true, 404, "not_found"},
		{"get conversation", http.MethodGet, "/v2/apps/app1/conversations/conv1", true, 200, ""},
		{"participants", http.MethodGet, "/v2/apps/app1/conversations/conv1/participants", true, 200, ""},
		{"user by id", http.MethodGet, "/v2/apps/app1/users/user1", true, 200, ""},
		{"user by external id", http.MethodGet, "/v2/apps/app1/users/ext-1", true, 200, ""},
		{"unknown user", http.MethodGet, "/v2/apps/app1/users/nobody", true, 404, "user_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := call(s, tc.method, tc.path, "", tc.auth)
			if got.status != tc.status || !strings.HasPrefix(errCode(got), tc.code) {
				t.Fatalf("got %d %q, want %d %q", got.status, errCode(got), tc.status, tc.code)
			}
		})
	}
	if n := len(s.Calls()); n != len(tests) {
		t.Errorf("recorded %d calls", n)
	}
}

func TestFaults(t *testing.T) {
	s := newFake()
	s.Fail("PostMessage", Fault{Status: 429, RetryAfter: "4", Times: 2, After: 1})
	body := `{"author":{"type":"business"},"content":{"type":"text","text":"Hi"}}`
	var statuses []int
	for i := 0; i < 4; i++ {
		a := call(s, http.MethodPost, msgs, body, true)
		statuses = append(statuses, a.status)
		if a.status == 429 && (a.header.Get("Retry-After") != "4" || errCode(a) != "too_many_requests: Rate limit exceeded") {
			t.Errorf("429 answer %v %q", a.header, errCode(a))
		}
	}
	if want := []int{201, 429, 429, 201}; !equal(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	// Auth comes before faults.
	s.Fail("GetConversation", Fault{Status: 500})
	if a := call(s, http.MethodGet, "/v2/apps/app1/conversations/conv1", "", false); a.status != 401 {
		t.Fatalf("fault before auth: %d", a.status)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSwitchboardAndMetadata(t *testing.T) {
	s := newFake()
	pc := "/v2/apps/app1/conversations/conv1/passControl"
	for _, tc := range []struct {
		body, active string
		status       int
	}{
		{`{"switchboardIntegration":"zd:agentWorkspace","metadata":{"first_message_id":"m1"}}`, AgentSwitchboardName, 200},
		{`{"switchboardIntegration":"next"}`, BotSwitchboardName, 200},
		{`{"switchboardIntegration":"custom"}`, BotSwitchboardName, 200},
		{`{"switchboardIntegration":"nobody"}`, BotSwitchboardName, 400},
		{`{}`, BotSwitchboardName, 400},
		{`{"switchboardIntegration":"zd-agentWorkspace","metadata":{"x":[1]}}`, BotSwitchboardName, 400},
	} {
		if a := call(s, http.MethodPost, pc, tc.body, true); a.status != tc.status {
			t.Fatalf("%s: %d %q", tc.body, a.status, errCode(a))
		}
		if c, _ := s.Conversation(conv); c.Active.Name != tc.active {
			t.Fatalf("%s: active %s, want %s", tc.body, c.Active.Name, tc.active)
		}
	}

	patch := "/v2/apps/app1/conversations/conv1"
	if a := call(s, http.MethodPatch, patch, `{"metadata":{"tags":"a b","n":1}}`, true); a.status != 200 {
		t.Fatalf("patch: %d %q", a.status, errCode(a))
	}
	if a := call(s, http.MethodPatch, patch, `{"metadata":{"tags":"c"}}`, true); a.status != 200 {
		t.Fatal(a.status)
	}
	if c, _ := s.Conversation(conv); len(c.Metadata) != 1 || c.Metadata["tags"] != "c" {
		t.Fatalf("PATCH must replace metadata: %v", c.Metadata)
	}
	if a := call(s, http.MethodPatch, patch, `{"metadata":{"big":"`+strings.Repeat("x", 4100)+`"}}`, true); a.status != 400 {
		t.Fatalf("4 KB limit: %d", a.status)
	}
	if a := call(s, http.MethodPatch, patch, `{"owner":"x"}`, true); a.status != 400 {
		t.Fatalf("unknown property: %d", a.status)
	}
}

func TestActivity(t *testing.T) {
	s := newFake()
	path := "/v2/apps/app1/conversations/conv1/activity"
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"author":{"type":"business"},"type":"typing:start"}`, 200},
		{`{"author":{"type":"business"},"type":"typing:stop"}`, 200},
		{`{"author":{"type":"user","userId":"user1"},"type":"conversation:read"}`, 200},
		{`{"author":{"type":"user","userId":"user1"},"type":"typing:start"}`, 400},
		{`{"type":"typing:start"}`, 400},
		{`{"author":{"type":"business"},"type":"dancing"}`, 400},
	} {
		if a := call(s, http.MethodPost, path, tc.body, true); a.status != tc.status {
			t.Errorf("%s: %d %q, want %d", tc.body, a.status, errCode(a), tc.status)
		}
	}
}

func TestDeliverEnvelope(t *testing.T) {
	s := newFake()
	var got struct {
		key  string
		body Envelope
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.key = r.Header.Get("X-API-Key")
		_ = json.NewDecoder(r.Body).Decode(&got.body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	ev := s.UserText(conv, usr, "hello")
	status, err := s.Deliver(context.Background(), srv.URL, "whsecret", ev, s.ReleaseControl(conv, "ticketClosed"))
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("%d %v", status, err)
	}
	if got.key != "whsecret" || got.body.App["id"] != app || got.body.Webhook["version"] != "v2" || len(got.body.Events) != 2 {
		t.Fatalf("delivery %+v", got)
	}
	e := got.body.Events[0]
	m := e.Payload["message"].(map[string]any)
	if e.Type != "conversation:message" || len(e.ID) != 24 || m["content"].(map[string]any)["text"] != "hello" || m["author"].(map[string]any)["type"] != "user" {
		t.Fatalf("event %+v", e)
	}
	if _, ok := got.body.Events[1].Payload["conversation"].(map[string]any)["activeSwitchboardIntegration"]; ok {
		t.Fatal("released conversation still has an active integration")
	}
	// The user's message is in the history the API lists.
	a := call(s, http.MethodGet, msgs, "", true)
	if list, _ := a.body["messages"].([]any); len(list) != 1 {
		t.Fatalf("history %v", a.body)
	}
}
