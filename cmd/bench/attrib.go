package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/crmbridge/crmbridge/shared/awscount"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
)

// Every AWS call of the local stack is counted in the scope of what made
// it, "function/trigger", so a visitor message's calls (source-inbound and
// its queue) and a bot message's (webhook-message and its queue) are
// counted apart exactly even while both run at once, as in the load run:
//   - viaHTTP: an HTTP API invocation the benchmark sent (through front,
//     which names the route's function in the request's context);
//   - viaSQS: an invocation by the event source mapping (shared/esm gives
//     it the lambdacontext Lambda would, naming the function);
//   - viaPoller: the event source mapping's own calls (receive, delete),
//     by the queue they name;
//   - stackServer: a request the local stack's own HTTP server received:
//     every request the benchmark sends goes through front, so these are
//     the fake AI agent's webhooks, to the single URL webhook-message
//     serves (window checks each delivery's route).
const (
	viaHTTP     = "http"
	viaSQS      = "sqs"
	viaPoller   = "poller"
	stackServer = "stack-http"
	// functionPrefix is how localstack names a function in the
	// lambdacontext of its pollers' invocations.
	functionPrefix = "crmbridge-"
)

func scopeName(function, via string) string { return function + "/" + via }

// functionOf is the function a scope's calls belong to ("" for none: the
// stack's setup, the benchmark's own waits).
func functionOf(scope string) string {
	if scope == stackServer {
		return route.WebhookMessage
	}
	fn, _, _ := strings.Cut(scope, "/")
	return fn
}

// byFunction adds up the scopes of each function.
func byFunction(scopes map[string]awscount.Counts) map[string]awscount.Counts {
	out := map[string]awscount.Counts{}
	for s, c := range scopes {
		fn := functionOf(s)
		out[fn] = out[fn].Add(c)
	}
	return out
}

type frontKey struct{}

// attribution is the benchmark's awscount.Scope.
type attribution struct {
	queues atomic.Pointer[map[string]string] // queue URL → the function its mapping invokes
}

// setQueues names the function each of the stack's queues is consumed by,
// as localstack.Run maps them.
func (a *attribution) setQueues(q localstack.Queues) {
	a.queues.Store(&map[string]string{q.Inbound: route.SourceInbound, q.Outbound: route.WebhookMessage})
}

func (a *attribution) scope(ctx context.Context, params any) string {
	if fn, ok := ctx.Value(frontKey{}).(string); ok {
		return scopeName(fn, viaHTTP)
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return scopeName(strings.TrimPrefix(lc.InvokedFunctionArn, functionPrefix), viaSQS)
	}
	if _, ok := ctx.Value(http.ServerContextKey).(*http.Server); ok {
		return stackServer
	}
	if u := pollerQueue(params); u != "" {
		if q := a.queues.Load(); q != nil {
			if fn, ok := (*q)[u]; ok {
				return scopeName(fn, viaPoller)
			}
		}
	}
	return ""
}

// pollerQueue is the queue of a call an event source mapping makes.
func pollerQueue(params any) string {
	switch p := params.(type) {
	case *sqs.ReceiveMessageInput:
		return aws.ToString(p.QueueUrl)
	case *sqs.DeleteMessageBatchInput:
		return aws.ToString(p.QueueUrl)
	case *sqs.DeleteMessageInput:
		return aws.ToString(p.QueueUrl)
	case *sqs.ChangeMessageVisibilityInput:
		return aws.ToString(p.QueueUrl)
	case *sqs.ChangeMessageVisibilityBatchInput:
		return aws.ToString(p.QueueUrl)
	}
	return ""
}

// front is the HTTP API the benchmark sends to: the local stack's own
// routing (Stack.ServeHTTP), the route's function named in each request's
// context and its requests counted.
type front struct {
	url      string
	srv      *http.Server
	mu       sync.Mutex
	requests map[string]int // by function
}

func startFront(st *localstack.Stack) (*front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench front: %w", err)
	}
	f := &front{url: "http://" + ln.Addr().String(), requests: map[string]int{}}
	f.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _, _ := route.Table.Match(r.Method, r.URL.Path)
		f.mu.Lock()
		f.requests[rt.Target]++
		f.mu.Unlock()
		st.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), frontKey{}, rt.Target)))
	})}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *front) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.requests))
	for k, v := range f.requests {
		out[k] = v
	}
	return out
}

func (f *front) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
}

// batchClock times the event source mapping's invocations: from the
// receive that returned a batch to the delete of its records, which the
// poller sends once the function answered (shared/esm's poll and settle).
// A batch whose records all failed is not deleted and not timed.
type batchClock struct {
	scope   awscount.Scope
	mu      sync.Mutex
	pending map[string]time.Time       // receipt handle → when its receive returned
	took    map[string][]time.Duration // by scope (the poller's)
}

func newBatchClock(scope awscount.Scope) *batchClock {
	return &batchClock{scope: scope, pending: map[string]time.Time{}, took: map[string][]time.Duration{}}
}

func (c *batchClock) instrument(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("bench.batchclock", c.observe), middleware.Before)
	})
}

func (c *batchClock) observe(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	if d, ok := in.Parameters.(*sqs.DeleteMessageBatchInput); ok {
		handles := make([]string, len(d.Entries))
		for i, e := range d.Entries {
			handles[i] = aws.ToString(e.ReceiptHandle)
		}
		c.deleted(c.scope(ctx, in.Parameters), handles, time.Now())
	}
	out, md, err := next.HandleInitialize(ctx, in)
	if r, ok := out.Result.(*sqs.ReceiveMessageOutput); ok && err == nil && len(r.Messages) > 0 {
		handles := make([]string, len(r.Messages))
		for i, m := range r.Messages {
			handles[i] = aws.ToString(m.ReceiptHandle)
		}
		c.received(handles, time.Now())
	}
	return out, md, err
}

func (c *batchClock) received(handles []string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range handles {
		c.pending[h] = at
	}
}

// deleted ends the batch the handles were received in.
func (c *batchClock) deleted(scope string, handles []string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var start time.Time
	for _, h := range handles {
		if t, ok := c.pending[h]; ok {
			if start.IsZero() || t.Before(start) {
				start = t
			}
			delete(c.pending, h)
		}
	}
	if !start.IsZero() {
		c.took[scope] = append(c.took[scope], at.Sub(start))
	}
}

// mark starts a window: the timings so far are kept by count, and the
// receipt handles of batches never deleted (every record failed; none are
// in flight when a window starts, the queues drained) are dropped.
func (c *batchClock) mark() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.pending)
	out := map[string]int{}
	for s, t := range c.took {
		out[s] = len(t)
	}
	return out
}

func (c *batchClock) since(m map[string]int) map[string][]time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]time.Duration{}
	for s, t := range c.took {
		if len(t) > m[s] {
			out[s] = append([]time.Duration(nil), t[m[s]:]...)
		}
	}
	return out
}

// mark is where a window of counts starts.
type mark struct {
	scopes     map[string]awscount.Counts
	requests   map[string]int
	deliveries int
	batches    map[string]int
}

// window is what the bridge did between a mark and now.
type window struct {
	scopes map[string]awscount.Counts // the calls, by scope
	// requests are the HTTP API requests by function: the benchmark's, and
	// the fake AI agent's webhook attempts that got an answer
	// (webhook-message's).
	requests map[string]int
	// webhooks are the fake AI agent's webhooks sent: the bot messages it
	// sent.
	webhooks  int
	batchTook map[string][]time.Duration // by function: each batch's receive → delete
}

func (b *bench) mark() mark {
	m := mark{scopes: b.count.Scopes(), requests: b.front.counts(), batches: b.clock.mark()}
	if b.st.Agent != nil {
		m.deliveries = len(b.st.Agent.Deliveries())
	}
	return m
}

func (b *bench) since(m mark) (window, error) {
	w := window{scopes: awscount.SubScopes(b.count.Scopes(), m.scopes), requests: map[string]int{}, batchTook: map[string][]time.Duration{}}
	for fn, n := range b.front.counts() {
		if d := n - m.requests[fn]; d != 0 {
			w.requests[fn] = d
		}
	}
	for s, t := range b.clock.since(m.batches) {
		w.batchTook[functionOf(s)] = append(w.batchTook[functionOf(s)], t...)
	}
	if b.st.Agent != nil {
		ds := b.st.Agent.Deliveries()[m.deliveries:]
		n, err := webhookRequests(ds)
		if err != nil {
			return window{}, err
		}
		w.webhooks = len(ds)
		w.requests[route.WebhookMessage] += n
	}
	return w, nil
}

// webhookRequests counts the requests of the fake AI agent's webhooks
// that reached the stack (an attempt with an answer), each checked to be
// webhook-message's: the function stackServer's calls are counted to.
func webhookRequests(ds []ultimatetest.Delivery) (int, error) {
	n := 0
	for _, d := range ds {
		u, err := url.Parse(d.URL)
		if err != nil {
			return 0, fmt.Errorf("the AI agent's webhook URL: %w", err)
		}
		if rt, _, ok := route.Table.Match(http.MethodPost, u.Path); !ok || rt.Target != route.WebhookMessage {
			return 0, fmt.Errorf("the AI agent sent a webhook to %s, not webhook-message's: its calls would be counted to webhook-message", u.Path)
		}
		for _, a := range d.Attempts {
			if a.Status != 0 {
				n++
			}
		}
	}
	return n, nil
}

// unattributed lists the calls no function made, the benchmark's own
// queue counts (the stack's Drain) aside: none is expected.
func (w window) unattributed() string {
	c := w.scopes[""]
	c.Calls = clonedWithout(c.Calls, "SQS.GetQueueAttributes")
	if len(c.Calls) == 0 {
		return ""
	}
	return c.String()
}

func clonedWithout(m map[string]int, key string) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}
