package sunshine_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/sunshine"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

const (
	e2eAgent       = "64f1c0ffee0ddba11ad0a0e2"
	e2eApp         = "65a1f0c0ffee4b1d9e2a7c02"
	e2eIntegration = "65a1f0c0ffee4b1d9e2a7c12"
	e2eConv        = "65a1f0c0ffee4b1d9e2a7d02"
	e2eUser        = "65a1f0c0ffee4b1d9e2a7e02"
	e2eSecret      = "webhook-secret-e2e"
)

// The real source-inbound handler, state store and AI-agent client, with
// SunCo's webhooks built by the fake the way SunCo shapes them and the fake
// AI agent checking what it gets.
func e2eEnv(t *testing.T) (*apptest.Env, *ultimatetest.Server, *sunshinetest.Server) {
	t.Helper()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	agent := ultimatetest.New(ultimatetest.Options{Agents: []ultimatetest.Agent{{
		ID: e2eAgent, APIKey: "k", WebhookURL: sink.URL,
		WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}, WebhookSecret: "wh",
	}}})
	u, err := agent.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Close() })
	e := apptest.New(t, apptest.Options{AgentURL: u})
	secretName := tenanttest.SourceSecretName(sunshine.Name, e2eApp)
	e.Put(t,
		tenanttest.Agent(e2eAgent, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, nil),
		tenanttest.Source(sunshine.Name, e2eApp, e2eAgent, tenanttest.Fields{
			"credentialsSecret": secretName, "settings": map[string]any{"integrationId": e2eIntegration},
		}),
	)
	e.Secrets.Set(tenanttest.AgentSecretName(e2eAgent), `{"apiKey":"k","webhookSecret":"wh"}`)
	e.Secrets.Set(secretName, `{"keyId":"app_x","keySecret":"s","webhookSecret":"`+e2eSecret+`"}`)
	f := sunshinetest.New(sunshinetest.Options{AppID: e2eApp, KeyID: "app_x", KeySecret: "s", IntegrationID: e2eIntegration})
	return e, agent, f
}

func deliver(t *testing.T, e *apptest.Env, f *sunshinetest.Server, evs ...sunshinetest.Event) (int, string) {
	t.Helper()
	body, err := json.Marshal(f.Envelope(evs...))
	if err != nil {
		t.Fatal(err)
	}
	path := "/sources/sunshine/" + e2eApp
	r := apptest.Event("POST", "ANY /sources/{source}/{account}", path, map[string]string{"x-api-key": e2eSecret, "content-type": "application/json"}, body)
	r.PathParameters = map[string]string{"source": sunshine.Name, "account": e2eApp}
	resp := e.Invoke(t, route.SourceInbound, r)
	return resp.StatusCode, resp.Body
}

func chats(t *testing.T, agent *ultimatetest.Server) []ultimate.ChatEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := agent.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var out []ultimate.ChatEvent
	for _, r := range agent.Received() {
		if r.Chat != nil && r.Chat.EventType == ultimate.EventMessage {
			out = append(out, *r.Chat)
		}
	}
	return out
}

// Issue 10: each event of a delivery stands on its own. A malformed one is
// skipped and counted; the good ones before and after it reach the AI agent,
// and SunCo gets 200 (it never retries a 400).
func TestDeliveryWithOneBadEvent(t *testing.T) {
	e, agent, f := e2eEnv(t)
	first := f.UserText(e2eConv, e2eUser, "first")
	broken := first
	broken.ID = sunshinetest.NewID()
	broken.Payload = map[string]any{"conversation": first.Payload["conversation"]} // a message event without its message
	last := f.UserText(e2eConv, e2eUser, "last")
	status, body := deliver(t, e, f, first, broken, last)
	if status != http.StatusOK || !strings.Contains(body, `"sent":2`) || !strings.Contains(body, `"invalid":1`) {
		t.Fatalf("%d %s", status, body)
	}
	var texts []string
	for _, c := range chats(t, agent) {
		texts = append(texts, c.Text)
	}
	if strings.Join(texts, "|") != "first|last" {
		t.Fatalf("the AI agent got %q", texts)
	}
	if !strings.Contains(e.Logs(), "sunshine event skipped") || !strings.Contains(e.Logs(), broken.ID) || strings.Contains(e.Logs(), `"first"`) {
		t.Fatalf("logs: %s", e.Logs())
	}
}

// A form response reaches the AI agent as text and as session parameters,
// with no textFallback in the webhook; an event without id is processed.
func TestFormResponseAndEventWithoutID(t *testing.T) {
	e, agent, f := e2eEnv(t)
	form, err := f.UserForm(e2eConv, e2eUser, []map[string]any{
		{"type": "text", "name": "full_name", "label": "Your name?", "text": "Ann Lee"},
		{"type": "select", "name": "plan", "label": "Plan?", "select": []any{map[string]any{"name": "gold", "label": "Gold"}}},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := deliver(t, e, f, sunshinetest.WithoutID(form)); status != http.StatusOK || !strings.Contains(body, `"sent":1`) {
		t.Fatalf("%d %s", status, body)
	}
	got := chats(t, agent)
	if len(got) != 1 || got[0].Text != "Your name?: Ann Lee\nPlan?: Gold" {
		t.Fatalf("chats %+v", got)
	}
	meta := map[string]ultimate.MetaItem{}
	for _, m := range got[0].MetaData {
		meta[m.Key] = m
	}
	// Without metadata rules, personal field names are sanitized.
	if m := meta["full_name"]; m.Value != "Ann Lee" || !m.Sanitize {
		t.Errorf("full_name %+v", m)
	}
	if m := meta["plan"]; m.Value != "gold" || m.Sanitize {
		t.Errorf("plan %+v", m)
	}
	if !strings.Contains(e.Logs(), "without dedupe") {
		t.Fatalf("no log of the missing id: %s", e.Logs())
	}
}
