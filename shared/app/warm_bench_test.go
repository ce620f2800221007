package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/queue/queuetest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/secrets/secretstest"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// BenchmarkWarm is each function's own CPU and allocations per request once
// warm (configuration and secrets cached), as `make bench` reports them:
// the handlers exactly as app.Build wires them, logging at INFO, over the
// in-memory DynamoDB, Secrets Manager and SQS and with every vendor answer
// (the AI agent, the tenant's callback, the action's API) given in memory,
// so the figure is the bridge's work alone, without the network or a fake
// server's. The demo tenant of events/tenant is the configuration.
//
// The figures are the bridge's own work: the DynamoDB stand-in reads from
// the in-memory fake (seeded, and written to while the benchmark sets up)
// but answers every write during the timing with success at once, so the
// fake's expression evaluation is not counted; on AWS the SDK's
// serialisation, signing and the round trip take that place (the local
// stack's invocation times in `make bench` include them).
//
// Every request is timed from the function's entry point, as Lambda hands
// it the payload: the event's JSON decoding is part of the figure. A
// message that goes through a queue has two halves, each its own
// invocation on Lambda: accept (the HTTP API request: verify, claim,
// enqueue, answer) and deliver (the SQS event of one record: the record's
// delivery, the batch response).
func BenchmarkWarm(b *testing.B) {
	w := newWarm(b)
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
	visitor := func(typ string) mk {
		tmpl := read("source-inbound/generic-message.json")
		return func(i int) events.APIGatewayV2HTTPRequest {
			ev := tmpl
			now := time.Now()
			body, _ := generic.NewEvent(typ, generic.InboundData{ConversationID: "c-bench", Text: "Where is my order?"}, now)
			ev.Body = string(body)
			ev.Headers = map[string]string{"content-type": "application/json"}
			for k, v := range stdwebhook.Headers(w.inSecret, fmt.Sprintf("evt_bench_%s_%d", strings.ReplaceAll(typ, ".", "_"), i), now, body) {
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
	ctx := context.Background()
	// The conversation is known: started and delivered before any timing.
	w.accept(b, route.SourceInbound, visitor(generic.TypeConversationStarted)(-1))
	w.deliverAll(b, route.SourceInbound)
	next := 0 // IDs go on across cases and rounds: none is a duplicate
	for _, bc := range []struct {
		function, name string
		events         mk
		deliver        bool // time the queue half: the records these requests queue
	}{
		{route.SourceInbound, "accept/generic-message", visitor(generic.TypeMessage), false},
		{route.SourceInbound, "deliver/generic-message", visitor(generic.TypeMessage), true},
		{route.WebhookMessage, "accept/send-text", withMessageID("webhook-message/send-text.json"), false},
		{route.WebhookMessage, "deliver/send-text", withMessageID("webhook-message/send-text.json"), true},
		{route.WebhookEscalation, "team-online", same("webhook-escalation/team-online-fixed.json"), false},
		{route.WebhookAction, "http-callout", same("webhook-action/lookup-order.json"), false},
		{route.WebhookAction, "builtin", same("webhook-action/add-tags.json"), false},
	} {
		b.Run(bc.function+"/"+bc.name, func(b *testing.B) {
			// Warm the caches, both halves.
			w.accept(b, bc.function, bc.events(-2-next))
			next++
			w.deliverAll(b, bc.function)
			evs := make([]events.APIGatewayV2HTTPRequest, b.N)
			for i := range evs {
				evs[i] = bc.events(next + i)
			}
			next += b.N
			if bc.deliver {
				for _, ev := range evs {
					w.accept(b, bc.function, ev)
				}
				records := w.records(b, bc.function, b.N)
				entry := w.entries[bc.function]
				w.db.writes = false
				defer func() { w.db.writes = true }()
				runtime.GC() // the set-up's garbage is not the timed loop's
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					out, err := entry(ctx, records[i])
					if resp, ok := out.(events.SQSEventResponse); err != nil || !ok || len(resp.BatchItemFailures) > 0 {
						b.Fatalf("record %d: %v %+v", i, err, out)
					}
				}
				return
			}
			payloads := make([]json.RawMessage, b.N)
			for i, ev := range evs {
				raw, err := json.Marshal(ev)
				if err != nil {
					b.Fatal(err)
				}
				payloads[i] = raw
			}
			entry := w.entries[bc.function]
			w.db.writes = false
			defer func() { w.db.writes = true }()
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				out, err := entry(ctx, payloads[i])
				if resp, ok := out.(events.APIGatewayV2HTTPResponse); err != nil || !ok || resp.StatusCode != 200 {
					b.Fatalf("request %d: %v %+v", i, err, out)
				}
			}
			b.StopTimer()
			// What the timed requests queued is not delivered: the deliver
			// case times its own records, and delivering these (writes
			// through the fake) would only lengthen the run.
			if q := w.queues[bc.function]; q != nil {
				q.Take(1)
			}
		})
	}
}

// warm is the benchmark's wiring: every function over in-memory AWS and
// vendors.
type warm struct {
	db       *benchDB
	handlers map[string]apigw.LambdaHandler
	entries  map[string]app.Entry
	queues   map[string]*queuetest.Queue // by function
	inSecret stdwebhook.Secret
}

func newWarm(b *testing.B) *warm {
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
	const inURL, outURL = "https://sqs.us-east-1.amazonaws.com/123456789012/bench-inbound.fifo", "https://sqs.us-east-1.amazonaws.com/123456789012/bench-outbound.fifo"
	qs := benchQueues{inURL: queuetest.New(), outURL: queuetest.New()}
	cfg := app.Config{
		TenantsTable: "tenants", StateTable: "state", UltimateBaseURL: "http://127.0.0.1:3001", LogLevel: "INFO",
		DeadLetterTTL: 24 * time.Hour, ConfigTTL: time.Hour, SecretsTTL: time.Hour, LocalEgress: true,
		InboundQueueURL: inURL, OutboundQueueURL: outURL,
	}
	bdb := &benchDB{DB: db, writes: true}
	d := app.Build(cfg, bdb, sm, app.Options{Out: io.Discard, Service: "bench", Egress: eg, SQS: qs})
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
	return &warm{
		db: bdb, handlers: d.Handlers(nil), entries: d.Entries(nil), inSecret: secret,
		queues: map[string]*queuetest.Queue{route.SourceInbound: qs[inURL], route.WebhookMessage: qs[outURL]},
	}
}

func (w *warm) accept(b *testing.B, function string, ev events.APIGatewayV2HTTPRequest) {
	b.Helper()
	if resp, _ := w.handlers[function](context.Background(), ev); resp.StatusCode != 200 {
		b.Fatalf("%s: %d %s", function, resp.StatusCode, resp.Body)
	}
}

// records takes the n records the function's queue holds, each as the
// JSON of an SQS event of one record: what Lambda hands the function when
// messages arrive one at a time (the dearest case per record; a batch
// shares the event's parsing).
func (w *warm) records(b *testing.B, function string, n int) []json.RawMessage {
	b.Helper()
	q := w.queues[function]
	if q == nil {
		return nil
	}
	evs := q.Take(1)
	if len(evs) != n {
		b.Fatalf("%s: %d records queued, want %d", function, len(evs), n)
	}
	out := make([]json.RawMessage, n)
	for i, ev := range evs {
		raw, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = raw
	}
	return out
}

// deliverAll delivers what the function's queue holds.
func (w *warm) deliverAll(b *testing.B, function string) {
	b.Helper()
	q := w.queues[function]
	if q == nil {
		return
	}
	for _, raw := range w.records(b, function, q.Len()) {
		out, err := w.entries[function](context.Background(), raw)
		if resp, ok := out.(events.SQSEventResponse); err != nil || !ok || len(resp.BatchItemFailures) > 0 {
			b.Fatalf("%s delivery: %v %+v", function, err, out)
		}
	}
}

// benchDB is the in-memory fake whose writes can be answered with success
// without evaluating them (see BenchmarkWarm).
type benchDB struct {
	state.DB
	writes bool // write through to the fake
}

func (d *benchDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if d.writes {
		return d.DB.PutItem(ctx, in, o...)
	}
	return &dynamodb.PutItemOutput{}, nil
}

func (d *benchDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if d.writes {
		return d.DB.UpdateItem(ctx, in, o...)
	}
	return &dynamodb.UpdateItemOutput{}, nil
}

func (d *benchDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if d.writes {
		return d.DB.DeleteItem(ctx, in, o...)
	}
	return &dynamodb.DeleteItemOutput{}, nil
}

// benchQueues routes SQS calls to in-memory queues by queue URL.
type benchQueues map[string]*queuetest.Queue

func (q benchQueues) SendMessage(ctx context.Context, in queue.SendRequest) error {
	mq, ok := q[in.QueueURL]
	if !ok {
		return fmt.Errorf("no queue %s", in.QueueURL)
	}
	return mq.SendMessage(ctx, in)
}

func (q benchQueues) ChangeMessageVisibility(context.Context, queue.VisibilityRequest) error {
	return nil
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
