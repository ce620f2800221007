package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Record is one queue message handed to a consumer.
type Record struct {
	Envelope
	MessageID     string
	ReceiptHandle string
	Body          string // the raw message, for records that do not decode
	Group         string // MessageGroupId
	Dedupe        string // MessageDeduplicationId: stable across redeliveries
	Receives      int    // ApproximateReceiveCount, 1 on the first delivery
	Sent          time.Time
	// At is the consumer's clock when the record was handed to Handle: the
	// one clock ages are measured on (Elapsed).
	At time.Time
	// Later are the envelopes of the records of the same conversation that
	// follow this one in the batch, in order: they wait for this one (a
	// fallback hands them to a human with it).
	Later []Envelope
}

// Age is how long ago the bridge accepted the work.
func (r Record) Age(now time.Time) time.Duration {
	t := r.EnqueuedAt()
	if r.Enqueued == 0 {
		t = r.Sent
	}
	return now.Sub(t)
}

// Elapsed is the record's age when it was handed to Handle.
func (r Record) Elapsed() time.Duration { return r.Age(r.At) }

type outcomeKind int

const (
	kindDone outcomeKind = iota
	kindRetry
	kindDead
)

// Outcome is what a consumer func decided about one record.
type Outcome struct {
	kind  outcomeKind
	after time.Duration
	err   error
	label string
}

// Done means the work is finished (or needs none): the record is deleted.
func Done(label string) Outcome { return Outcome{kind: kindDone, label: label} }

// Retry means the work failed for now: the record and the later records of
// its conversation in the batch come back after a growing delay.
func Retry(err error) Outcome { return Outcome{kind: kindRetry, err: err, label: "retry"} }

// RetryAfter is Retry with a delay the far side asked for (Retry-After).
func RetryAfter(after time.Duration, err error) Outcome {
	return Outcome{kind: kindRetry, after: after, err: err, label: "retry"}
}

// Dead means the work can never succeed as it is (the AI agent or the
// platform refused it): it is kept as a dead letter and its conversation
// goes on.
func Dead(err error) Outcome { return Outcome{kind: kindDead, err: err, label: "dead"} }

// Err is the failure behind a Retry or Dead outcome.
func (o Outcome) Err() error { return o.err }

// Label names the outcome for logs and metrics.
func (o Outcome) Label() string { return o.label }

// IsDone, IsRetry and IsDead classify an outcome (tests, metrics).
func (o Outcome) IsDone() bool  { return o.kind == kindDone }
func (o Outcome) IsRetry() bool { return o.kind == kindRetry }
func (o Outcome) IsDead() bool  { return o.kind == kindDead }

// Backoff is the retry schedule. FIFO queues have no per-message delay, so
// a failed record is made invisible for the delay instead. The delay grows
// with the record's age (Factor × age, between Base and Cap), so it does
// not depend on receive counts, which a group's later records collect while
// they wait behind a failing head.
type Backoff struct {
	Base   time.Duration // first delay; default 2 s
	Cap    time.Duration // largest delay; default 30 min
	Factor float64       // delay per unit of age; default 0.5
}

// DefaultBackoff is the production schedule.
var DefaultBackoff = Backoff{Base: 2 * time.Second, Cap: 30 * time.Minute, Factor: 0.5}

// DefaultMaxAge is the retry horizon when the account sets none.
const DefaultMaxAge = 24 * time.Hour

// MaxMaxAge bounds an account's maximum age: the queues keep messages for
// 14 days, and a record must become a dead letter before SQS drops it.
const MaxMaxAge = 13 * 24 * time.Hour

// Delay is the wait before the next attempt of a record of age age that the
// far side asked to retry after at least after. jitter is in [0,1).
func (b Backoff) Delay(age, after time.Duration, jitter float64) time.Duration {
	base, limit, factor := b.Base, b.Cap, b.Factor
	if base <= 0 {
		base = DefaultBackoff.Base
	}
	if limit <= 0 {
		limit = DefaultBackoff.Cap
	}
	if factor <= 0 {
		factor = DefaultBackoff.Factor
	}
	d := time.Duration(math.Min(float64(age)*factor, float64(limit)))
	d = max(d, base)
	// ±20 % so conversations that failed together do not retry together.
	d = time.Duration(float64(d) * (0.8 + 0.4*jitter))
	return min(max(d, after), maxVisibility)
}

// maxVisibility is SQS's largest visibility timeout.
const maxVisibility = 12 * time.Hour

// Receives bounds how often SQS hands out one record that fails until it
// is maxAge old: the shortest delays (jitter 0) at every age, plus one
// receive for the attempt that buries it. A record that waits behind a
// failing head is received with each of the head's attempts, whose delays
// follow the head's larger age, so it is received no more often than this.
// The redrive queue's maxReceiveCount must stay above it (the template test
// holds it there), or SQS would move a record aside, out of order, before
// the bridge gave up on it.
func (b Backoff) Receives(maxAge time.Duration) int {
	age, n := time.Duration(0), 1
	for age < maxAge {
		age += b.Delay(age, 0, 0)
		n++
	}
	return n
}

// ExpiredError is the cause of a record buried at its maximum age.
type ExpiredError struct {
	Age time.Duration
	Err error // the last attempt's failure
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("gave up after %s (the account's maximum age): %v", e.Age.Round(time.Second), e.Err)
}

func (e *ExpiredError) Unwrap() error { return e.Err }

// Consumer processes the records of an SQS event: each conversation's in
// order, different conversations concurrently.
type Consumer struct {
	// Handle does one record's work.
	Handle func(ctx context.Context, r Record) Outcome
	// Bury keeps a record as a dead letter (cause says why, without bodies);
	// the record is then deleted. A record that cannot be buried is retried.
	Bury func(ctx context.Context, r Record, cause error) error
	// MaxAge is a record's retry horizon (the account's setting); nil or a
	// non-positive answer means DefaultMaxAge.
	MaxAge func(ctx context.Context, r Record) time.Duration
	// Visibility and URL delay failed records; nil leaves them to the
	// queue's visibility timeout.
	Visibility VisibilityAPI
	URL        string
	Backoff    Backoff
	// Concurrency bounds the conversations processed at once; default 10.
	Concurrency int
	// Reserve is time kept before the invocation's deadline: no record
	// starts inside it, so failures can still be reported; default 2 s.
	Reserve time.Duration
	Now     func() time.Time
	Jitter  func() float64
	Log     *slog.Logger
	// Observe, when set, sees every record's outcome (metrics).
	Observe func(r Record, o Outcome)
}

// Event is the part of Lambda's SQS event the consumer reads. Decoding a
// payload into it skips what no consumer uses (message attributes,
// digests, the queue's ARN and region) without allocating for them.
type Event struct {
	Records []Message `json:"Records"`
}

// Message is one record of an Event.
type Message struct {
	MessageID     string            `json:"messageId"`
	ReceiptHandle string            `json:"receiptHandle"`
	Body          string            `json:"body"`
	Attributes    MessageAttributes `json:"attributes"`
	EventSource   string            `json:"eventSource"`
}

// MessageAttributes are the SQS attributes of a record the consumer reads.
type MessageAttributes struct {
	ApproximateReceiveCount string `json:"ApproximateReceiveCount"`
	SentTimestamp           string `json:"SentTimestamp"`
	MessageGroupID          string `json:"MessageGroupId"`
	MessageDeduplicationID  string `json:"MessageDeduplicationId"`
}

// Messages is ev's records in the consumer's form.
func Messages(ev events.SQSEvent) []Message {
	out := make([]Message, len(ev.Records))
	for i, m := range ev.Records {
		out[i] = Message{
			MessageID: m.MessageId, ReceiptHandle: m.ReceiptHandle, Body: m.Body, EventSource: m.EventSource,
			Attributes: MessageAttributes{
				ApproximateReceiveCount: m.Attributes["ApproximateReceiveCount"], SentTimestamp: m.Attributes["SentTimestamp"],
				MessageGroupID: m.Attributes["MessageGroupId"], MessageDeduplicationID: m.Attributes["MessageDeduplicationId"],
			},
		}
	}
	return out
}

// Consume is the Lambda handler body for an SQS event as aws-lambda-go
// types it (the local pollers, the tests); ConsumeMessages is the same for
// the consumer's own decoding of one.
func (c *Consumer) Consume(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return c.ConsumeMessages(ctx, Messages(ev))
}

// ConsumeMessages processes the records of one SQS event.
func (c *Consumer) ConsumeMessages(ctx context.Context, msgs []Message) (events.SQSEventResponse, error) {
	groups := map[string][]Record{}
	var order []string
	for _, m := range msgs {
		r := c.record(m)
		if _, ok := groups[r.Group]; !ok {
			order = append(order, r.Group)
		}
		groups[r.Group] = append(groups[r.Group], r)
	}
	if len(order) == 1 {
		// One conversation (every record of a small batch, often): no
		// goroutine to start, nothing to wait for.
		return events.SQSEventResponse{BatchItemFailures: failuresOf(c.group(ctx, groups[order[0]]))}, nil
	}
	limit := c.Concurrency
	if limit <= 0 {
		limit = 10
	}
	var (
		mu       sync.Mutex
		failures []events.SQSBatchItemFailure
		wg       sync.WaitGroup
		slots    = make(chan struct{}, limit)
	)
	for _, g := range order {
		wg.Add(1)
		slots <- struct{}{}
		go func(recs []Record) {
			defer func() { <-slots; wg.Done() }()
			failed := failuresOf(c.group(ctx, recs))
			mu.Lock()
			failures = append(failures, failed...)
			mu.Unlock()
		}(groups[g])
	}
	wg.Wait()
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// failuresOf reports recs as the batch's failures.
func failuresOf(recs []Record) []events.SQSBatchItemFailure {
	var out []events.SQSBatchItemFailure
	for _, r := range recs {
		out = append(out, events.SQSBatchItemFailure{ItemIdentifier: r.MessageID})
	}
	return out
}

func (c *Consumer) record(m Message) Record {
	r := Record{
		MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Receives: 1,
		Group: m.Attributes.MessageGroupID, Dedupe: m.Attributes.MessageDeduplicationID,
	}
	if n, err := strconv.Atoi(m.Attributes.ApproximateReceiveCount); err == nil && n > 0 {
		r.Receives = n
	}
	if ms, err := strconv.ParseInt(m.Attributes.SentTimestamp, 10, 64); err == nil {
		r.Sent = time.UnixMilli(ms)
	}
	if env, err := Decode(m.Body); err == nil {
		r.Envelope = env
		if r.Group == "" {
			r.Group = GroupID(env.PCID)
		}
	}
	if r.Group == "" {
		r.Group = "message:" + m.MessageID // not FIFO, or unreadable: alone
	}
	return r
}

// group processes one conversation's records in order and returns those
// that must come back: the first failure and everything after it.
func (c *Consumer) group(ctx context.Context, recs []Record) []Record {
	for i, r := range recs {
		if c.tooLate(ctx) {
			c.delay(ctx, recs[i:], 0)
			return recs[i:]
		}
		r.At = c.now()
		for _, l := range recs[i+1:] {
			if l.V != 0 {
				r.Later = append(r.Later, l.Envelope)
			}
		}
		o := c.one(ctx, r)
		if c.Observe != nil {
			c.Observe(r, o)
		}
		switch o.kind {
		case kindDone:
			continue
		case kindDead:
			if c.bury(ctx, r, o.err) {
				continue
			}
			o = Retry(o.err)
		}
		// Retry: past the horizon it is a dead letter and the conversation
		// goes on; otherwise it and its successors wait.
		now := c.now()
		if age := r.Age(now); age >= c.maxAge(ctx, r) {
			if c.bury(ctx, r, &ExpiredError{Age: age, Err: o.err}) {
				continue
			}
		}
		d := c.Backoff.Delay(r.Age(now), o.after, c.jitter())
		c.delay(ctx, recs[i:], d)
		return recs[i:]
	}
	return nil
}

// one runs Handle, turning a panic into a retry so one bad record cannot
// take the batch down.
func (c *Consumer) one(ctx context.Context, r Record) (o Outcome) {
	defer func() {
		if p := recover(); p != nil {
			c.log().ErrorContext(ctx, "queue record handler panicked", slog.String("messageId", r.MessageID), slog.String("panic", fmt.Sprint(p)))
			o = Retry(fmt.Errorf("handler panicked: %v", p))
		}
	}()
	if r.V == 0 {
		return Dead(ErrBadEnvelope)
	}
	return c.Handle(ctx, r)
}

func (c *Consumer) bury(ctx context.Context, r Record, cause error) bool {
	if c.Bury == nil {
		return false
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.Bury(cctx, r, cause); err != nil {
		c.log().ErrorContext(ctx, "could not keep a dead letter; the record will be retried",
			slog.String("messageId", r.MessageID), slog.String("key", r.Key), slog.String("error", err.Error()))
		return false
	}
	return true
}

// delay makes failed records visible again after d (0: at once). Errors
// only cost time: the queue's visibility timeout applies instead.
func (c *Consumer) delay(ctx context.Context, recs []Record, d time.Duration) {
	if c.Visibility == nil || c.URL == "" {
		return
	}
	secs := int32(math.Ceil(d.Seconds()))
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	for _, r := range recs {
		err := c.Visibility.ChangeMessageVisibility(cctx, VisibilityRequest{
			QueueURL: c.URL, ReceiptHandle: r.ReceiptHandle, Seconds: secs,
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			c.log().WarnContext(ctx, "could not set a failed record's retry delay; the queue's visibility timeout applies",
				slog.String("messageId", r.MessageID), slog.String("error", err.Error()))
		}
	}
}

func (c *Consumer) tooLate(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return false
	}
	reserve := c.Reserve
	if reserve <= 0 {
		reserve = 2 * time.Second
	}
	return time.Until(dl) < reserve
}

func (c *Consumer) maxAge(ctx context.Context, r Record) time.Duration {
	if c.MaxAge != nil {
		if d := c.MaxAge(ctx, r); d > 0 {
			return min(d, MaxMaxAge)
		}
	}
	return DefaultMaxAge
}

func (c *Consumer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Consumer) jitter() float64 {
	if c.Jitter != nil {
		return c.Jitter()
	}
	return rand.Float64()
}

func (c *Consumer) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}
