package ultimate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
)

// rotatingKeys is a Keys fake: each ForgetAPIKey moves on to the next key,
// as if the operator had regenerated it.
type rotatingKeys struct {
	mu      sync.Mutex
	keys    []string
	i       int
	gets    int
	forgets int
	agents  []string
	err     error
}

func (k *rotatingKeys) APIKey(_ context.Context, agentID string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gets++
	k.agents = append(k.agents, agentID)
	if k.err != nil {
		return "", k.err
	}
	return k.keys[min(k.i, len(k.keys)-1)], nil
}

func (k *rotatingKeys) ForgetAPIKey(agentID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.forgets++
	k.agents = append(k.agents, "forget:"+agentID)
	k.i++
}

// seenRequest is what the fake AI agent received.
type seenRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

// reply is one scripted answer.
type reply struct {
	status     int
	body       string
	retryAfter string
}

// agent is a fake AI agent answering replies in turn (200 once they run
// out) and recording each request.
type agent struct {
	mu      sync.Mutex
	replies []reply
	seen    []seenRequest
}

func (a *agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.seen = append(a.seen, seenRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: b})
	rep := reply{status: 200}
	if len(a.replies) > 0 {
		rep, a.replies = a.replies[0], a.replies[1:]
	}
	a.mu.Unlock()
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (a *agent) requests() []seenRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]seenRequest(nil), a.seen...)
}

// harness is a client wired to a fake agent, with a policy whose sleeps are
// recorded instead of slept.
type harness struct {
	client *Client
	agent  *agent
	keys   *rotatingKeys
	waits  []time.Duration
	url    string
}

func newHarness(t *testing.T, replies ...reply) *harness {
	t.Helper()
	h := &harness{agent: &agent{replies: replies}, keys: &rotatingKeys{keys: []string{"key-1", "key-2", "key-3"}}}
	srv := httptest.NewServer(h.agent)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	h.client = &Client{
		HTTP:           egress.New(egress.Options{Local: true, Now: func() time.Time { return clockNow }}),
		Keys:           h.keys,
		DefaultBaseURL: srv.URL,
		Retry: retry.Policy{
			Attempts: 3, Base: time.Millisecond, Cap: time.Millisecond,
			Jitter: func() float64 { return 0.5 },
			Sleep: func(ctx context.Context, d time.Duration) error {
				h.waits = append(h.waits, d)
				return ctx.Err()
			},
		},
	}
	return h
}

// clockNow is the egress client's clock: Retry-After dates are read
// against it, never against the wall clock.
var clockNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

var target = Target{AgentID: "618a30beee4e8e87d2f94015"}

func TestChatRequest(t *testing.T) {
	h := newHarness(t)
	card := 1
	ev := ChatEvent{
		PlatformConversationID: "generic:acme:c-1", EventType: EventMessage, Text: "second", CardIndex: &card,
		MetaData: []MetaItem{{Key: "email", Value: "a@example.com", Sanitize: true}, {Key: "plan", Value: "gold"}},
	}
	if err := h.client.Chat(context.Background(), target, ev); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	reqs := h.agent.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/converse/chat" {
		t.Fatalf("%s %s", r.method, r.path)
	}
	// The documented headers, exactly: the raw key with no Bearer prefix.
	if got := r.header.Values("Authorization"); len(got) != 1 || got[0] != "key-1" {
		t.Fatalf("Authorization %q", got)
	}
	if got := r.header.Values("botid"); len(got) != 1 || got[0] != target.AgentID {
		t.Fatalf("botid %q", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Fatalf("Content-Type %q", got)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	want := `{"cardIndex":1,"eventType":"message","metaData":[{"key":"email","sanitize":true,"value":"a@example.com"},{"key":"plan","value":"gold"}],"platformConversationId":"generic:acme:c-1","text":"second"}`
	if got, _ := json.Marshal(body); string(got) != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if h.keys.agents[0] != target.AgentID {
		t.Fatalf("key fetched for %q", h.keys.agents[0])
	}
}

func TestChatBodyOmitsEmptyFields(t *testing.T) {
	h := newHarness(t)
	if err := h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventStartSession}); err != nil {
		t.Fatal(err)
	}
	if got := string(h.agent.requests()[0].body); got != `{"platformConversationId":"p","eventType":"startSession"}` {
		t.Fatalf("body %s", got)
	}
}

func TestWidgetRequest(t *testing.T) {
	h := newHarness(t)
	ev := WidgetEvent{PlatformConversationID: "generic:acme:c-1", EventType: WidgetQueueUpdate, QueuePosition: "3", WaitingTime: "5"}
	if err := h.client.Widget(context.Background(), target, ev); err != nil {
		t.Fatalf("Widget: %v", err)
	}
	r := h.agent.requests()[0]
	if r.path != "/agent/converse/send-message-to-widget" || r.header.Get("Authorization") != "key-1" || r.header.Get("botid") != target.AgentID {
		t.Fatalf("%s %v", r.path, r.header)
	}
	if got := string(r.body); got != `{"platformConversationId":"generic:acme:c-1","eventType":"escalationQueueUpdate","queuePosition":"3","waitingTime":"5"}` {
		t.Fatalf("body %s", got)
	}
}

func TestMissingFieldsRejectedBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name string
		call func(c *Client) error
	}{
		{"chat without pcid", func(c *Client) error {
			return c.Chat(context.Background(), target, ChatEvent{EventType: EventMessage, Text: "x"})
		}},
		{"chat without eventType", func(c *Client) error {
			return c.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p"})
		}},
		{"widget without pcid", func(c *Client) error {
			return c.Widget(context.Background(), target, WidgetEvent{EventType: WidgetMessage})
		}},
		{"widget without eventType", func(c *Client) error {
			return c.Widget(context.Background(), target, WidgetEvent{PlatformConversationID: "p"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			err := tt.call(h.client)
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("err %v, want ErrBadRequest", err)
			}
			if n := len(h.agent.requests()); n != 0 || h.keys.gets != 0 {
				t.Fatalf("%d requests, %d key reads before validation", n, h.keys.gets)
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	long := strings.Repeat("r", 2000)
	tests := []struct {
		name      string
		replies   []reply
		want      error  // nil: success
		status    int    // of the egress.StatusError
		reason    string // a part of the answer body, which must not reach the error
		requests  int
		forgets   int
		retryable bool
	}{
		{name: "200", replies: []reply{{status: 200}}, requests: 1},
		{name: "202 with body", replies: []reply{{status: 202, body: "queued"}}, requests: 1},
		{name: "400", replies: []reply{{status: 400, body: `{"message":"eventType is invalid"}`}}, want: ErrBadRequest, status: 400, reason: `{"message":"eventType is invalid"}`, requests: 1},
		{name: "404 bot not found", replies: []reply{{status: 404, body: " Bot not found \n"}}, want: ErrBotNotFound, status: 404, reason: "Bot not found", requests: 1},
		{name: "409 other 4xx is a bad request", replies: []reply{{status: 409}}, want: ErrBadRequest, status: 409, requests: 1},
		{name: "401 twice", replies: []reply{{status: 401, body: "Authorization Required"}, {status: 401, body: "Authorization Required"}},
			want: ErrUnauthorized, status: 401, reason: "Authorization Required", requests: 2, forgets: 1},
		{name: "403 twice", replies: []reply{{status: 403}, {status: 403}}, want: ErrUnauthorized, status: 403, requests: 2, forgets: 1},
		{name: "reason is capped", replies: []reply{{status: 400, body: long}}, want: ErrBadRequest, status: 400, reason: long[:100], requests: 1},
		// The Chat API has no idempotency key: an answer that may follow
		// processed work is not repeated within the call.
		{name: "500 is not repeated", replies: []reply{{status: 500}, {status: 200}}, want: ErrUnavailable, status: 500, requests: 1},
		{name: "503 without Retry-After is not repeated", replies: []reply{{status: 503, body: "down"}, {status: 200}}, want: ErrUnavailable, status: 503, reason: "down", requests: 1},
		{name: "408 is not repeated", replies: []reply{{status: 408}, {status: 200}}, want: ErrUnavailable, status: 408, requests: 1},
		// What says it was not taken is.
		{name: "429 429 200", replies: []reply{{status: 429}, {status: 429}, {status: 200}}, requests: 3},
		{name: "503 with Retry-After then 200", replies: []reply{{status: 503, retryAfter: "1"}, {status: 200}}, requests: 2},
		{name: "429 until attempts run out", replies: []reply{{status: 429, body: "slow down"}, {status: 503, retryAfter: "1"}, {status: 429, body: "still"}},
			want: ErrUnavailable, status: 429, reason: "still", requests: 3, retryable: true},
		{name: "400 is not retried", replies: []reply{{status: 400}, {status: 200}}, want: ErrBadRequest, status: 400, requests: 1},
		{name: "404 is not retried", replies: []reply{{status: 404}, {status: 200}}, want: ErrBotNotFound, status: 404, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.replies...)
			err := h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "hi"})
			if n := len(h.agent.requests()); n != tt.requests {
				t.Fatalf("%d requests, want %d (err %v)", n, tt.requests, err)
			}
			if h.keys.forgets != tt.forgets {
				t.Fatalf("%d ForgetAPIKey calls, want %d", h.keys.forgets, tt.forgets)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Chat: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			for _, other := range []error{ErrBadRequest, ErrUnauthorized, ErrBotNotFound, ErrUnavailable} {
				if other != tt.want && errors.Is(err, other) {
					t.Fatalf("err %v also wraps %v", err, other)
				}
			}
			var se *egress.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("err %v is not an *egress.StatusError", err)
			}
			if se.Status != tt.status {
				t.Fatalf("status %d, want %d", se.Status, tt.status)
			}
			if tt.reason != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.reason)) {
				t.Fatalf("the error carries the answer body: %v", err)
			}
			if retry.IsRetryable(err) != tt.retryable {
				t.Fatalf("IsRetryable %v", retry.IsRetryable(err))
			}
		})
	}
}

func TestUnauthorizedRefreshesKeyOnce(t *testing.T) {
	tests := []struct {
		name     string
		replies  []reply
		wantErr  error
		auths    []string // Authorization of each request
		forgets  int
		keyReads int
	}{
		{name: "fresh key works", replies: []reply{{status: 401}, {status: 200}}, auths: []string{"key-1", "key-2"}, forgets: 1, keyReads: 2},
		{name: "fresh key refused too", replies: []reply{{status: 401}, {status: 401}, {status: 200}}, wantErr: ErrUnauthorized,
			auths: []string{"key-1", "key-2"}, forgets: 1, keyReads: 2},
		// A later attempt that meets a 401 again does not refresh again.
		{name: "refresh only once per call", replies: []reply{{status: 401}, {status: 429}, {status: 401}, {status: 200}}, wantErr: ErrUnauthorized,
			auths: []string{"key-1", "key-2", "key-2"}, forgets: 1, keyReads: 3},
		{name: "429 then 401 then fresh key", replies: []reply{{status: 429}, {status: 401}, {status: 200}},
			auths: []string{"key-1", "key-1", "key-2"}, forgets: 1, keyReads: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.replies...)
			err := h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "x"})
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			var auths []string
			for _, r := range h.agent.requests() {
				auths = append(auths, r.header.Get("Authorization"))
			}
			if fmt.Sprint(auths) != fmt.Sprint(tt.auths) {
				t.Fatalf("Authorization per request %v, want %v", auths, tt.auths)
			}
			if h.keys.forgets != tt.forgets || h.keys.gets != tt.keyReads {
				t.Fatalf("%d forgets, %d key reads; want %d, %d", h.keys.forgets, h.keys.gets, tt.forgets, tt.keyReads)
			}
			for _, a := range h.keys.agents {
				if a != target.AgentID && a != "forget:"+target.AgentID {
					t.Fatalf("key call for %q", a)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"3", 3 * time.Second},
		{" 2 ", 2 * time.Second},
		{"100", egress.MaxRetryAfter},                      // capped
		{"Wed, 25 Nov 2026 10:00:04 GMT", 4 * time.Second}, // relative to the injected clock
		{"0", 500 * time.Microsecond},
		{"-5", 500 * time.Microsecond},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 500 * time.Microsecond}, // a date in the past: the backoff applies
		{"", 500 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			h := newHarness(t, reply{status: 429, retryAfter: tt.header}, reply{status: 200})
			if err := h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "x"}); err != nil {
				t.Fatal(err)
			}
			if len(h.waits) != 1 || h.waits[0] != tt.want {
				t.Fatalf("waits %v, want [%v]", h.waits, tt.want)
			}
		})
	}
}

// A connection that was never made provably did not deliver anything.
func TestRefusedConnectionsAreRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connections are now refused
	h := newHarness(t)
	h.client.DefaultBaseURL = url
	err := h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "x"})
	if !errors.Is(err, ErrUnavailable) || !retry.IsRetryable(err) {
		t.Fatalf("err %v, want retryable ErrUnavailable", err)
	}
	var se *egress.StatusError
	if errors.As(err, &se) {
		t.Fatalf("a transport error is not a StatusError: %v", se)
	}
	if h.keys.gets != 3 || len(h.waits) != 2 {
		t.Fatalf("%d attempts, waits %v; want 3 attempts", h.keys.gets, h.waits)
	}
}

// A timeout after the request was sent may follow processed work: it is
// the caller's (the queue's) to retry later, with a longer attempt.
func TestTimeoutAfterSendingIsNotRepeated(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	h := newHarness(t)
	h.client.DefaultBaseURL = srv.URL
	h.client.AttemptTimeout = 20 * time.Millisecond
	h.client.Retry.Attempts = 2
	err := h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "x"})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || retry.IsRetryable(err) {
		t.Fatalf("err %v, want ErrUnavailable wrapping DeadlineExceeded, not retryable", err)
	}
	if h.keys.gets != 1 {
		t.Fatalf("%d attempts, want 1", h.keys.gets)
	}
	// With a deadline of the caller's, the context bounds the attempt.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	h.client.AttemptTimeout = time.Hour
	if err := h.client.Chat(ctx, target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the caller's deadline", err)
	}
}

func TestKeyErrorStops(t *testing.T) {
	h := newHarness(t)
	boom := errors.New("secrets manager down")
	h.keys.err = boom
	err := h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "x"})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), target.AgentID) {
		t.Fatalf("err %v", err)
	}
	if len(h.agent.requests()) != 0 || h.keys.gets != 1 {
		t.Fatalf("%d requests, %d key reads", len(h.agent.requests()), h.keys.gets)
	}
}

// roundTripFunc lets a test see the URL a request goes to without a server.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name          string
		clientDefault string
		target        string
		want          string
	}{
		{name: "package default", want: "https://api.ultimate.ai/converse/chat"},
		{name: "client default", clientDefault: "https://eu.example.com/ai-agents/api/", want: "https://eu.example.com/ai-agents/api/converse/chat"},
		{name: "target override", clientDefault: "https://eu.example.com", target: "https://acme.zendesk.com/ai-agents/api//", want: "https://acme.zendesk.com/ai-agents/api/converse/chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			c := &Client{
				HTTP: egress.New(egress.Options{Wrap: func(http.RoundTripper) http.RoundTripper {
					return roundTripFunc(func(r *http.Request) (*http.Response, error) {
						got = r.URL.String()
						return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
					})
				}}),
				Keys:           &rotatingKeys{keys: []string{"k"}},
				DefaultBaseURL: tt.clientDefault,
			}
			err := c.Chat(context.Background(), Target{AgentID: "a", BaseURL: tt.target}, ChatEvent{PlatformConversationID: "p", EventType: EventEndSession})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("URL %q, want %q", got, tt.want)
			}
		})
	}
	if DefaultBaseURL != "https://api.ultimate.ai" {
		t.Fatalf("DefaultBaseURL %q", DefaultBaseURL)
	}
}

func TestErrorString(t *testing.T) {
	h := newHarness(t, reply{status: 404, body: "Bot 618a30beee4e8e87d2f94015 not found for ada@example.com"})
	err := h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "x"})
	if got := err.Error(); got != "AI agent not found (404): AI agent /converse/chat: HTTP 404" {
		t.Errorf("Error() = %q", got)
	}
	if got := egress.Reason(err); got != "AI agent /converse/chat: HTTP 404" {
		t.Errorf("Reason = %q", got)
	}
}
