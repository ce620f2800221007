package escalation_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// tenantDesk is a generic account's callback URL: it verifies each
// event's signature and keeps the events.
type tenantDesk struct {
	mu     sync.Mutex
	events []map[string]any
}

func (d *tenantDesk) handler(t *testing.T, key stdwebhook.Secret) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := stdwebhook.Verify([]stdwebhook.Secret{key}, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, apptest.Start, 0); err != nil {
			t.Errorf("callback signature: %v", err)
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		d.mu.Lock()
		d.events = append(d.events, m)
		d.mu.Unlock()
	}
}

func (d *tenantDesk) ofType(typ string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, e := range d.events {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

// Issue 11 on the durable path: the session parameters the inbound side
// sends to the AI agent (startSession, metadata) are kept on the
// conversation by the state-change write of that event, sanitized values
// masked, and the human gets them in the generic escalation.requested
// context. Through the real functions: generic source in, the queue's
// consumer to the fake AI agent, the AI agent's escalate webhook, the
// tenant's callback.
func TestEscalationCarriesTheSessionParameters(t *testing.T) {
	keyB64 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	key, err := stdwebhook.ParseSecret("whsec_" + keyB64)
	if err != nil {
		t.Fatal(err)
	}
	desk := &tenantDesk{}
	srv := httptest.NewServer(desk.handler(t, key))
	t.Cleanup(srv.Close)
	// The AI agent's own webhooks (its replies) are not this test's.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	agent := ultimatetest.New(ultimatetest.Options{Agents: []ultimatetest.Agent{{
		ID: agentID, APIKey: "k", WebhookURL: sink.URL,
		WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}, WebhookSecret: secret,
	}}})
	u, err := agent.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Close() })

	e := apptest.New(t, apptest.Options{AgentURL: u})
	credsName := tenanttest.SourceSecretName(generic.Name, "shop")
	e.Put(t,
		tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "header", "prefix": "Bearer "}, nil),
		tenanttest.Source(generic.Name, "shop", agentID, tenanttest.Fields{
			"credentialsSecret": credsName,
			"settings":          tenanttest.Fields{"callbackUrl": srv.URL + "/desk"},
			"metadata": []any{
				tenanttest.Fields{"field": "email", "sanitize": true},
				tenanttest.Fields{"field": "plan", "key": "customerPlan"},
			},
		}),
	)
	e.Secrets.Set(tenanttest.AgentSecretName(agentID), `{"apiKey":"k","webhookSecret":"`+secret+`"}`)
	e.Secrets.Set(credsName, `{"inboundSecret":"whsec_`+keyB64+`","callbackSecret":"whsec_`+keyB64+`"}`)

	inbound := func(id, typ string, data generic.InboundData) {
		t.Helper()
		data.ConversationID = "c-7"
		body, _ := generic.NewEvent(typ, data, apptest.Start)
		ev := apptest.Event("POST", "ANY /sources/{source}/{account}", "/sources/generic/shop", stdwebhook.Headers(key, id, apptest.Start, body), body)
		ev.PathParameters = map[string]string{"source": generic.Name, "account": "shop"}
		if resp := e.Invoke(t, route.SourceInbound, ev); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", typ, resp.StatusCode, resp.Body)
		}
	}
	inbound("evt-1", generic.TypeConversationStarted, generic.InboundData{
		User: map[string]string{"email": "ada@example.com", "name": "Ada"}, Parameters: map[string]string{"plan": "gold"},
	})
	inbound("evt-2", generic.TypeMessage, generic.InboundData{Text: "I want a person"})
	// The plan changed: metadata writes the new value.
	inbound("evt-3", generic.TypeMetadata, generic.InboundData{Parameters: map[string]string{"plan": "platinum"}})
	if left := e.Drain(t); left != 0 {
		t.Fatalf("%d records left", left)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := agent.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}

	b, _ := json.Marshal(map[string]any{"botId": agentID, "channel": "chat", "data": map[string]any{
		"eventType": "escalate", "platformConversationId": generic.Name + ":shop:c-7", "escalateTo": "billing",
	}})
	var ev events.APIGatewayV2HTTPRequest = apptest.Event("POST", "POST /webhooks/escalation", "/webhooks/escalation", map[string]string{"authorization": "Bearer " + secret}, b)
	if resp := e.Invoke(t, route.WebhookEscalation, ev); resp.StatusCode != 200 {
		t.Fatalf("escalate: %d %s", resp.StatusCode, resp.Body)
	}
	got := desk.ofType(generic.OutEscalation)
	if len(got) != 1 {
		t.Fatalf("%d escalation.requested events: %v", len(got), desk.events)
	}
	hc, _ := json.Marshal(got[0]["data"].(map[string]any)["context"])
	// email went to the AI agent marked sanitize: the human sees it masked;
	// name has no rule, so it never went to the AI agent and is not here.
	if want := `{"parameters":{"customerPlan":"platinum","email":"***"}}`; string(hc) != want {
		t.Fatalf("context %s, want %s", hc, want)
	}
}
