// Package apptest runs the bridge's four handlers for unit tests exactly as
// the functions wire them (app.Build), over the in-memory fakes: DynamoDB
// from dynamotest, Secrets Manager from secretstest, a clock the test moves.
// No moto_server, no network unless the test's platform adapter makes one.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/queue/queuetest"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/secrets/secretstest"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
)

// Table names of the environment.
const (
	TenantsTable = "tenants"
	StateTable   = "state"
)

// Start is the clock's initial time.
var Start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// Clock is a clock the test moves; safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// Now returns the current time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Add moves the clock.
func (c *Clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// Options adjust the environment.
type Options struct {
	// Sources replaces the platform adapters (a fake platform).
	Sources *source.Registry
	// Egress is the outbound client; default the local stack's (loopback
	// test servers allowed).
	Egress *egress.Client
	// AgentURL is the AI agent's base URL (a fake one's); default a closed
	// port.
	AgentURL string
	// Delivery replaces the queue consumers' retry settings.
	Delivery *app.Delivery
	// Out takes the log and metric lines instead of the environment's
	// buffer (Logs and LogLines then see none): a test that inspects every
	// line as it is written, or keeps none.
	Out io.Writer
}

// Queue URLs of the environment.
const (
	InboundQueueURL  = "https://sqs.us-east-1.amazonaws.com/000000000000/crmbridge-inbound.fifo"
	OutboundQueueURL = "https://sqs.us-east-1.amazonaws.com/000000000000/crmbridge-outbound.fifo"
)

// Env is one bridge over fresh fakes.
type Env struct {
	DB       *dynamotest.DB
	Secrets  *secretstest.Secrets
	Clock    *Clock
	Deps     *app.Deps
	Handlers map[string]apigw.LambdaHandler
	// Inbound and Outbound are the function's queues, in memory: what the
	// HTTP side accepted waits there until Deliver or Drain. A handover's
	// barrier is the one exception: storing it delivers the outbound queue
	// at once through webhook-message's real consumer, as that function's
	// event source mapping would while the escalate waits, so the barrier
	// is reached after the bot messages queued before it (or not, when one
	// of them fails).
	Inbound, Outbound *queuetest.Queue

	logs syncBuffer
}

// queues routes the SQS calls by queue URL.
type queues map[string]*queuetest.Queue

func (q queues) queue(url string) (*queuetest.Queue, error) {
	if qq, ok := q[url]; ok {
		return qq, nil
	}
	return nil, fmt.Errorf("apptest: no queue %s", url)
}

func (q queues) SendMessage(ctx context.Context, in queue.SendRequest) error {
	qq, err := q.queue(in.QueueURL)
	if err != nil {
		return err
	}
	return qq.SendMessage(ctx, in)
}

func (q queues) ChangeMessageVisibility(ctx context.Context, in queue.VisibilityRequest) error {
	qq, err := q.queue(in.QueueURL)
	if err != nil {
		return err
	}
	return qq.ChangeMessageVisibility(ctx, in)
}

// Fast is the retry policy of the environment: real backoff shapes, tiny
// waits.
var Fast = retry.Policy{Attempts: 3, Base: time.Millisecond, Cap: 2 * time.Millisecond, Reserve: 50 * time.Millisecond}

// New builds an environment with empty tables.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	e := &Env{DB: dynamotest.New(), Secrets: secretstest.New(), Clock: &Clock{}}
	e.Clock.ns.Store(Start.UnixNano())
	if err := localstack.CreateTables(context.Background(), e.DB, TenantsTable, StateTable); err != nil {
		t.Fatal(err)
	}
	if opts.AgentURL == "" {
		opts.AgentURL = "http://127.0.0.1:1"
	}
	cfg := app.Config{
		TenantsTable: TenantsTable, StateTable: StateTable, UltimateBaseURL: opts.AgentURL,
		LogLevel: "DEBUG", DeadLetterTTL: 24 * time.Hour, ConfigTTL: time.Minute, SecretsTTL: 5 * time.Minute, LocalEgress: true,
		InboundQueueURL: InboundQueueURL, OutboundQueueURL: OutboundQueueURL,
	}
	e.Inbound, e.Outbound = queuetest.New(), queuetest.New()
	if opts.Egress == nil {
		opts.Egress = egress.New(egress.Options{Local: true, Now: e.Clock.Now})
	}
	// The retry policy keeps the real clock: it measures against context
	// deadlines, which are real time.
	pol := Fast
	var out io.Writer = &e.logs
	if opts.Out != nil {
		out = opts.Out
	}
	e.Deps = app.Build(cfg, e.DB, e.Secrets, app.Options{
		Out: out, Service: "test", Now: e.Clock.Now, Retry: &pol, Sources: opts.Sources, Egress: opts.Egress,
		SQS: queues{InboundQueueURL: e.Inbound, OutboundQueueURL: e.Outbound}, Delivery: opts.Delivery,
	})
	e.Handlers = e.Deps.Handlers(nil)
	e.Outbound.OnSend = func(body string) {
		if env, err := queue.Decode(body); err != nil || env.Kind != queue.KindBarrier {
			return
		}
		if _, err := e.Outbound.Drain(context.Background(), e.Deps.Consumer(route.WebhookMessage).Consume); err != nil {
			t.Errorf("apptest: delivering the outbound queue up to a barrier: %v", err)
		}
	}
	return e
}

// Deliver runs what waits on function's queue (source-inbound's or
// webhook-message's) through its consumer once, a batch of up to ten, and
// returns how many records failed (they wait again).
func (e *Env) Deliver(t testing.TB, function string) int {
	t.Helper()
	q, c := e.queueOf(t, function)
	failed, err := q.Deliver(context.Background(), c.Consume)
	if err != nil {
		t.Fatal(err)
	}
	return failed
}

// Drain delivers both queues until they are empty or a delivery leaves
// failures, and returns how many records are left.
func (e *Env) Drain(t testing.TB) int {
	t.Helper()
	left := 0
	for _, fn := range []string{route.SourceInbound, route.WebhookMessage} {
		q, c := e.queueOf(t, fn)
		n, err := q.Drain(context.Background(), c.Consume)
		if err != nil {
			t.Fatal(err)
		}
		left += n
	}
	return left
}

func (e *Env) queueOf(t testing.TB, function string) (*queuetest.Queue, *queue.Consumer) {
	t.Helper()
	c := e.Deps.Consumer(function)
	switch function {
	case route.SourceInbound:
		return e.Inbound, c
	case route.WebhookMessage:
		return e.Outbound, c
	}
	t.Fatalf("%s has no queue", function)
	return nil, nil
}

// Put writes configuration items.
func (e *Env) Put(t testing.TB, items ...tenanttest.Fields) {
	t.Helper()
	if err := tenanttest.Put(context.Background(), e.DB, TenantsTable, items...); err != nil {
		t.Fatal(err)
	}
}

// Invoke runs one event through a function's handler.
func (e *Env) Invoke(t testing.TB, function string, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	h, ok := e.Handlers[function]
	if !ok {
		t.Fatalf("no function %q", function)
	}
	resp, err := h(context.Background(), ev)
	if err != nil {
		t.Fatalf("%s returned an error instead of an answer: %v", function, err)
	}
	return resp
}

// Logs returns the log and metric lines written so far.
func (e *Env) Logs() string { return e.logs.String() }

// LogLines decodes the JSON log lines (metrics lines included).
func (e *Env) LogLines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// Event is an HTTP API event as API Gateway sends it for a request
// matched to routeKey (e.g. "POST /webhooks/message"), headers in lower
// case.
func Event(method, routeKey, path string, headers map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: path, Headers: h, Body: string(body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, RequestID: "req-test", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
}

// ErrorBody decodes a JSON error answer; ok is false when the body is not
// one.
func ErrorBody(body string) (code, message string, ok bool) {
	var b struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal([]byte(body), &b) != nil || b.Error.Code == "" || b.Error.Message == "" {
		return "", "", false
	}
	return b.Error.Code, b.Error.Message, true
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
