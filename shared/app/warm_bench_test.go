package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/secrets/secretstest"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// BenchmarkWarm is each function's own CPU and allocations per request once
// warm (configuration and secrets cached), as `make bench` reports them:
// the handlers exactly as app.Build wires them, logging at INFO, over the
// in-memory DynamoDB and Secrets Manager and with every vendor answer (the
// AI agent, the tenant's callback, the action's API) given in memory, so
// the figure is the bridge's work alone, without the network or a fake
// server's. The demo tenant of events/tenant is the configuration.
func BenchmarkWarm(b *testing.B) {
	hs, inSecret := warmHandlers(b)
	read := func(name string) events.APIGatewayV2HTTPRequest {
		raw, err := os.ReadFile(filepath.Join("../../events", name))
		if err != nil {
			b.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			b.Fatal(err)
		}
		return ev
	}
	// An mk makes request i; requests with a new event or message ID
	// each (the bridge deduplicates them) are made before the timer starts.
	type mk func(i int) events.APIGatewayV2HTTPRequest
	inbound := func() mk {
		tmpl := read("source-inbound/generic-message.json")
		return func(i int) events.APIGatewayV2HTTPRequest {
			ev := tmpl
			now := time.Now()
			body, _ := generic.NewEvent(generic.TypeMessage, generic.InboundData{ConversationID: "c-bench", Text: "Where is my order?"}, now)
			ev.Body = string(body)
			ev.Headers = map[string]string{"content-type": "application/json"}
			for k, v := range stdwebhook.Headers(inSecret, fmt.Sprintf("evt_bench_%d", i), now, body) {
				ev.Headers[k] = v
			}
			return ev
		}
	}
	withMessageID := func(file string) mk {
		tmpl := read(file)
		return func(i int) events.APIGatewayV2HTTPRequest {
			ev := tmpl
			var body map[string]any
			_ = json.Unmarshal([]byte(ev.Body), &body)
			body["data"].(map[string]any)["messageId"] = fmt.Sprintf("%024x", i)
			b, _ := json.Marshal(body)
			ev.Body = string(b)
			return ev
		}
	}
	same := func(file string) mk {
		ev := read(file)
		return func(int) events.APIGatewayV2HTTPRequest { return ev }
	}
	for _, bc := range []struct {
		function, name string
		events         mk
	}{
		{route.SourceInbound, "generic-message", inbound()},
		{route.WebhookMessage, "send-text", withMessageID("webhook-message/send-text.json")},
		{route.WebhookEscalation, "team-online", same("webhook-escalation/team-online-fixed.json")},
		{route.WebhookAction, "http-callout", same("webhook-action/lookup-order.json")},
		{route.WebhookAction, "builtin", same("webhook-action/add-tags.json")},
	} {
		next := 0
		b.Run(bc.function+"/"+bc.name, func(b *testing.B) {
			h := hs[bc.function]
			ctx := context.Background()
			if resp, _ := h(ctx, bc.events(-1)); resp.StatusCode != 200 { // warm the caches
				b.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			// b.Run calls this again with a growing b.N: the IDs go on
			// from the last call's, so no request is a duplicate.
			evs := make([]events.APIGatewayV2HTTPRequest, b.N)
			for i := range evs {
				evs[i] = bc.events(next + i)
			}
			next += b.N
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				resp, _ := h(ctx, evs[i])
				if resp.StatusCode != 200 {
					b.Fatalf("%d %s", resp.StatusCode, resp.Body)
				}
			}
		})
	}
}

func warmHandlers(b *testing.B) (map[string]apigw.LambdaHandler, stdwebhook.Secret) {
	b.Helper()
	ctx := context.Background()
	db, sm := dynamotest.New(), secretstest.New()
	if err := localstack.CreateTables(ctx, db, "tenants", "state"); err != nil {
		b.Fatal(err)
	}
	if err := localstack.Seed(ctx, db, sm, "../../events/tenant", "tenants", nil); err != nil {
		b.Fatal(err)
	}
	eg := egress.New(egress.Options{Local: true, Wrap: func(http.RoundTripper) http.RoundTripper { return vendors{} }})
	cfg := app.Config{
		TenantsTable: "tenants", StateTable: "state", UltimateBaseURL: "http://127.0.0.1:3001", LogLevel: "INFO",
		DeadLetterTTL: 24 * time.Hour, ConfigTTL: time.Hour, SecretsTTL: time.Hour, LocalEgress: true,
	}
	d := app.Build(cfg, db, sm, app.Options{Out: io.Discard, Service: "bench", Egress: eg})
	raw, err := tenant.ReadSecretFile("../../events/tenant/secret-source-generic-demo.json")
	if err != nil {
		b.Fatal(err)
	}
	var creds generic.Credentials
	if err := json.Unmarshal([]byte(raw.SecretString), &creds); err != nil {
		b.Fatal(err)
	}
	secret, err := stdwebhook.ParseSecret(creds.InboundSecret)
	if err != nil {
		b.Fatal(err)
	}
	return d.Handlers(nil), secret
}

// vendors answers every outbound call in memory, as the vendors would: the
// Chat API and the tenant's callback with 200, the demo shop with an order.
type vendors struct{}

func (vendors) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	body := `{}`
	if strings.HasPrefix(r.URL.Path, "/demo/orders/") {
		body = `{"status":"shipped","delivery":{"eta":"2026-11-27"},"customer":{"email":"a@example.com"}}`
	}
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}
