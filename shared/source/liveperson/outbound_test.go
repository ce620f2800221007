package liveperson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

type lpFixture struct {
	a    *Adapter
	api  *lptest.PublicAPI
	acct *source.Account
	conv source.Conversation
}

func newLP(t *testing.T, mutate func(*Settings)) *lpFixture {
	t.Helper()
	api := lptest.NewPublicAPI(testAccount, "crmbridge-api", "s3cret-pass")
	base, stop, err := api.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	s := baseSettings(t)
	s.APIBaseURL = base
	if mutate != nil {
		mutate(&s)
	}
	acct := account(t, s, userPass)
	return &lpFixture{a: newAdapter(), api: api, acct: acct, conv: source.Conversation{Source: Name, Account: testAccount, ID: testConv}}
}

func (f *lpFixture) send(t *testing.T, m ultimate.Message) error {
	t.Helper()
	return f.a.Send(context.Background(), f.acct, f.conv, m, &source.Progress{})
}

func (f *lpFixture) noViolations(t *testing.T) {
	t.Helper()
	if v := f.api.Violations(); len(v) > 0 {
		t.Fatalf("Public API contract violations: %v", v)
	}
}

func TestSendDeliversAllShapes(t *testing.T) {
	f := newLP(t, nil)
	msgs := []ultimate.Message{
		{Type: "text", Text: "Hello"},
		{Type: "text", Text: "Pick", Buttons: btns("Yes", "No")},
		{Type: "text", Text: "Docs", Buttons: []ultimate.Button{{Text: "Open", Type: "link", URL: "https://example.com/d"}}},
		{Type: "carousel", Text: "Plans", CarouselCards: cards(3)},
		{Type: "carousel", CarouselCards: cards(12)},
	}
	for _, m := range msgs {
		if err := f.send(t, m); err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
	}
	f.noViolations(t)
	calls := f.api.CallsOf("messages")
	if len(calls) != len(msgs) || f.api.Logins() != 1 {
		t.Fatalf("%d messages commands, %d logins; want %d and 1", len(calls), f.api.Logins(), len(msgs))
	}
	for _, c := range calls {
		if c.Conversation != testConv || c.Query.Get("ttl") != "30" || c.Bearer == "" {
			t.Fatalf("call %+v", c)
		}
	}
	if got := string(f.api.Messages()[0][0]); got != `"Hello"` {
		t.Fatalf("text item %s", got)
	}
}

func TestSendChannelAndTTL(t *testing.T) {
	f := newLP(t, func(s *Settings) { s.Channel = "chat"; s.CommandTTLSeconds = 60 })
	if err := f.send(t, ultimate.Message{Text: "Pick", Buttons: btns("Yes", "No")}); err != nil {
		t.Fatal(err)
	}
	c := f.api.CallsOf("messages")[0]
	if c.Query.Get("ttl") != "60" || !strings.Contains(string(c.Body), `"type":"vertical"`) || strings.Contains(string(c.Body), "quickReplies") {
		t.Fatalf("chat conversation: %s?ttl=%s", c.Body, c.Query.Get("ttl"))
	}
}

func TestSendProgressAndEmpty(t *testing.T) {
	f := newLP(t, nil)
	p := &source.Progress{Sent: 1}
	if err := f.a.Send(context.Background(), f.acct, f.conv, ultimate.Message{Text: "again"}, p); err != nil || len(f.api.Calls()) != 0 {
		t.Fatalf("a delivered message was sent again: %v", err)
	}
	p = &source.Progress{}
	if err := f.a.Send(context.Background(), f.acct, f.conv, ultimate.Message{Text: "  "}, p); err != nil || p.Sent != 1 || len(f.api.Calls()) != 0 {
		t.Fatalf("empty message: %v %+v", err, p)
	}
	p = &source.Progress{}
	if err := f.a.Send(context.Background(), f.acct, f.conv, ultimate.Message{Text: "hi"}, p); err != nil || p.Sent != 1 {
		t.Fatalf("send: %v %+v", err, p)
	}
}

func TestLoginCachingAndRelogin(t *testing.T) {
	f := newLP(t, nil)
	for range 3 {
		if err := f.send(t, ultimate.Message{Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if f.api.Logins() != 1 {
		t.Fatalf("%d logins for 3 sends", f.api.Logins())
	}
	// LivePerson ends the session (another login, timeout): 401, re-login
	// once, delivered.
	f.api.Fail("messages", http.StatusUnauthorized, 1)
	if err := f.send(t, ultimate.Message{Text: "after 401"}); err != nil {
		t.Fatal(err)
	}
	if f.api.Logins() != 2 {
		t.Fatalf("%d logins, want 2", f.api.Logins())
	}
	// 401 again after the new login: final, not retryable.
	f.api.Fail("messages", http.StatusUnauthorized, 2)
	err := f.send(t, ultimate.Message{Text: "still 401"})
	var he *egress.StatusError
	if !errors.As(err, &he) || he.Status != 401 || retry.IsRetryable(err) {
		t.Fatalf("double 401: %v", err)
	}
	// Rotated credentials drop the cached bearer.
	f.api.Username, f.api.Password = "crmbridge-api", "new-pass"
	f.acct.Credentials = []byte(`{"username":"crmbridge-api","password":"new-pass"}`)
	if err := f.send(t, ultimate.Message{Text: "rotated"}); err != nil {
		t.Fatal(err)
	}
	if last := f.api.CallsOf("login"); last[len(last)-1].Status != 200 {
		t.Fatalf("login with the new password: %+v", last[len(last)-1])
	}
	f.noViolations(t)
}

func TestLoginSingleFlight(t *testing.T) {
	f := newLP(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.send(t, ultimate.Message{Text: "concurrent"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if f.api.Logins() != 1 || len(f.api.CallsOf("login")) != 1 {
		t.Fatalf("%d logins for 20 concurrent senders", len(f.api.CallsOf("login")))
	}
}

func TestLoginAPIKeyAndFailures(t *testing.T) {
	f := newLP(t, nil)
	f.api.APIKey = &lptest.APIKey{Username: "bot", AppKey: "ak", Secret: "s", AccessToken: "at", AccessTokenSecret: "ats"}
	f.acct.Credentials = []byte(`{"username":"bot","appKey":"ak","secret":"s","accessToken":"at","accessTokenSecret":"ats"}`)
	if err := f.send(t, ultimate.Message{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	f.noViolations(t)

	tests := []struct {
		status    int
		retryable bool
	}{{401, false}, {409, false}, {429, true}, {503, true}}
	for _, tc := range tests {
		g := newLP(t, nil)
		g.api.Fail("login", tc.status, 1)
		err := g.send(t, ultimate.Message{Text: "hi"})
		var he *egress.StatusError
		if !errors.As(err, &he) || he.Status != tc.status || retry.IsRetryable(err) != tc.retryable {
			t.Errorf("login %d: %v (retryable %v)", tc.status, err, retry.IsRetryable(err))
		}
		if tc.status == 409 && !strings.Contains(he.Reason, "dedicated Public API user") {
			t.Errorf("409 reason: %q", he.Reason)
		}
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
	}{{400, false}, {403, false}, {404, false}, {429, true}, {500, true}, {502, true}}
	for _, tc := range tests {
		f := newLP(t, nil)
		f.api.Fail("messages", tc.status, 1)
		err := f.send(t, ultimate.Message{Text: "hi"})
		var he *egress.StatusError
		if !errors.As(err, &he) || he.Status != tc.status || retry.IsRetryable(err) != tc.retryable {
			t.Errorf("%d: %v (retryable %v)", tc.status, err, retry.IsRetryable(err))
		}
	}
	// Transport failure: retryable.
	f := newLP(t, func(s *Settings) { s.APIBaseURL = "http://127.0.0.1:1" })
	if err := f.send(t, ultimate.Message{Text: "hi"}); !retry.IsRetryable(err) {
		t.Fatalf("unreachable API: %v", err)
	}
	// Misconfigured credentials: permanent.
	f = newLP(t, nil)
	f.acct.Credentials = nil
	if err := f.send(t, ultimate.Message{Text: "hi"}); !errors.Is(err, errMisconfigured) || retry.IsRetryable(err) {
		t.Fatalf("no credentials: %v", err)
	}
}

func TestSendRetriesThroughThePolicy(t *testing.T) {
	f := newLP(t, nil)
	f.api.Fail("messages", http.StatusTooManyRequests, 1)
	f.api.Fail("messages", http.StatusInternalServerError, 1)
	p := &source.Progress{}
	pol := retry.Policy{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	err := pol.Do(context.Background(), func(ctx context.Context, _ int) error {
		return f.a.Send(ctx, f.acct, f.conv, ultimate.Message{Text: "eventually"}, p)
	})
	if err != nil || p.Sent != 1 || len(f.api.Messages()) != 1 {
		t.Fatalf("%v, progress %+v, delivered %d", err, p, len(f.api.Messages()))
	}
}

func escalate(f *lpFixture, to string) error {
	return f.a.Escalate(context.Background(), f.acct, f.conv, source.HandoverRequest{AgentID: lptest.DemoAgentID, EscalateTo: to, ID: "h1"})
}

func TestEscalate(t *testing.T) {
	tests := []struct {
		name       string
		escalateTo string
		setup      func(*lptest.PublicAPI)
		wantSkill  string
		// wantReads are the command-state reads: the command's, then the
		// conversation's list once the command answers 404.
		wantReads []string
	}{
		{name: "mapped skill; the conversation leaves the bot once the transfer took effect", escalateTo: "billing", wantSkill: "Billing-Human",
			setup:     func(api *lptest.PublicAPI) { api.TransferWaiting = 2 },
			wantReads: []string{"one", "one", "one", "list"}},
		{name: "default skill, transferred before the first read (404, list 404)", wantSkill: "human", wantReads: []string{"one", "list"}},
		{name: "unmapped escalateTo: default skill", escalateTo: "unmapped", wantSkill: "human", wantReads: []string{"one", "list"}},
		{name: "a transfer that leaves the conversation with the bot reads completed", wantSkill: "human",
			setup:     func(api *lptest.PublicAPI) { api.TransferStays = true },
			wantReads: []string{"one"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newLP(t, nil)
			if tc.setup != nil {
				tc.setup(f.api)
			}
			if err := escalate(f, tc.escalateTo); err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, c := range f.api.Calls() {
				if c.Command != "login" {
					kinds = append(kinds, c.Command)
				}
			}
			want := append([]string{"messages", "transfer"}, slices.Repeat([]string{"command"}, len(tc.wantReads))...)
			if !slices.Equal(kinds, want) {
				t.Fatalf("calls %v, want %v (the note before the transfer)", kinds, want)
			}
			var b struct{ Skill string }
			_ = json.Unmarshal(f.api.CallsOf("transfer")[0].Body, &b)
			if b.Skill != tc.wantSkill {
				t.Fatalf("skill %q, want %q", b.Skill, tc.wantSkill)
			}
			var reads []string
			for _, c := range f.api.CallsOf("command") {
				read := "one"
				if strings.HasSuffix(c.Path, "/command") {
					read = "list"
				}
				reads = append(reads, read)
			}
			if !slices.Equal(reads, tc.wantReads) {
				t.Fatalf("reads %v, want %v", reads, tc.wantReads)
			}
			f.noViolations(t)
		})
	}
}

// A transfer command that fell out of the bot's 200-command history while
// the conversation is still the bot's proves nothing: it is pending, and
// pending is the platform not confirming in time.
func TestEscalateCommandOutOfHistory(t *testing.T) {
	f := newLP(t, func(s *Settings) { s.TransferWaitSeconds = ptr(1) })
	f.api.TransferOutOfHistory = true
	f.a.Now = time.Now // real clock: the wait is measured
	err := escalate(f, "billing")
	if !errors.Is(err, ErrCommandPending) || !errors.Is(err, source.ErrPending) || f.api.Transferred(testConv) {
		t.Fatalf("out of history: %v", err)
	}
	f.noViolations(t)
}

// The handover's context goes to the agents as one private note per
// handover: a retried transfer does not repeat it, a refused note does not
// stop the transfer.
func TestEscalateNote(t *testing.T) {
	t.Run("once per handover", func(t *testing.T) {
		f := newLP(t, nil)
		f.api.Fail("transfer", http.StatusServiceUnavailable, 1)
		if err := escalate(f, "billing"); !retry.IsRetryable(err) {
			t.Fatalf("first attempt: %v", err)
		}
		if err := escalate(f, "billing"); err != nil {
			t.Fatal(err)
		}
		if n, m := len(f.api.CallsOf("transfer")), len(f.api.Messages()); n != 2 || m != 1 {
			t.Fatalf("%d transfers, %d notes; want 2 and 1", n, m)
		}
		var note struct{ Text, MessageAudience string }
		if err := json.Unmarshal(f.api.Messages()[0][0], &note); err != nil || note.MessageAudience != AudienceAgents || !strings.HasPrefix(note.Text, "Handover from the AI agent") {
			t.Fatalf("note %s: %v", f.api.Messages()[0][0], err)
		}
		f.noViolations(t)
	})
	t.Run("a refused note", func(t *testing.T) {
		f := newLP(t, nil)
		f.api.Fail("messages", http.StatusBadRequest, 1)
		if err := escalate(f, "billing"); err != nil || len(f.api.CallsOf("transfer")) != 1 {
			t.Fatalf("%v, %d transfers", err, len(f.api.CallsOf("transfer")))
		}
	})
}

func TestContextNote(t *testing.T) {
	turns := func(n int, size int) []source.Turn {
		var out []source.Turn
		for i := range n {
			from := source.TurnVisitor
			if i%2 == 1 {
				from = source.TurnBot
			}
			out = append(out, source.Turn{From: from, Text: fmt.Sprintf("turn %d %s", i, strings.Repeat("x", size))})
		}
		return out
	}
	tests := []struct {
		name    string
		req     source.HandoverRequest
		want    []string // in this order
		notWant []string
	}{
		{name: "escalate with a target and parameters", req: source.HandoverRequest{EscalateTo: "billing", Context: source.HandoverContext{
			Reason: source.ReasonEscalate, Params: map[string]string{"plan": "gold", "email": "***"}}},
			want: []string{"Handover from the AI agent: the AI agent escalated (to billing).", "Session parameters:\n- email: ***\n- plan: gold"}},
		{name: "the fallback with held messages", req: source.HandoverRequest{Context: source.HandoverContext{
			Reason: source.ReasonAgentUnavailable, Held: []string{"hello?", "anyone?"}}},
			want: []string{"the AI agent could not be reached.", "did not get: 2"}, notWant: []string{"hello?", "Transcript"}},
		{name: "a transcript", req: source.HandoverRequest{Context: source.HandoverContext{Transcript: turns(2, 1)}},
			want: []string{"Transcript (oldest first):\nvisitor: turn 0 x\nbot: turn 1 x"}},
		{name: "a long transcript keeps its newest turns", req: source.HandoverRequest{Context: source.HandoverContext{Transcript: turns(40, 100)}},
			want: []string{"Transcript (oldest first):", "turn 39 "}, notWant: []string{"turn 0 "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := contextNote(tc.req)
			if n := utf8.RuneCountInString(got); n > maxNote {
				t.Fatalf("note of %d characters", n)
			}
			at := 0
			for _, w := range tc.want {
				i := strings.Index(got[at:], w)
				if i < 0 {
					t.Fatalf("note %q lacks %q (after byte %d)", got, w, at)
				}
				at += i
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Fatalf("note %q has %q", got, w)
				}
			}
		})
	}
}

func TestEscalateFailures(t *testing.T) {
	f := newLP(t, func(s *Settings) { s.DefaultSkill = "" })
	if err := escalate(f, "unknown"); !errors.Is(err, ErrNoSkill) || len(f.api.Calls()) != 0 {
		t.Fatalf("no skill: %v", err)
	}

	f = newLP(t, nil)
	f.api.TransferState = "failed"
	err := escalate(f, "billing")
	if !errors.Is(err, ErrCommandFailed) || !strings.Contains(err.Error(), "execution-failed") {
		t.Fatalf("failed command: %v", err)
	}

	f = newLP(t, func(s *Settings) { s.TransferWaitSeconds = ptr(1) })
	f.api.TransferState = "waiting"
	f.a.Now = time.Now // real clock: only the 1 s wait ends the polling
	err = escalate(f, "billing")
	if !errors.Is(err, ErrCommandPending) || retry.IsRetryable(err) {
		t.Fatalf("pending command: %v", err)
	}

	f = newLP(t, func(s *Settings) { s.TransferWaitSeconds = ptr(0) })
	f.api.TransferState = "waiting"
	if err := escalate(f, "billing"); err != nil || len(f.api.CallsOf("command")) != 0 {
		t.Fatalf("no wait: %v, %d polls", err, len(f.api.CallsOf("command")))
	}

	f = newLP(t, nil)
	f.api.Fail("transfer", http.StatusNotFound, 1)
	var he *egress.StatusError
	if err := escalate(f, "billing"); !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("closed conversation: %v", err)
	}
}

func TestClose(t *testing.T) {
	f := newLP(t, func(s *Settings) { s.CloseOnEnd = true })
	if err := f.a.Close(context.Background(), f.acct, f.conv); err != nil {
		t.Fatal(err)
	}
	if c := f.api.CallsOf("close"); len(c) != 1 || c[0].Status != 200 || c[0].Query.Get("ttl") != "30" {
		t.Fatalf("close calls %+v", c)
	}
	// Already closed: done.
	if err := f.a.Close(context.Background(), f.acct, f.conv); err != nil {
		t.Fatalf("second close: %v", err)
	}
	f.noViolations(t)

	g := newLP(t, nil)
	// Without closeOnEnd the account does not let the bot close: refused,
	// and nothing is sent.
	if err := g.a.Close(context.Background(), g.acct, g.conv); !errors.Is(err, source.ErrUnsupported) || len(g.api.Calls()) != 0 {
		t.Fatalf("closeOnEnd off: %v, %d calls", err, len(g.api.Calls()))
	}
}

func TestBuiltins(t *testing.T) {
	f := newLP(t, nil)
	ctx := context.Background()
	res, err := f.a.Builtin(ctx, f.acct, f.conv, source.ActionRequest{Name: "tagIt", Builtin: BuiltinAddTags,
		Params: []ultimate.ActionParam{{Key: "tags", Value: []string{"vip, refund", "refund"}}, {Key: "other", Value: []string{"x"}}}})
	if err != nil || len(res) != 0 {
		t.Fatalf("addTags: %v %v", res, err)
	}
	msgs := f.api.Messages()
	if len(msgs) != 1 || string(msgs[0][0]) != `{"text":"Tags: vip, refund","messageAudience":"AGENTS_AND_MANAGERS"}` {
		t.Fatalf("private note %s", msgs)
	}
	f.noViolations(t)
	if _, err := f.a.Builtin(ctx, f.acct, f.conv, source.ActionRequest{Name: "tagIt", Builtin: BuiltinAddTags}); err == nil {
		t.Fatal("addTags without tags accepted")
	} else if c, status := code(t, err); c != "invalid_action" || status != 400 {
		t.Fatalf("addTags without tags: %s/%d", c, status)
	}

	// getUserInfo: from the SDES kept on the conversation.
	req := source.ActionRequest{Name: "who", Builtin: BuiltinGetUserInfo, Attrs: map[string]string{
		"sdes.email": "ada@example.com", "sdes.customerType": "vip", "sdes.": "x", "other": "y",
	}}
	res, err = f.a.Builtin(ctx, f.acct, f.conv, req)
	want := []ultimate.ActionResult{{Key: "customerType", Value: "vip"}, {Key: "email", Value: "ada@example.com", Sanitize: true}}
	if err != nil || len(res) != 2 || res[0] != want[0] || res[1] != want[1] {
		t.Fatalf("getUserInfo: %+v %v", res, err)
	}
	if res, err := f.a.Builtin(ctx, f.acct, f.conv, source.ActionRequest{Name: "who", Builtin: BuiltinGetUserInfo}); err != nil || len(res) != 0 {
		t.Fatalf("a conversation without SDES: %v %v", res, err)
	}
	if _, err := f.a.Builtin(ctx, f.acct, f.conv, source.ActionRequest{Builtin: "accountInfo"}); !errors.Is(err, source.ErrUnsupported) {
		t.Fatalf("unknown builtin: %v", err)
	}
}

// Whatever the context holds, the note is valid UTF-8 within maxNote
// characters and starts with its header.
func FuzzContextNote(f *testing.F) {
	f.Add("billing", "email", "***", "where is my parcel", 3, 2)
	f.Add("", "k", strings.Repeat("é", 3000), strings.Repeat("\n", 3000), 60, 0)
	f.Fuzz(func(t *testing.T, escalateTo, key, value, text string, turns, held int) {
		if turns < 0 || turns > 100 || held < 0 || held > 100 {
			return
		}
		req := source.HandoverRequest{EscalateTo: escalateTo, Context: source.HandoverContext{Params: map[string]string{key: value}, Held: make([]string, held)}}
		for range turns {
			req.Context.Transcript = append(req.Context.Transcript, source.Turn{From: source.TurnVisitor, Text: text})
		}
		note := contextNote(req)
		if n := utf8.RuneCountInString(note); n > maxNote || !strings.HasPrefix(note, "Handover from the AI agent") {
			t.Fatalf("note of %d characters: %.80q", n, note)
		}
		valid := utf8.ValidString(escalateTo) && utf8.ValidString(key) && utf8.ValidString(value) && utf8.ValidString(text)
		if valid && !utf8.ValidString(note) {
			t.Fatalf("invalid UTF-8 from valid input: %q", note)
		}
	})
}
