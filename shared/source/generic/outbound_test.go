package generic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// delivery is one callback the fake tenant received and verified.
type delivery struct {
	id        string
	typ       string
	timestamp string
	data      map[string]any
	header    http.Header
}

type answer struct {
	status     int
	body       string
	retryAfter string
}

// tenantServer is the tenant's callback endpoint. It verifies every request
// the way a tenant must (Standard Webhooks, with the callback secret, at the
// adapter's clock) and answers scripted replies in turn (200 with an empty
// body once they run out). A request that fails verification is a test
// failure, answered 401.
type tenantServer struct {
	t       *testing.T
	mu      sync.Mutex
	answers []answer
	got     []delivery
	srv     *httptest.Server
}

func newTenant(t *testing.T, answers ...answer) *tenantServer {
	ts := &tenantServer{t: t, answers: answers}
	secret := mustSecret(t, callbackSecret)
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := stdwebhook.Verify([]stdwebhook.Secret{secret}, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
			r.Header.Get("webhook-signature"), body, testNow, 0)
		if err != nil {
			t.Errorf("callback signature does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "crmbridge" {
			t.Errorf("request %s, Content-Type %q, User-Agent %q", r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"))
		}
		var env struct {
			Type      string         `json:"type"`
			Timestamp string         `json:"timestamp"`
			Data      map[string]any `json:"data"`
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil {
			t.Errorf("callback body %s: %v", body, err)
		}
		ts.mu.Lock()
		ts.got = append(ts.got, delivery{id: r.Header.Get("webhook-id"), typ: env.Type, timestamp: env.Timestamp, data: env.Data, header: r.Header.Clone()})
		a := answer{status: 200}
		if len(ts.answers) > 0 {
			a, ts.answers = ts.answers[0], ts.answers[1:]
		}
		ts.mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tenantServer) deliveries() []delivery {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]delivery(nil), ts.got...)
}

func (ts *tenantServer) adapter() *Adapter {
	return &Adapter{HTTP: localEgress(), Now: func() time.Time { return testNow }}
}

func (ts *tenantServer) account() *source.Account { return account(ts.srv.URL + "/hook") }

// localEgress is the local stack's client: the fake tenant listens on
// 127.0.0.1. Its clock is the adapter's, for Retry-After dates.
func localEgress() *egress.Client {
	return egress.New(egress.Options{Local: true, Now: func() time.Time { return testNow }})
}

var conv = source.Conversation{Source: "generic", Account: "acme", ID: "c-1"}

// asJSON re-encodes v so tests compare decoded bodies as canonical JSON.
func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSend(t *testing.T) {
	ts := newTenant(t)
	msg := ultimate.Message{
		Type: "text", Text: "Pick one", MessageID: "65a0c1f2e4b0a1b2c3d4e5f6", ReplyID: "r-1",
		Buttons: []ultimate.Button{
			{Text: "Track", Type: "button"},
			{Text: "Docs", Type: "link", Link: "https://docs.example.com"},
			{Text: "Shop", Type: "link", URL: "https://shop.example.com", Link: "https://ignored.example.com"},
			{Text: "Untyped"},
		},
	}
	p := &source.Progress{}
	if err := ts.adapter().Send(context.Background(), ts.account(), conv, msg, p); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := ts.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries", len(got))
	}
	d := got[0]
	if d.typ != "message" || d.timestamp != "2025-06-01T12:00:00Z" || d.id != "msg_65a0c1f2e4b0a1b2c3d4e5f6" {
		t.Fatalf("type %q timestamp %q id %q", d.typ, d.timestamp, d.id)
	}
	want := `{"conversationId":"c-1","message":{"buttons":[{"text":"Track","type":"button"},{"text":"Docs","type":"link","url":"https://docs.example.com"},` +
		`{"text":"Shop","type":"link","url":"https://shop.example.com"},{"text":"Untyped","type":"button"}],"messageId":"65a0c1f2e4b0a1b2c3d4e5f6",` +
		`"replyId":"r-1","text":"Pick one","type":"text"},"platformConversationId":"generic:acme:c-1"}`
	if asJSON(d.data) != want {
		t.Fatalf("data\n got %s\nwant %s", asJSON(d.data), want)
	}
	if p.Sent != 1 || p.ID != d.id {
		t.Fatalf("progress %+v", p)
	}
	// Already delivered: a retry of the whole job sends nothing.
	if err := ts.adapter().Send(context.Background(), ts.account(), conv, msg, p); err != nil || len(ts.deliveries()) != 1 {
		t.Fatalf("resend: %v, %d deliveries", err, len(ts.deliveries()))
	}
	// The caller's message is not modified by normalization.
	if msg.Buttons[1].URL != "" || msg.Buttons[3].Type != "" {
		t.Fatalf("Send changed the caller's buttons: %+v", msg.Buttons)
	}
}

func TestSendCarousel(t *testing.T) {
	ts := newTenant(t)
	msg := ultimate.Message{Type: "carousel", CarouselCards: []ultimate.Card{
		{Title: "Shoes", ImageURL: "https://img.example.com/1.png", Buttons: []ultimate.Button{{Text: "Buy", Type: "link", Link: "https://shop.example.com/1"}}},
		{Title: "Socks", Description: "Warm"},
	}}
	if err := ts.adapter().Send(context.Background(), ts.account(), conv, msg, nil); err != nil {
		t.Fatal(err)
	}
	d := ts.deliveries()[0]
	want := `{"carouselCards":[{"buttons":[{"text":"Buy","type":"link","url":"https://shop.example.com/1"}],"imageUrl":"https://img.example.com/1.png","title":"Shoes"},` +
		`{"description":"Warm","title":"Socks"}],"type":"carousel"}`
	if got := asJSON(d.data["message"]); got != want {
		t.Fatalf("message\n got %s\nwant %s", got, want)
	}
	if !regexp.MustCompile(`^msg_[0-9a-f]{32}$`).MatchString(d.id) {
		t.Fatalf("webhook-id %q for a message without messageId", d.id)
	}
}

// The vendor's Button {text, type} has no URL field. A link without one
// follows the bridge's rule on every adapter: its label is a line of text
// (of the message, or of the card's description), never a button.
func TestSendLinkWithoutURL(t *testing.T) {
	ts := newTenant(t)
	msg := ultimate.Message{Type: "text", Text: "Need more?", Buttons: []ultimate.Button{
		{Text: "Yes", Type: "button"}, {Text: "Help centre", Type: "link"}, {Text: "Docs", Type: "link", URL: "https://docs.example.com"},
	}, CarouselCards: []ultimate.Card{{Title: "Plan", Description: "Gold", Buttons: []ultimate.Button{{Text: "Terms", Type: "link"}}}}}
	if err := ts.adapter().Send(context.Background(), ts.account(), conv, msg, nil); err != nil {
		t.Fatal(err)
	}
	want := `{"buttons":[{"text":"Yes","type":"button"},{"text":"Docs","type":"link","url":"https://docs.example.com"}],` +
		`"carouselCards":[{"description":"Gold\nTerms","title":"Plan"}],"text":"Need more?\nHelp centre","type":"text"}`
	if got := asJSON(ts.deliveries()[0].data["message"]); got != want {
		t.Fatalf("message\n got %s\nwant %s", got, want)
	}
}

func TestSendWebhookIDs(t *testing.T) {
	tests := []struct {
		messageID string
		want      string // regexp
	}{
		{messageID: "65a0c1f2e4b0a1b2c3d4e5f6", want: `^msg_65a0c1f2e4b0a1b2c3d4e5f6$`},
		{messageID: "m_1-2", want: `^msg_m_1-2$`},
		{messageID: "", want: `^msg_[0-9a-f]{32}$`},
		// A '.' would make the signature unverifiable; control characters
		// cannot go in a header. Such ids are hashed, stably.
		{messageID: "msg.1", want: `^msg_[0-9a-f]{32}$`},
		{messageID: "a\nb", want: `^msg_[0-9a-f]{32}$`},
		{messageID: strings.Repeat("x", 101), want: `^msg_[0-9a-f]{32}$`},
	}
	for _, tt := range tests {
		t.Run(tt.messageID, func(t *testing.T) {
			ts := newTenant(t)
			for range 2 {
				if err := ts.adapter().Send(context.Background(), ts.account(), conv, ultimate.Message{Type: "text", Text: "x", MessageID: tt.messageID}, &source.Progress{}); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			got := ts.deliveries()
			if len(got) != 2 || !regexp.MustCompile(tt.want).MatchString(got[0].id) {
				t.Fatalf("webhook-ids %q, want %s", []string{got[0].id}, tt.want)
			}
			if same := got[0].id == got[1].id; same != (tt.messageID != "") {
				t.Fatalf("ids %q and %q: same %v", got[0].id, got[1].id, same)
			}
		})
	}
}

func TestSendRetryKeepsWebhookID(t *testing.T) {
	ts := newTenant(t, answer{status: 503, body: "busy", retryAfter: "2"}, answer{status: 500})
	a := ts.adapter()
	p := &source.Progress{}
	var waits []time.Duration
	pol := retry.Policy{Attempts: 3, Base: time.Millisecond, Jitter: func() float64 { return 0 },
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	err := pol.Do(context.Background(), func(ctx context.Context, _ int) error {
		return a.Send(ctx, ts.account(), conv, ultimate.Message{Type: "text", Text: "x"}, p)
	})
	if err != nil {
		t.Fatalf("Send with retries: %v", err)
	}
	got := ts.deliveries()
	if len(got) != 3 {
		t.Fatalf("%d deliveries", len(got))
	}
	for _, d := range got {
		if d.id != p.ID {
			t.Fatalf("webhook-id %q changed across retries (progress %q)", d.id, p.ID)
		}
	}
	if p.Sent != 1 {
		t.Fatalf("progress %+v", p)
	}
	if len(waits) != 2 || waits[0] != 2*time.Second || waits[1] != 0 {
		t.Fatalf("waits %v, want the Retry-After then the backoff", waits)
	}
}

func TestCallStatuses(t *testing.T) {
	long := strings.Repeat("e", 400)
	tests := []struct {
		name      string
		ans       answer
		ok        bool
		status    int
		reason    string
		retryable bool
		after     time.Duration
	}{
		{name: "200", ans: answer{status: 200}, ok: true},
		{name: "202", ans: answer{status: 202, body: "queued"}, ok: true},
		{name: "204", ans: answer{status: 204}, ok: true},
		{name: "400", ans: answer{status: 400, body: ` {"error":"ada@example.com is not a customer"} `}, status: 400},
		{name: "401", ans: answer{status: 401}, status: 401},
		{name: "404", ans: answer{status: 404, body: long}, status: 404},
		{name: "409", ans: answer{status: 409, retryAfter: "5"}, status: 409},
		{name: "408", ans: answer{status: 408}, status: 408, retryable: true},
		{name: "429", ans: answer{status: 429, retryAfter: "3"}, status: 429, retryable: true, after: 3 * time.Second},
		{name: "429 capped", ans: answer{status: 429, retryAfter: "3600"}, status: 429, retryable: true, after: egress.MaxRetryAfter},
		{name: "500", ans: answer{status: 500, body: "oops"}, status: 500, retryable: true},
		{name: "503 with a past date", ans: answer{status: 503, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"}, status: 503, retryable: true},
		{name: "503 with a date", ans: answer{status: 503, retryAfter: testNow.Add(4 * time.Second).Format(http.TimeFormat)}, status: 503, retryable: true, after: 4 * time.Second},
		{name: "302 is not followed", ans: answer{status: 302}, status: 302, reason: "redirect not followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTenant(t, tt.ans)
			err := ts.adapter().Escalate(context.Background(), ts.account(), conv, source.HandoverRequest{AgentID: "agent-1", EscalateTo: "tier2"})
			if tt.ok {
				if err != nil {
					t.Fatalf("Escalate: %v", err)
				}
				return
			}
			var he *egress.StatusError
			if !errors.As(err, &he) {
				t.Fatalf("err %v is not an *egress.StatusError", err)
			}
			if he.Op != "escalation.requested callback" || he.Status != tt.status || he.Reason != tt.reason {
				t.Fatalf("StatusError %+v", he)
			}
			if b := strings.TrimSpace(tt.ans.body); b != "" && strings.Contains(err.Error(), b[:min(len(b), 20)]) {
				t.Fatalf("the error carries the answer body: %v", err)
			}
			if retry.IsRetryable(err) != tt.retryable {
				t.Fatalf("retryable %v", retry.IsRetryable(err))
			}
			if tt.retryable {
				var waited time.Duration
				pol := retry.Policy{Attempts: 2, Sleep: func(_ context.Context, d time.Duration) error { waited = d; return nil }}
				_ = pol.Do(context.Background(), func(context.Context, int) error { return err })
				if waited != tt.after {
					t.Fatalf("Retry-After gave a wait of %v, want %v", waited, tt.after)
				}
			}
		})
	}
}

func TestCallTransportAndTimeout(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	a := &Adapter{HTTP: localEgress(), Now: func() time.Time { return testNow }}
	err := a.Escalate(context.Background(), account(url), conv, source.HandoverRequest{})
	if err == nil || !retry.IsRetryable(err) {
		t.Fatalf("connection refused: %v, want retryable", err)
	}

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	// The server answers only when the request ends: a DeadlineExceeded
	// proves the caller's deadline was applied (without it, the call hangs).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = a.Escalate(ctx, account(slow.URL), conv, source.HandoverRequest{})
	if !errors.Is(err, context.DeadlineExceeded) || !retry.IsRetryable(err) {
		t.Fatalf("timeout: %v", err)
	}
}

func TestCallMisconfiguredAccount(t *testing.T) {
	a := &Adapter{Now: func() time.Time { return testNow }}
	tests := []struct {
		name string
		acct *source.Account
		want string
	}{
		{name: "unparsed settings", acct: func() *source.Account {
			ac := account("https://t.example.com")
			ac.Source.Settings = json.RawMessage(`{"callbackUrl":"https://t.example.com"}`)
			return ac
		}(), want: "account generic/acme: settings are json.RawMessage, not the adapter's parsed *generic.Settings"},
		{name: "no settings", acct: func() *source.Account { ac := account("https://t.example.com"); ac.Settings = nil; return ac }(), want: "account generic/acme: settings are <nil>"},
		{name: "no credentials", acct: func() *source.Account { ac := account("https://t.example.com"); ac.Credentials = nil; return ac }(), want: "no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.WidgetEndSession(context.Background(), tt.acct, conv)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || retry.IsRetryable(err) {
				t.Fatalf("err %v, want a permanent %q", err, tt.want)
			}
		})
	}
}

func TestEscalateAndWidgetEvents(t *testing.T) {
	tests := []struct {
		name string
		call func(a *Adapter, acct *source.Account) error
		typ  string
		data string
	}{
		{name: "escalate", call: func(a *Adapter, acct *source.Account) error {
			return a.Escalate(context.Background(), acct, conv, source.HandoverRequest{AgentID: "agent-1", EscalateTo: "tier2"})
		}, typ: "escalation.requested", data: `{"context":{},"conversationId":"c-1","escalateTo":"tier2","platformConversationId":"generic:acme:c-1","reason":"escalate"}`},
		{name: "escalate without target", call: func(a *Adapter, acct *source.Account) error {
			return a.Escalate(context.Background(), acct, conv, source.HandoverRequest{})
		}, typ: "escalation.requested", data: `{"context":{},"conversationId":"c-1","platformConversationId":"generic:acme:c-1","reason":"escalate"}`},
		{name: "widget escalate", call: func(a *Adapter, acct *source.Account) error {
			return a.WidgetEscalate(context.Background(), acct, conv, source.HandoverRequest{EscalateTo: "desk"})
		}, typ: "widget.escalation", data: `{"context":{},"conversationId":"c-1","escalateTo":"desk","platformConversationId":"generic:acme:c-1","reason":"escalate"}`},
		{name: "widget message", call: func(a *Adapter, acct *source.Account) error {
			return a.WidgetMessage(context.Background(), acct, conv, "Anyone there?")
		}, typ: "widget.message", data: `{"conversationId":"c-1","platformConversationId":"generic:acme:c-1","text":"Anyone there?"}`},
		{name: "widget end session", call: func(a *Adapter, acct *source.Account) error {
			return a.WidgetEndSession(context.Background(), acct, conv)
		}, typ: "widget.sessionEnded", data: `{"conversationId":"c-1","platformConversationId":"generic:acme:c-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTenant(t)
			if err := tt.call(ts.adapter(), ts.account()); err != nil {
				t.Fatal(err)
			}
			d := ts.deliveries()[0]
			if d.typ != tt.typ || asJSON(d.data) != tt.data {
				t.Fatalf("got %s %s\nwant %s %s", d.typ, asJSON(d.data), tt.typ, tt.data)
			}
			if !regexp.MustCompile(`^msg_[0-9a-f]{32}$`).MatchString(d.id) {
				t.Fatalf("webhook-id %q", d.id)
			}
			// A failure is reported, not swallowed.
			ts2 := newTenant(t, answer{status: 422})
			var he *egress.StatusError
			if err := tt.call(ts2.adapter(), ts2.account()); !errors.As(err, &he) || he.Status != 422 {
				t.Fatalf("422 answer: %v", err)
			}
		})
	}
}

func TestTeamOnline(t *testing.T) {
	tests := []struct {
		name   string
		ans    answer
		online bool
		bad    bool
		status int
	}{
		{name: "online", ans: answer{status: 200, body: `{"isOnline":true}`}, online: true},
		{name: "offline", ans: answer{status: 200, body: `{"isOnline":false,"extra":1}`}},
		{name: "empty body", ans: answer{status: 200}, bad: true, status: 200},
		{name: "no isOnline", ans: answer{status: 200, body: `{}`}, bad: true, status: 200},
		{name: "null isOnline", ans: answer{status: 200, body: `{"isOnline":null}`}, bad: true, status: 200},
		{name: "isOnline a string", ans: answer{status: 200, body: `{"isOnline":"true"}`}, bad: true, status: 200},
		{name: "not JSON", ans: answer{status: 200, body: `online`}, bad: true, status: 200},
		{name: "404", ans: answer{status: 404}, bad: true, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTenant(t, tt.ans)
			online, err := ts.adapter().TeamOnline(context.Background(), ts.account(), source.TeamQuery{TeamID: "billing"})
			d := ts.deliveries()[0]
			if d.typ != "team.status" || asJSON(d.data) != `{"teamId":"billing"}` {
				t.Fatalf("sent %s %s", d.typ, asJSON(d.data))
			}
			if !tt.bad {
				if err != nil || online != tt.online {
					t.Fatalf("TeamOnline = %v, %v", online, err)
				}
				return
			}
			var he *egress.StatusError
			if !errors.As(err, &he) || he.Status != tt.status || online || retry.IsRetryable(err) {
				t.Fatalf("TeamOnline = %v, %v", online, err)
			}
			if tt.status == 200 && he.Reason != `answer must be {"isOnline": true|false}` {
				t.Fatalf("reason %q", he.Reason)
			}
		})
	}
	ts := newTenant(t, answer{status: 200, body: `{"isOnline":true}`})
	if _, err := ts.adapter().TeamOnline(context.Background(), ts.account(), source.TeamQuery{}); err != nil {
		t.Fatal(err)
	}
	if got := asJSON(ts.deliveries()[0].data); got != `{}` {
		t.Fatalf("data without team %s", got)
	}
}

func TestBuiltin(t *testing.T) {
	req := source.ActionRequest{AgentID: "agent-1", Name: "lookupOrder", Builtin: "forward",
		Params: []ultimate.ActionParam{{Key: "orderId", Value: []string{"o-1"}, SaveAs: "order"}}, Attrs: map[string]string{"x": "y"}}
	tests := []struct {
		name    string
		req     source.ActionRequest
		ans     answer
		want    []ultimate.ActionResult
		invalid string // the answer is refused with a 502 naming this
		sent    string
		status  int // non-zero: the call fails with this HTTP status
		retryOK bool
	}{
		// The AI agent stores string values (the template's swagger):
		// numbers and booleans are coerced to their JSON text.
		{name: "results", req: req, ans: answer{status: 200, body: `{"results":[{"key":"status","value":"shipped","sanitize":true},{"key":"count","value":3},{"key":"ratio","value":0.25},{"key":"vip","value":false,"sanitize":null}]}`},
			want: []ultimate.ActionResult{{Key: "status", Value: "shipped", Sanitize: true}, {Key: "count", Value: "3"}, {Key: "ratio", Value: "0.25"}, {Key: "vip", Value: "false"}},
			sent: `{"builtin":"forward","conversationId":"c-1","name":"lookupOrder","params":[{"key":"orderId","saveAs":"order","value":["o-1"]}],"platformConversationId":"generic:acme:c-1"}`},
		{name: "empty body", req: source.ActionRequest{Name: "ping", Builtin: "forward"}, ans: answer{status: 204}, want: []ultimate.ActionResult{},
			sent: `{"builtin":"forward","conversationId":"c-1","name":"ping","params":[],"platformConversationId":"generic:acme:c-1"}`},
		{name: "whitespace body", req: req, ans: answer{status: 200, body: " \n"}, want: []ultimate.ActionResult{}},
		{name: "no results key", req: req, ans: answer{status: 200, body: `{}`}, want: []ultimate.ActionResult{}},
		{name: "null results", req: req, ans: answer{status: 200, body: `{"results":null}`}, want: []ultimate.ActionResult{}},
		{name: "not JSON", req: req, ans: answer{status: 200, body: `ok`}, invalid: `answer must be {"results": [...]}`},
		{name: "results an object", req: req, ans: answer{status: 200, body: `{"results":{"key":"a"}}`}, invalid: `answer must be {"results": [...]}`},
		{name: "empty key", req: req, ans: answer{status: 200, body: `{"results":[{"key":"a","value":"1"},{"value":"2"}]}`}, invalid: "results[1].key: required"},
		{name: "key a number", req: req, ans: answer{status: 200, body: `{"results":[{"key":1,"value":"1"}]}`}, invalid: "results[0].key: required"},
		{name: "empty value", req: req, ans: answer{status: 200, body: `{"results":[{"key":"a","value":""}]}`}, invalid: "results[0].value: must be a non-empty string"},
		{name: "no value", req: req, ans: answer{status: 200, body: `{"results":[{"key":"a"}]}`}, invalid: "results[0].value: must be a non-empty string"},
		{name: "null value", req: req, ans: answer{status: 200, body: `{"results":[{"key":"a","value":null}]}`}, invalid: "results[0].value: must be a non-empty string"},
		{name: "object value", req: req, ans: answer{status: 200, body: `{"results":[{"key":"a","value":{"x":1}}]}`}, invalid: "results[0].value: must be a non-empty string, a number or a boolean"},
		{name: "array value", req: req, ans: answer{status: 200, body: `{"results":[{"key":"a","value":["x"]}]}`}, invalid: "results[0].value"},
		{name: "long value", req: req, ans: answer{status: 200, body: `{"results":[{"key":"a","value":"` + strings.Repeat("v", 1025) + `"}]}`}, invalid: "results[0].value: longer than 1024 bytes"},
		{name: "sanitize a string", req: req, ans: answer{status: 200, body: `{"results":[{"key":"a","value":"1","sanitize":"true"}]}`}, invalid: "results[0].sanitize: must be a boolean"},
		{name: "500", req: req, ans: answer{status: 500, body: "down"}, status: 500, retryOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTenant(t, tt.ans)
			got, err := ts.adapter().Builtin(context.Background(), ts.account(), conv, tt.req)
			d := ts.deliveries()[0]
			if d.typ != "action" {
				t.Fatalf("type %q", d.typ)
			}
			if tt.sent != "" && asJSON(d.data) != tt.sent {
				t.Fatalf("sent\n got %s\nwant %s", asJSON(d.data), tt.sent)
			}
			switch {
			case tt.invalid != "":
				var ae *apigw.Error
				if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || ae.Code != "invalid_action_answer" || !strings.Contains(ae.Message, tt.invalid) || retry.IsRetryable(err) {
					t.Fatalf("Builtin err %v, want a 502 invalid_action_answer naming %q", err, tt.invalid)
				}
			case tt.status != 0:
				var he *egress.StatusError
				if !errors.As(err, &he) || he.Status != tt.status || retry.IsRetryable(err) != tt.retryOK {
					t.Fatalf("Builtin err %v", err)
				}
			default:
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Builtin = %#v, %v", got, err)
				}
				if err := ultimate.CheckResults(got); err != nil {
					t.Fatalf("results break the contract: %v", err)
				}
			}
		})
	}
}

// escalation.requested carries the reason and the documented context
// object; widget.escalation the same.
func TestEscalationContext(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 59, 0, 0, time.UTC)
	req := source.HandoverRequest{ID: "h1", EscalateTo: "billing", Context: source.HandoverContext{
		Reason: source.ReasonAgentUnavailable, Params: map[string]string{"plan": "gold", "email": "***"},
		Transcript: []source.Turn{{From: source.TurnVisitor, Text: "where is my parcel", At: at}, {From: source.TurnBot, Text: "Let me check.", At: at.Add(time.Second)}},
		Held:       []string{"hello?"},
	}}
	want := `{"context":{"held":["hello?"],"parameters":{"email":"***","plan":"gold"},` +
		`"transcript":[{"at":"2026-11-25T09:59:00Z","from":"visitor","text":"where is my parcel"},{"at":"2026-11-25T09:59:01Z","from":"bot","text":"Let me check."}]},` +
		`"conversationId":"c-1","escalateTo":"billing","platformConversationId":"generic:acme:c-1","reason":"agent_unavailable"}`
	for _, call := range []func(a *Adapter, acct *source.Account) error{
		func(a *Adapter, acct *source.Account) error { return a.Escalate(context.Background(), acct, conv, req) },
		func(a *Adapter, acct *source.Account) error {
			return a.WidgetEscalate(context.Background(), acct, conv, req)
		},
	} {
		ts := newTenant(t)
		if err := call(ts.adapter(), ts.account()); err != nil {
			t.Fatal(err)
		}
		if got := asJSON(ts.deliveries()[0].data); got != want {
			t.Fatalf("data\n got %s\nwant %s", got, want)
		}
	}
}

// Every outbound event with an ID the bridge keeps across retries and
// replays has a webhook-id derived from it, the same on every attempt, so
// the tenant can dedupe (Standard Webhooks: the id of a message is the same
// for its retries).
func TestStableWebhookIDs(t *testing.T) {
	tests := []struct {
		name string
		call func(a *Adapter, acct *source.Account) error
		want string
	}{
		{"escalation.requested", func(a *Adapter, acct *source.Account) error {
			return a.Escalate(context.Background(), acct, conv, source.HandoverRequest{ID: "5f0c9a"})
		}, "msg_5f0c9a"},
		{"widget.escalation", func(a *Adapter, acct *source.Account) error {
			return a.WidgetEscalate(context.Background(), acct, conv, source.HandoverRequest{ID: "5f0c9b"})
		}, "msg_5f0c9b"},
		{"team.status", func(a *Adapter, acct *source.Account) error {
			_, err := a.TeamOnline(context.Background(), acct, source.TeamQuery{ID: "q1", TeamID: "support"})
			return err
		}, "msg_q1"},
		{"action", func(a *Adapter, acct *source.Account) error {
			_, err := a.Builtin(context.Background(), acct, conv, source.ActionRequest{ID: "a1", Name: "x", Builtin: "forward"})
			return err
		}, "msg_a1"},
		{"an ID that is no token is hashed", func(a *Adapter, acct *source.Account) error {
			return a.Escalate(context.Background(), acct, conv, source.HandoverRequest{ID: "a.b"})
		}, webhookID("a.b")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTenant(t, answer{status: 503}, answer{status: 200, body: `{"isOnline":true}`})
			pol := retry.Policy{Attempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}
			a, acct := ts.adapter(), ts.account()
			if err := pol.Do(context.Background(), func(context.Context, int) error { return tt.call(a, acct) }); err != nil {
				t.Fatal(err)
			}
			got := ts.deliveries()
			if len(got) != 2 || got[0].id != tt.want || got[1].id != tt.want {
				t.Fatalf("webhook-ids %q, %q; want %s twice", got[0].id, got[len(got)-1].id, tt.want)
			}
			if !regexp.MustCompile(`^msg_[A-Za-z0-9_-]+$`).MatchString(got[0].id) {
				t.Fatalf("webhook-id %q is not a token", got[0].id)
			}
		})
	}
}
