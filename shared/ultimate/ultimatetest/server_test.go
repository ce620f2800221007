package ultimatetest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// staticKeys is the ultimate.Keys our client needs.
type staticKeys map[string]string

func (k staticKeys) APIKey(_ context.Context, id string) (string, error) { return k[id], nil }
func (staticKeys) ForgetAPIKey(string)                                   {}

// TestStartAndClient runs the fake on a real listener and drives it with
// our own ultimate.Client, so the two sides of the contract agree.
func TestStartAndClient(t *testing.T) {
	rc := newReceiver(t, webhookauth.Scheme{Kind: webhookauth.SchemeHMAC}, secret)
	fake := New(Options{Agents: []Agent{
		{ID: botID, APIKey: apiKey, WebhookURL: rc.srv.URL, WebhookAuth: rc.scheme, WebhookSecret: secret},
		{ID: "otherbot", APIKey: "other-key", WebhookURL: rc.srv.URL, WebhookAuth: rc.scheme, WebhookSecret: secret},
	}})
	base, err := fake.Start(":0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("Start(:0) = %s, want a 127.0.0.1 URL", base)
	}
	if _, err := fake.Start(""); err == nil {
		t.Error("a second Start succeeded")
	}
	client := &ultimate.Client{HTTP: egress.New(egress.Options{Local: true}), DefaultBaseURL: base, Keys: staticKeys{botID: apiKey, "otherbot": "wrong"}}
	ctx := context.Background()
	target := ultimate.Target{AgentID: botID}
	one := 1
	steps := []struct {
		name string
		call func() error
		want error
	}{
		{"start", func() error {
			return client.Chat(ctx, target, ultimate.ChatEvent{PlatformConversationID: pcid, EventType: ultimate.EventStartSession,
				MetaData: []ultimate.MetaItem{{Key: "email", Value: "a@b.c", Sanitize: true}}})
		}, nil},
		{"card click", func() error {
			return client.Chat(ctx, target, ultimate.ChatEvent{PlatformConversationID: pcid, EventType: ultimate.EventMessage, Text: "Choose Pro", CardIndex: &one})
		}, nil},
		{"message without text", func() error {
			return client.Chat(ctx, target, ultimate.ChatEvent{PlatformConversationID: pcid, EventType: ultimate.EventMessage})
		}, ultimate.ErrBadRequest},
		{"wrong key", func() error {
			return client.Chat(ctx, ultimate.Target{AgentID: "otherbot"}, ultimate.ChatEvent{PlatformConversationID: pcid, EventType: ultimate.EventStartSession})
		}, ultimate.ErrUnauthorized},
		{"unknown bot", func() error {
			return client.Chat(ctx, ultimate.Target{AgentID: "nobody"}, ultimate.ChatEvent{PlatformConversationID: pcid, EventType: ultimate.EventStartSession})
		}, ultimate.ErrBotNotFound},
		{"widget message too early", func() error {
			return client.Widget(ctx, target, ultimate.WidgetEvent{PlatformConversationID: pcid, EventType: ultimate.WidgetMessage, Text: "hi"})
		}, ultimate.ErrBadRequest},
		{"widget success", func() error {
			return client.Widget(ctx, target, ultimate.WidgetEvent{PlatformConversationID: pcid, EventType: ultimate.WidgetSuccess, Agent: "Anna"})
		}, nil},
	}
	for _, st := range steps {
		if err := st.call(); !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", st.name, err, st.want)
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, waitBound)
	defer cancel()
	if err := fake.WaitIdle(waitCtx); err != nil {
		t.Fatal(err)
	}
	if got, want := rc.transcript(pcid), []string{WelcomeText, "You chose: Choose Pro (card 1)"}; !slices.Equal(got, want) {
		t.Errorf("transcript %q, want %q", got, want)
	}

	if err := fake.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := fake.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Post(base+ChatPath, "application/json", strings.NewReader("{}")); err == nil {
		t.Error("the listener still answers after Close")
	}
}

func TestClosedHandler(t *testing.T) {
	e := newEnv(t)
	_ = e.fake.Close()
	status, _ := e.do(http.MethodPost, ChatPath, eventJSON(pcid, ultimate.EventStartSession, nil), nil)
	if status != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d, want 503", status)
	}
	e.wait()
}

func TestNewPanics(t *testing.T) {
	ok := Agent{ID: "a", APIKey: "k", WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeNone}}
	tests := []struct {
		name   string
		agents []Agent
		want   string
	}{
		{"no ID", []Agent{{APIKey: "k", WebhookAuth: ok.WebhookAuth}}, "ID"},
		{"no key", []Agent{{ID: "a", WebhookAuth: ok.WebhookAuth}}, "APIKey"},
		{"duplicate", []Agent{ok, ok}, "duplicate"},
		{"no scheme", []Agent{{ID: "a", APIKey: "k"}}, "webhookAuth.scheme"},
		{"no secret", []Agent{{ID: "a", APIKey: "k", WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeHMAC}}}, "WebhookSecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, tt.want) {
					t.Errorf("panic %v, want one mentioning %q", r, tt.want)
				}
			}()
			New(Options{Agents: tt.agents})
		})
	}
}
