package ultimatetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

const (
	botID   = "618a30beee4e8e87d2f94015"
	apiKey  = "test-api-key-1234"
	secret  = "webhook-secret-5678"
	pcid    = "web:acme:conv-1"
	hex24RE = "^[0-9a-f]{24}$"
)

// fakeClock is the injectable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// hook is one webhook call as our side saw it.
type hook struct {
	Header http.Header
	Query  url.Values
	Body   []byte
	PCID   string         // data.platformConversationId, or the action's
	Event  string         // data.eventType, or "action:<name>"
	Data   map[string]any // the converse data object; nil for actions
	Doc    map[string]any // the whole body
}

// receiver plays our side: it records webhooks, verifies their
// authentication, notes overlapping calls per conversation and answers
// with answer (default 200, empty body).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	scheme webhookauth.Scheme
	secret string

	mu       sync.Mutex
	hooks    []hook
	inflight map[string]int
	overlaps int
	answer   func(h hook) (int, string)
	delay    time.Duration
}

func newReceiver(t *testing.T, scheme webhookauth.Scheme, secret string) *receiver {
	rc := &receiver{t: t, scheme: scheme, secret: secret, inflight: map[string]int{}}
	rc.srv = httptest.NewServer(rc)
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := hook{Header: r.Header.Clone(), Query: r.URL.Query(), Body: body}
	if err := json.Unmarshal(body, &h.Doc); err != nil {
		rc.t.Errorf("webhook body is not a JSON object: %v: %s", err, body)
	}
	if data, ok := h.Doc["data"].(map[string]any); ok {
		h.Data = data
		h.PCID, _ = data["platformConversationId"].(string)
		h.Event, _ = data["eventType"].(string)
	} else {
		h.PCID, _ = h.Doc["platformConversationId"].(string)
		name, _ := h.Doc["name"].(string)
		h.Event = "action:" + name
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("webhook %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	err := webhookauth.Verify(rc.scheme, []string{rc.secret}, webhookauth.Request{Header: r.Header.Get, Query: r.URL.Query().Get, Body: body})
	if err != nil {
		rc.t.Errorf("webhook authentication: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	// Our side's parser must accept everything the fake sends.
	if _, err := ultimate.ParseWebhook(body); err != nil {
		rc.t.Errorf("ultimate.ParseWebhook rejects the fake's webhook: %v: %s", err, body)
	}

	key := h.PCID
	if h.Event == ultimate.EventIsTeamOnline {
		key = "" // no platformConversationId in isTeamOnline
	}
	rc.mu.Lock()
	rc.inflight[key]++
	if rc.inflight[key] > 1 {
		rc.overlaps++
	}
	rc.hooks = append(rc.hooks, h)
	answer, delay := rc.answer, rc.delay
	rc.mu.Unlock()

	time.Sleep(delay)
	status, resp := http.StatusOK, ""
	if answer != nil {
		status, resp = answer(h)
	}

	rc.mu.Lock()
	rc.inflight[key]--
	rc.mu.Unlock()
	w.WriteHeader(status)
	_, _ = io.WriteString(w, resp)
}

func (rc *receiver) setAnswer(f func(h hook) (int, string)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = f
}

// answerFor answers by event: events not in m get 200 with an empty body.
func answerFor(m map[string]string, status int) func(h hook) (int, string) {
	return func(h hook) (int, string) {
		if body, ok := m[h.Event]; ok {
			return status, body
		}
		return http.StatusOK, ""
	}
}

func (rc *receiver) overlapCount() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.overlaps
}

func (rc *receiver) calls() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hook(nil), rc.hooks...)
}

// transcript summarises a conversation's webhooks: a sendMessage as its
// text, anything else as "<event>".
func (rc *receiver) transcript(pcid string) []string {
	var out []string
	for _, h := range rc.calls() {
		if h.PCID != pcid && h.Event != ultimate.EventIsTeamOnline {
			continue
		}
		if h.Event == ultimate.EventSendMessage {
			text, _ := h.Data["text"].(string)
			out = append(out, text)
		} else {
			out = append(out, "<"+h.Event+">")
		}
	}
	return out
}

// env is a fake AI agent on an httptest server wired to a receiver.
type env struct {
	t     *testing.T
	fake  *Server
	api   *httptest.Server
	recv  *receiver
	clock *fakeClock
	agent Agent
	logs  *syncBuffer
}

// newEnv builds an env; mod may change the agent and options before New.
func newEnv(t *testing.T, mod ...func(*Agent, *Options)) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), logs: &syncBuffer{}}
	e.agent = Agent{ID: botID, APIKey: apiKey, WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}, WebhookSecret: secret}
	opts := Options{Now: e.clock.Now, Log: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	e.recv = newReceiver(t, webhookauth.Scheme{}, "")
	e.agent.WebhookURL = e.recv.srv.URL + "/webhook"
	for _, m := range mod {
		m(&e.agent, &opts)
	}
	e.recv.scheme, e.recv.secret = e.agent.WebhookAuth, e.agent.WebhookSecret
	opts.Agents = append([]Agent{e.agent}, opts.Agents...)
	e.fake = New(opts)
	e.api = httptest.NewServer(e.fake.Handler())
	t.Cleanup(func() {
		e.api.Close()
		_ = e.fake.Close()
	})
	return e
}

// do sends body to path with the valid headers, changed by mod.
func (e *env) do(method, path, body string, mod func(http.Header)) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.api.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("botid", botID)
	req.Header.Set("Authorization", apiKey)
	req.Header.Set("Content-Type", "application/json")
	if mod != nil {
		mod(req.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// chat sends a Chat API event and requires the 200 acknowledgement.
func (e *env) chat(pcid, eventType string, fields map[string]any) {
	e.t.Helper()
	e.mustPost(ChatPath, pcid, eventType, fields)
}

// widget sends a widget API event and requires the 200 acknowledgement.
func (e *env) widget(pcid, eventType string, fields map[string]any) {
	e.t.Helper()
	e.mustPost(WidgetPath, pcid, eventType, fields)
}

func (e *env) mustPost(path, pcid, eventType string, fields map[string]any) {
	e.t.Helper()
	status, body := e.do(http.MethodPost, path, eventJSON(pcid, eventType, fields), nil)
	if status != http.StatusOK || body != "" {
		e.t.Fatalf("%s %s: got %d %q, want 200 with an empty body", path, eventType, status, body)
	}
}

func (e *env) say(pcid, text string) {
	e.t.Helper()
	e.chat(pcid, ultimate.EventMessage, map[string]any{"text": text})
}

// waitBound limits every wait for an event: reaching it is a failure, and
// passing runs end far sooner, on the event, however loaded the machine.
const waitBound = time.Minute

// wait waits for every queued webhook.
func (e *env) wait() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	if err := e.fake.WaitIdle(ctx); err != nil {
		e.t.Fatalf("WaitIdle: %v", err)
	}
}

func eventJSON(pcid, eventType string, fields map[string]any) string {
	m := map[string]any{"platformConversationId": pcid, "eventType": eventType}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
