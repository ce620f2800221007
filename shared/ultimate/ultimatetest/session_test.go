package ultimatetest

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // Options.SessionTimeout
		idle    time.Duration // the effective timeout
	}{
		{name: "default 2h", idle: 2 * time.Hour},
		{name: "configured 10m", timeout: 10 * time.Minute, idle: 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(_ *Agent, o *Options) { o.SessionTimeout = tt.timeout })
			e.chat(pcid, ultimate.EventStartSession, map[string]any{"metaData": []map[string]any{{"key": "lang", "value": "de"}}})
			first, _ := e.fake.Session(pcid)

			e.clock.Advance(tt.idle - time.Second)
			e.say(pcid, "still here") // activity resets the timer
			e.clock.Advance(tt.idle - time.Second)
			if s, _ := e.fake.Session(pcid); s.Ended || s.ConversationID != first.ConversationID {
				t.Fatalf("session ended early: %+v", s)
			}
			e.clock.Advance(time.Second)
			if s, _ := e.fake.Session(pcid); !s.Ended || s.EndReason != EndByTimeout {
				t.Fatalf("after %v idle: %+v, want ended by timeout", tt.idle, s)
			}
			e.say(pcid, "back again")
			e.wait()

			want := []string{WelcomeText, "You said: still here", WelcomeText, "You said: back again"}
			if got := e.recv.transcript(pcid); !slices.Equal(got, want) {
				t.Fatalf("transcript %q, want %q", got, want)
			}
			s, _ := e.fake.Session(pcid)
			if s.Ended || s.ConversationID == first.ConversationID || len(s.Params) != 0 || !s.Started.Equal(e.clock.Now()) {
				t.Errorf("after expiry: %+v, want a fresh session without parameters", s)
			}
		})
	}
}

func TestSessionLifecycle(t *testing.T) {
	e := newEnv(t)
	e.chat(pcid, ultimate.EventStartSession, nil)
	first, ok := e.fake.Session(pcid)
	if !ok || first.Ended || first.AgentID != botID {
		t.Fatalf("after startSession: %+v %v", first, ok)
	}
	e.chat(pcid, ultimate.EventStartSession, nil) // restart
	second, _ := e.fake.Session(pcid)
	if second.ConversationID == first.ConversationID {
		t.Error("a restarted session kept its conversationId")
	}
	e.chat(pcid, ultimate.EventEndSession, nil)
	e.chat(pcid, ultimate.EventEndSession, nil) // no live session: still 200
	if s, _ := e.fake.Session(pcid); !s.Ended || s.EndReason != EndByEndSession {
		t.Errorf("after endSession: %+v", s)
	}
	e.wait()
	if got := e.recv.transcript(pcid); !slices.Equal(got, []string{WelcomeText, WelcomeText}) {
		t.Fatalf("transcript %q: endSession must send nothing", got)
	}
	e.say(pcid, "hi")
	e.wait()
	if got := e.recv.transcript(pcid); !slices.Equal(got, []string{WelcomeText, WelcomeText, WelcomeText, "You said: hi"}) {
		t.Errorf("transcript %q: a message after endSession starts a session", got)
	}
	if _, ok := e.fake.Session("unknown"); ok {
		t.Error("Session of an unknown conversation")
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	meta := func(items ...map[string]any) map[string]any { return map[string]any{"metaData": items} }
	// metadata before any message starts the session silently.
	e.chat(pcid, ultimate.EventMetadata, meta(map[string]any{"key": "email", "value": "ann@example.com", "sanitize": true}))
	e.wait()
	if n := len(e.recv.calls()); n != 0 {
		t.Fatalf("metadata sent %d webhooks", n)
	}
	e.chat(pcid, ultimate.EventMetadata, map[string]any{"metadata": []map[string]any{{"key": "plan", "value": "pro"}, {"key": "email", "value": "ann@example.org", "sanitize": true}}})
	e.chat(pcid, ultimate.EventMessage, map[string]any{"text": "hi", "metaData": []map[string]any{{"key": "lang", "value": "en"}}})
	e.wait()
	if got := e.recv.transcript(pcid); !slices.Equal(got, []string{WelcomeText, "You said: hi"}) {
		t.Errorf("transcript %q: the session's first message gets the welcome", got)
	}
	s, _ := e.fake.Session(pcid)
	want := map[string]Param{"email": {Value: "ann@example.org", Sanitize: true}, "plan": {Value: "pro"}, "lang": {Value: "en"}}
	if !maps.Equal(s.Params, want) {
		t.Errorf("params %v, want %v", s.Params, want)
	}
	if got := s.Params["email"].String(); got != "***" {
		t.Errorf("sanitized param prints as %q", got)
	}
}

// TestLogsHideSecrets checks the log never shows a sanitized value, a key or
// secret, and shows visitor text only at debug level.
func TestLogsHideSecrets(t *testing.T) {
	e := newEnv(t)
	e.chat(pcid, ultimate.EventStartSession, map[string]any{"metaData": []map[string]any{{"key": "email", "value": "ann@example.com", "sanitize": true}}})
	e.say(pcid, "my private words")
	e.recv.setAnswer(func(hook) (int, string) {
		return 200, `{"results":[{"key":"card","value":"4111-1111","sanitize":true}]}`
	})
	e.say(pcid, "action lookupCard")
	e.wait()
	logs := e.logs.String()
	for _, leak := range []string{"ann@example.com", "4111-1111", apiKey, secret} {
		if strings.Contains(logs, leak) {
			t.Errorf("log contains %q:\n%s", leak, logs)
		}
	}
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "level=INFO") && strings.Contains(line, "private") {
			t.Errorf("visitor text logged at info: %s", line)
		}
	}
	if !strings.Contains(logs, "email=***") {
		t.Errorf("expected the masked parameter in the debug log:\n%s", logs)
	}
}
