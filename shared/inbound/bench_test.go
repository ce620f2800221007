package inbound_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/inbound"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/queue/queuetest"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// The bridge's own cost per visitor message on the warm path: signature
// check, parsing, the claim (in memory here), the enqueue (in memory), and
// the answer; then, on the queue side, the record's delivery: the Chat API
// call to a loopback server that answers 200. AWS round trips add their
// own latency on top (see the localstack benchmarks).

type memTenants struct {
	src   *tenant.Source
	agent *tenant.Agent
}

func (m memTenants) Source(context.Context, string, string) (*tenant.Source, error) {
	return m.src, nil
}
func (m memTenants) Agent(context.Context, string) (*tenant.Agent, error) { return m.agent, nil }

type memSecrets map[string][]byte

func (m memSecrets) Get(_ context.Context, name string) ([]byte, error) { return m[name], nil }

func (m memSecrets) SourceCredentials(_ context.Context, src *tenant.Source) ([]byte, error) {
	return m[src.CredentialsSecret], nil
}

type memState struct {
	mu   sync.Mutex
	done map[string]bool
}

func (m *memState) Accept(_ context.Context, key, _ string) (*state.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done[key] {
		return nil, &state.DuplicateError{Key: key, Status: state.StatusQueued}
	}
	m.done[key] = true
	return &state.Lease{Key: key}, nil
}
func (m *memState) Release(context.Context, *state.Lease) error                { return nil }
func (m *memState) ChangeConversation(context.Context, state.ConvChange) error { return nil }
func (m *memState) Touch(context.Context, string) error                        { return nil }
func (m *memState) Stale(*state.Conversation) bool                             { return false }
func (m *memState) Conversation(context.Context, string) (*state.Conversation, error) {
	return nil, state.ErrNoConversation
}

type staticKeys struct{}

func (staticKeys) APIKey(context.Context, string) (string, error) { return "k", nil }
func (staticKeys) ForgetAPIKey(string)                            {}

func BenchmarkWarmInboundMessage(b *testing.B) {
	q := queuetest.New()
	agentAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer agentAPI.Close()
	in, _ := stdwebhook.NewSecret(nil)
	cb, _ := stdwebhook.NewSecret(nil)
	creds, _ := json.Marshal(generic.Credentials{InboundSecret: in, CallbackSecret: cb})
	secret, _ := stdwebhook.ParseSecret(in)
	settings := &generic.Settings{CallbackURL: "https://example.com/cb", TimeoutSeconds: 10} // as the loader parses it
	logic := &inbound.Handler{
		Accounts: &accounts.Resolver{
			Tenants: memTenants{
				src:   &tenant.Source{Source: "generic", Account: "acme", AgentID: "a1", Enabled: true, CredentialsSecret: "s", Settings: settings},
				agent: &tenant.Agent{AgentID: "a1"},
			},
			Secrets: memSecrets{"s": creds},
		},
		State:   &memState{done: map[string]bool{}},
		Queue:   &queue.Producer{API: q, URL: "https://sqs.local/inbound.fifo", Now: time.Now},
		Agent:   &ultimate.Client{HTTP: egress.New(egress.Options{Local: true}), Keys: staticKeys{}, DefaultBaseURL: agentAPI.URL, Retry: retry.Default},
		Sources: source.NewRegistry(generic.New(nil, time.Now)),
		Now:     time.Now,
	}
	h := &apigw.Handler{Name: "source-inbound", Serve: logic.Serve, Now: time.Now}
	consumer := &queue.Consumer{Handle: logic.Deliver, Now: time.Now}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		now := time.Now()
		body, _ := generic.NewEvent(generic.TypeMessage, generic.InboundData{ConversationID: "c-1", Text: "Where is my order?"}, now)
		id := fmt.Sprintf("evt-%d", i)
		headers := map[string]string{"content-type": "application/json"}
		for k, v := range stdwebhook.Headers(secret, id, now, body) {
			headers[k] = v
		}
		resp, _ := h.Invoke(ctx, events.APIGatewayV2HTTPRequest{
			RouteKey: "ANY /sources/{source}/{account}", RawPath: "/sources/generic/acme", Headers: headers, Body: string(body),
			PathParameters: map[string]string{"source": "generic", "account": "acme"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
		})
		if resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if failed, err := q.Deliver(ctx, consumer.Consume); failed != 0 || err != nil {
			b.Fatalf("delivery: %d failed, %v", failed, err)
		}
	}
}
