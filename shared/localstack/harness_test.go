package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
)

// One local stack for the package: moto_server, the demo tenant, the fake
// AI agent and the demo desk. Tests use their own conversation IDs.
var (
	stack       *localstack.Stack
	inbound     stdwebhook.Secret // the demo account's signing key
	agentSecret tenant.AgentSecret
	convSeq     atomic.Int64
)

var fast = retry.Policy{Attempts: 3, Base: time.Millisecond, Cap: 5 * time.Millisecond, Reserve: 100 * time.Millisecond}

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	stack, err = localstack.Start(ctx, localstack.Options{Addr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", SunshineAddr: "127.0.0.1:0", LivePersonAddr: "127.0.0.1:0", EventsDir: "../../events", Retry: &fast, Delivery: &fastDelivery})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sf, _ := tenant.ReadSecretFile("../../events/tenant/secret-source-generic-demo.json")
	var c generic.Credentials
	_ = json.Unmarshal([]byte(sf.SecretString), &c)
	inbound, _ = stdwebhook.ParseSecret(c.InboundSecret)
	af, _ := tenant.ReadSecretFile("../../events/tenant/secret-agent-demo.json")
	_ = json.Unmarshal([]byte(af.SecretString), &agentSecret)
	code := m.Run()
	stack.Close()
	os.Exit(code)
}

func newConv(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, convSeq.Add(1))
}

func pcid(conv string) string { return "generic:demo:" + conv }

// send posts a signed generic event through the local HTTP API.
func send(t *testing.T, id, typ string, data generic.InboundData) (int, string) {
	t.Helper()
	return sendAt(t, "demo", id, typ, data, time.Now())
}

func sendAt(t *testing.T, account, id, typ string, data generic.InboundData, at time.Time) (int, string) {
	t.Helper()
	status, body, err := trySend(account, id, typ, data, at)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// trySend is send for goroutines, which must not call t.Fatal.
func trySend(account, id, typ string, data generic.InboundData, at time.Time) (int, string, error) {
	body, err := generic.NewEvent(typ, data, at)
	if err != nil {
		return 0, "", err
	}
	status, resp, err := generic.Post(context.Background(), nil, stack.API+"/sources/generic/"+account, inbound, id, body, at)
	return status, string(resp), err
}

// webhook posts an AI-agent webhook authenticated as the demo agent.
func webhook(t *testing.T, path string, body any) (int, string) {
	t.Helper()
	return post(t, stack.API+path, body, map[string]string{"Authorization": "Bearer " + agentSecret.WebhookSecret})
}

func post(t *testing.T, url string, body any, headers map[string]string) (int, string) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(rb)
}

func converse(data map[string]any) map[string]any {
	return map[string]any{"botId": localstack.DemoAgentID, "channel": "chat", "data": data}
}

// drain waits until everything accepted so far was delivered: the fake
// agent idle and every queue of the stack (the tests' too) empty.
func drain(t *testing.T) {
	t.Helper()
	// A bound on failure only: the wait ends on events.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := stack.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// chats returns what the fake AI agent accepted for a conversation.
func chats(p string) []ultimatetest.Received {
	var out []ultimatetest.Received
	for _, r := range stack.Agent.Received() {
		if (r.Chat != nil && r.Chat.PlatformConversationID == p) || (r.Widget != nil && r.Widget.PlatformConversationID == p) {
			out = append(out, r)
		}
	}
	return out
}

// texts returns the texts of the messages the demo desk got for conv.
func texts(conv string) []string {
	var out []string
	for _, e := range stack.Desk.Inbox(conv) {
		if e.Type != generic.OutMessage {
			continue
		}
		var d generic.MessageData
		_ = json.Unmarshal(e.Data, &d)
		out = append(out, d.Message.Text)
	}
	return out
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	code, ok := errorCodeOf(body)
	if !ok {
		t.Fatalf("not a JSON error body: %s", body)
	}
	return code
}

// errorCodeOf is errorCode for goroutines, which must not call t.Fatal.
func errorCodeOf(body string) (string, bool) {
	var b struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		return "", false
	}
	return b.Error.Code, true
}

// countingDB and countingSM count the AWS calls a handler makes; the DB
// also notes every write and the key it wrote, for write units.
type countingDB struct {
	app.DynamoDB
	n      atomic.Int64
	mu     sync.Mutex
	writes []write
}

type write struct {
	op, table string
	key       map[string]ddbtypes.AttributeValue
}

func (c *countingDB) wrote(op string, table *string, key map[string]ddbtypes.AttributeValue) {
	c.mu.Lock()
	c.writes = append(c.writes, write{op: op, table: aws.ToString(table), key: key})
	c.mu.Unlock()
}

// since returns the writes after the first n.
func (c *countingDB) since(n int) []write {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]write(nil), c.writes[n:]...)
}

func (c *countingDB) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.DynamoDB.GetItem(ctx, in, o...)
}
func (c *countingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.n.Add(1)
	c.wrote("PutItem", in.TableName, map[string]ddbtypes.AttributeValue{"pk": in.Item["pk"]})
	return c.DynamoDB.PutItem(ctx, in, o...)
}
func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	c.wrote("UpdateItem", in.TableName, in.Key)
	return c.DynamoDB.UpdateItem(ctx, in, o...)
}
func (c *countingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.n.Add(1)
	c.wrote("DeleteItem", in.TableName, in.Key)
	return c.DynamoDB.DeleteItem(ctx, in, o...)
}
func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.n.Add(1)
	return c.DynamoDB.Query(ctx, in, o...)
}

type countingSM struct {
	*secretsmanager.Client
	n atomic.Int64
}

func (c *countingSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.n.Add(1)
	return c.Client.GetSecretValue(ctx, in, o...)
}

// faults stands between the bridge and one host (the fake AI agent): it
// fails requests as told, answers 503 to all while the host is down, or
// lets requests reach the host and then holds their answers until the
// bridge gives up (a slow AI agent; a bridge that died mid-call). Every
// request is an event tests wait for (await), never a time.
type faults struct {
	host string
	pass http.RoundTripper
	mu   sync.Mutex
	next []int // statuses to answer, one per request, before passing through
	seen atomic.Int64
	down atomic.Bool
	// hold: the next that many requests reach the host, then their answers
	// wait for release or for the caller to give up.
	hold    atomic.Int32
	release chan struct{}
	log     []fault
	changed chan struct{}
}

// fault is what happened to one request.
type fault struct {
	pcid string
	what string // down, injected, held, passed, failed
}

func (f *fault) String() string { return f.pcid + ":" + f.what }

func (f *faults) fail(statuses ...int) {
	f.mu.Lock()
	f.next = append(f.next, statuses...)
	f.mu.Unlock()
}

func (f *faults) note(pcid, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fault{pcid: pcid, what: what})
	changed(&f.changed)
}

// await waits until ok holds for the requests so far.
func (f *faults) await(t *testing.T, what string, ok func(log []fault) bool) {
	t.Helper()
	awaitChange(t, what, &f.mu, &f.changed, func() bool { return ok(f.log) })
}

// changed wakes awaitChange's waiters; the caller holds the lock that
// guards ch.
func changed(ch *chan struct{}) {
	if *ch != nil {
		close(*ch)
		*ch = nil
	}
}

// awaitChange waits until ok (called with mu held) holds, waking on every
// changed(ch).
func awaitChange(t *testing.T, what string, mu *sync.Mutex, ch *chan struct{}, ok func() bool) {
	t.Helper()
	bound := time.After(2 * time.Minute) // a bound on failure only
	for {
		mu.Lock()
		done := ok()
		if *ch == nil {
			*ch = make(chan struct{})
		}
		next := *ch
		mu.Unlock()
		if done {
			return
		}
		select {
		case <-next:
		case <-bound:
			t.Fatalf("waited in vain for %s", what)
		}
	}
}

// count counts a conversation's requests by what happened to them.
func count(log []fault, pcid, what string) int {
	n := 0
	for _, l := range log {
		if l.pcid == pcid && l.what == what {
			n++
		}
	}
	return n
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != f.host {
		return f.pass.RoundTrip(r)
	}
	f.seen.Add(1)
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	var ids struct {
		PCID string `json:"platformConversationId"`
	}
	_ = json.Unmarshal(body, &ids)
	f.mu.Lock()
	var status int
	if len(f.next) > 0 {
		status, f.next = f.next[0], f.next[1:]
	}
	f.mu.Unlock()
	answer := func(status int, what string) (*http.Response, error) {
		f.note(ids.PCID, what)
		return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(`{"message":"injected for ` + piiInAnswers + `"}`)), Header: http.Header{}, Request: r}, nil
	}
	switch {
	case status != 0:
		return answer(status, "injected")
	case f.down.Load():
		return answer(http.StatusServiceUnavailable, "down")
	}
	held := false
	for n := f.hold.Load(); n > 0; n = f.hold.Load() {
		if f.hold.CompareAndSwap(n, n-1) {
			held = true
			break
		}
	}
	resp, err := f.pass.RoundTrip(r)
	if err != nil || resp.StatusCode > 299 {
		f.note(ids.PCID, "failed")
		return resp, err
	}
	if !held {
		f.note(ids.PCID, "passed")
		return resp, nil
	}
	f.note(ids.PCID, "held")
	select {
	case <-f.release:
		return resp, nil
	case <-r.Context().Done():
		resp.Body.Close()
		return nil, r.Context().Err()
	}
}

// piiInAnswers is in the error answers of the fake AI agent and tenant: it
// must never reach a log line, a dead letter or an answer of the bridge.
const piiInAnswers = "ada.lovelace@example.com"

// syncBuffer is a bytes.Buffer for concurrent writers.
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

// noPII fails t if the answers' personal data reached any of what the
// bridge keeps or says.
func noPII(t *testing.T, td *testDeps, kept ...string) {
	t.Helper()
	for i, s := range append(kept, td.logs.String()) {
		if strings.Contains(s, piiInAnswers) {
			t.Fatalf("an endpoint's error body reached what the bridge keeps (%d): %s", i, s)
		}
	}
}

// testDeps is a second set of handlers over the stack's moto_server and
// fauxqs, with queues and pollers of its own, counted AWS calls, faults
// injected towards the AI agent and a clock of its own for the queue
// consumers (records' ages).
type testDeps struct {
	d      *app.Deps
	h      map[string]apigw.LambdaHandler
	logs   syncBuffer // every log line, at DEBUG
	db     *countingDB
	sm     *countingSM
	sqs    *countingSQS
	ai     *faults
	queues localstack.Queues
	pipe   *localstack.Pipeline
	clock  *offsetClock
}

// offsetClock is the real time moved on by the test: the consumers'
// clock, so a record can be days old without anyone waiting days.
type offsetClock struct{ d atomic.Int64 }

func (c *offsetClock) now() time.Time          { return time.Now().Add(time.Duration(c.d.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.d.Add(int64(d)) }

// fastDelivery retries after a second (SQS's least visibility delay).
var fastDelivery = app.Delivery{Backoff: queue.Backoff{Base: time.Millisecond, Cap: time.Millisecond}}

type depsOptions struct {
	now      func() time.Time // the handlers' clock; default real time
	delivery *app.Delivery    // default fastDelivery
	queues   *localstack.Queues
	// visibility of new queues; default 6 × the function timeout.
	visibility time.Duration
	run        localstack.RunOptions
	noPollers  bool
	// sqs replaces the handlers' SQS client (a consumer that dies).
	sqs app.SQS
}

func newDeps(t *testing.T, now func() time.Time) *testDeps {
	t.Helper()
	return newDepsWith(t, depsOptions{now: now})
}

var queueSeq atomic.Int64

func newDepsWith(t *testing.T, o depsOptions) *testDeps {
	t.Helper()
	ctx := context.Background()
	cfg, err := stack.Moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	td := &testDeps{
		// Share the stack's write lock: both sets of handlers write the same tables.
		db:    &countingDB{DynamoDB: stack.Serial},
		sm:    &countingSM{Client: secretsmanager.NewFromConfig(cfg)},
		sqs:   &countingSQS{SQS: o.sqs},
		ai:    &faults{host: strings.TrimPrefix(stack.AgentURL, "http://"), release: make(chan struct{})},
		clock: &offsetClock{},
	}
	if td.sqs.SQS == nil {
		td.sqs.SQS = stack.QueueClient()
	}
	if o.queues != nil {
		td.queues = *o.queues
	} else {
		vis := o.visibility
		if vis == 0 {
			vis = 6 * stack.Opts.FunctionTimeout
		}
		if td.queues, err = stack.NewQueues(ctx, fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e9, queueSeq.Add(1)), vis); err != nil {
			t.Fatal(err)
		}
	}
	c := app.Config{
		TenantsTable: stack.Opts.TenantsTable, StateTable: stack.Opts.StateTable, UltimateBaseURL: stack.AgentURL,
		LogLevel: "DEBUG", DeadLetterTTL: time.Hour, ConfigTTL: time.Minute, SecretsTTL: 5 * time.Minute, LocalEgress: true,
		InboundQueueURL: td.queues.Inbound, OutboundQueueURL: td.queues.Outbound,
	}
	now := o.now
	if now == nil {
		now = time.Now
	}
	delivery := fastDelivery
	if o.delivery != nil {
		delivery = *o.delivery
	}
	if delivery.Now == nil {
		delivery.Now = td.clock.now
	}
	eg := egress.New(egress.Options{Local: true, Now: now, Wrap: func(rt http.RoundTripper) http.RoundTripper { td.ai.pass = rt; return td.ai }})
	td.d = app.Build(c, td.db, td.sm, app.Options{Out: &td.logs, Service: "test", Egress: eg, Retry: &fast, Now: now, SQS: td.sqs, Delivery: &delivery})
	td.h = td.d.Handlers(nil)
	if !o.noPollers {
		td.pipe = td.run(t, o.run)
	}
	return td
}

// run starts pollers of td's queues into td's handlers; stopped at the
// test's end.
func (td *testDeps) run(t *testing.T, o localstack.RunOptions) *localstack.Pipeline {
	t.Helper()
	p, err := stack.Run(td.d, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// countingSQS counts the SQS calls the handlers make.
type countingSQS struct {
	app.SQS
	sends, visibility atomic.Int64
}

func (c *countingSQS) SendMessage(ctx context.Context, in queue.SendRequest) error {
	c.sends.Add(1)
	return c.SQS.SendMessage(ctx, in)
}

func (c *countingSQS) ChangeMessageVisibility(ctx context.Context, in queue.VisibilityRequest) error {
	c.visibility.Add(1)
	return c.SQS.ChangeMessageVisibility(ctx, in)
}

// inboundEvent is the HTTP API event for a signed generic event.
func inboundEvent(t *testing.T, id, typ string, data generic.InboundData) events.APIGatewayV2HTTPRequest {
	t.Helper()
	now := time.Now()
	body, err := generic.NewEvent(typ, data, now)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"content-type": "application/json"}
	for k, v := range stdwebhook.Headers(inbound, id, now, body) {
		h[k] = v
	}
	return events.APIGatewayV2HTTPRequest{
		RouteKey: "ANY /sources/{source}/{account}", RawPath: "/sources/generic/demo", Headers: h, Body: string(body),
		PathParameters: map[string]string{"source": "generic", "account": "demo"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: id, HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/sources/generic/demo"}},
	}
}

func webhookEvent(path string, body any, headers map[string]string) events.APIGatewayV2HTTPRequest {
	b, _ := json.Marshal(body)
	h := map[string]string{"content-type": "application/json", "authorization": "Bearer " + agentSecret.WebhookSecret}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return events.APIGatewayV2HTTPRequest{
		RouteKey: "POST " + path, RawPath: path, Headers: h, Body: string(b),
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "wh", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path}},
	}
}

// putItems writes tenant items (DynamoDB JSON) and secrets for a test.
func putItems(t *testing.T, items []string, secrets map[string]string) {
	t.Helper()
	ctx := context.Background()
	for _, raw := range items {
		it, err := tenant.DecodeItemJSON([]byte(raw))
		if err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		if _, err := stack.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &stack.Opts.TenantsTable, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	i := 0
	for name, value := range secrets {
		i++
		b, _ := json.Marshal(tenant.SecretFile{Name: name, SecretString: value})
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%d.json", i)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if len(secrets) > 0 {
		if err := localstack.Seed(ctx, stack.DB, stack.SM, dir, stack.Opts.TenantsTable, nil); err != nil {
			t.Fatal(err)
		}
	}
}
