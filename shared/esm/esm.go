// Package esm plays Lambda's SQS event source mapping for the local stack
// and the tests: it long-polls a queue, hands each batch to a handler as
// the events.SQSEvent Lambda would deliver, and settles the batch the way
// Lambda does with ReportBatchItemFailures turned on. It adds nothing
// Lambda does not do: a FIFO handler must itself fail every later record
// of a group after a failed one (the poller deletes what is not listed),
// and a failed record comes back only after its visibility timeout (or
// whatever the handler set with ChangeMessageVisibility).
//
// The rules, from the Lambda developer guide ("Handling errors for an SQS
// event source", "Implementing partial batch responses"):
//   - the records not named in batchItemFailures are deleted;
//   - an empty or null batchItemFailures is a complete success;
//   - an itemIdentifier that is empty or names no record of the batch makes
//     the whole batch a failure, as does a function error, a panic or a
//     timeout: nothing is deleted and every record returns after its
//     visibility timeout, counting towards the queue's maxReceiveCount;
//   - the queue's visibility timeout may not be shorter than the function
//     timeout (CreateEventSourceMapping refuses that);
//   - a FIFO queue keeps each message group in order: SQS hands out a
//     group's next message only when the ones before are deleted or back,
//     so concurrent invocations never hold the same group.
package esm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Handler is a function with ReportBatchItemFailures: it returns the
// records to retry, by message ID.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// SQS is what the poller calls.
type SQS interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Defaults, as Lambda has them where it has one.
const (
	DefaultBatchSize   = 10              // also the most a FIFO queue allows
	DefaultConcurrency = 2               // ScalingConfig.MaximumConcurrency's minimum
	DefaultTimeout     = 3 * time.Second // a function's default timeout
	DefaultWaitTime    = 20 * time.Second
)

// Mapping is one event source mapping: a queue, a function and settings.
type Mapping struct {
	SQS      SQS
	QueueURL string
	Handler  Handler
	// BatchSize is the most records per invocation, 1 to 10.
	BatchSize int
	// Concurrency is the most invocations at once (Lambda's
	// MaximumConcurrency); each runs its own receive loop.
	Concurrency int
	// Timeout is the function timeout: each invocation's deadline. An
	// answer after it is a failure, as on Lambda, where the invocation is
	// ended.
	Timeout time.Duration
	// WaitTime is each receive's long poll, 1 to 20 s.
	WaitTime time.Duration
	// Function names the function in the invocation's lambdacontext.
	Function string
	// Log receives one line per failed invocation or delete; nil discards.
	// Lines carry message IDs and counts, never bodies.
	Log *slog.Logger
	// Settled, if set, is called after each batch is settled (its deletes
	// made), on the invoking goroutine. Tests synchronise on it.
	Settled func(Batch)
}

// Batch is what happened to one invocation.
type Batch struct {
	Event   events.SQSEvent
	Failed  []string // message IDs left for redelivery: all of them when Err is set
	Deleted []string // message IDs deleted
	Err     error    // the function error, panic or timeout; or a malformed answer
}

// Errors of an invocation (wrapped in Batch.Err).
var (
	ErrPanic    = errors.New("the function panicked")
	ErrTimeout  = errors.New("the function timed out")
	ErrResponse = errors.New("the function's batchItemFailures are malformed")
)

// Run polls until ctx ends, then lets the invocations in flight finish and
// settle, and returns nil. It returns an error at once if the mapping or
// the queue's settings are invalid.
func (m *Mapping) Run(ctx context.Context) error {
	c, err := m.config(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Go(func() { c.poll(ctx) })
	}
	wg.Wait()
	return nil
}

// poller is a validated Mapping.
type poller struct {
	*Mapping
	batch       int32
	concurrency int
	timeout     time.Duration
	wait        int32
	arn, region string
	log         *slog.Logger
}

func (m *Mapping) config(ctx context.Context) (*poller, error) {
	if m.SQS == nil || m.QueueURL == "" || m.Handler == nil {
		return nil, errors.New("esm: a mapping needs SQS, QueueURL and Handler")
	}
	p := &poller{Mapping: m, batch: int32(m.BatchSize), concurrency: m.Concurrency, timeout: m.Timeout, log: m.Log}
	if p.batch == 0 {
		p.batch = DefaultBatchSize
	}
	if p.batch < 1 || p.batch > 10 {
		return nil, fmt.Errorf("esm: batch size %d: a FIFO queue's must be 1 to 10", m.BatchSize)
	}
	if p.concurrency == 0 {
		p.concurrency = DefaultConcurrency
	}
	if p.concurrency < 1 {
		return nil, fmt.Errorf("esm: concurrency %d must be at least 1", m.Concurrency)
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	w := m.WaitTime
	if w == 0 {
		w = DefaultWaitTime
	}
	if w < time.Second || w > 20*time.Second {
		return nil, fmt.Errorf("esm: wait time %s must be 1 to 20 s", w)
	}
	p.wait = int32(w / time.Second)
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	out, err := m.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(m.QueueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn, types.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		return nil, fmt.Errorf("esm: queue %s: %w", m.QueueURL, err)
	}
	p.arn = out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if parts := strings.Split(p.arn, ":"); len(parts) == 6 {
		p.region = parts[3]
	} else {
		return nil, fmt.Errorf("esm: queue %s has ARN %q", m.QueueURL, p.arn)
	}
	vis, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameVisibilityTimeout)])
	if err != nil {
		return nil, fmt.Errorf("esm: queue %s visibility timeout: %w", m.QueueURL, err)
	}
	if time.Duration(vis)*time.Second < p.timeout {
		return nil, fmt.Errorf("esm: queue visibility timeout %d s is less than the function timeout %s", vis, p.timeout)
	}
	return p, nil
}

// poll is one concurrent receive loop.
func (p *poller) poll(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		out, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.QueueURL),
			MaxNumberOfMessages:         p.batch,
			WaitTimeSeconds:             p.wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
			// The SDK's own retries of this call reuse it: SQS then answers
			// with the same messages instead of hiding them.
			ReceiveRequestAttemptId: aws.String(newID()),
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("receive failed", slog.String("queue", p.QueueURL), slog.String("error", err.Error()))
			if sleep(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if len(out.Messages) == 0 {
			continue
		}
		p.settle(ctx, p.invoke(ctx, NewEvent(p.arn, p.region, out.Messages)))
	}
}

// invoke calls the handler as the Lambda runtime would: the event through
// JSON, a deadline, a panic turned into a function error.
func (p *poller) invoke(ctx context.Context, ev events.SQSEvent) Batch {
	b := Batch{Event: ev}
	raw, err := json.Marshal(ev)
	if err == nil {
		var in events.SQSEvent
		if err = json.Unmarshal(raw, &in); err == nil {
			ev = in
		}
	}
	if err != nil {
		b.Err = fmt.Errorf("esm: encode the event: %w", err)
		b.Failed = ids(b.Event)
		return b
	}
	// An invocation outlives the mapping's context: a disabled mapping
	// lets the invocations in flight finish.
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
	defer cancel()
	ictx = lambdacontext.NewContext(ictx, &lambdacontext.LambdaContext{AwsRequestID: newID(), InvokedFunctionArn: p.Function})
	resp, err := call(ictx, p.Handler, ev)
	if err == nil && ictx.Err() != nil {
		err = fmt.Errorf("%w after %s", ErrTimeout, p.timeout)
	}
	if err == nil {
		b.Failed, err = failures(ev, resp)
	}
	if err != nil {
		b.Err = err
		b.Failed = ids(b.Event)
	}
	return b
}

func call(ctx context.Context, h Handler, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrPanic, r, debug.Stack())
		}
	}()
	return h(ctx, ev)
}

// failures checks the answer against the batch, through JSON as Lambda
// reads it.
func failures(ev events.SQSEvent, resp events.SQSEventResponse) ([]string, error) {
	raw, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResponse, err)
	}
	var out struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResponse, err)
	}
	inBatch := make(map[string]bool, len(ev.Records))
	for _, r := range ev.Records {
		inBatch[r.MessageId] = true
	}
	var failed []string
	for i, f := range out.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" {
			return nil, fmt.Errorf("%w: batchItemFailures[%d] has no itemIdentifier", ErrResponse, i)
		}
		if !inBatch[*f.ItemIdentifier] {
			return nil, fmt.Errorf("%w: batchItemFailures[%d] names %q, not a record of this batch", ErrResponse, i, *f.ItemIdentifier)
		}
		failed = append(failed, *f.ItemIdentifier)
	}
	return failed, nil
}

// settle deletes the records that did not fail.
func (p *poller) settle(ctx context.Context, b Batch) {
	keep := make(map[string]bool, len(b.Failed))
	for _, id := range b.Failed {
		keep[id] = true
	}
	var entries []types.DeleteMessageBatchRequestEntry
	byEntry := map[string]string{}
	for i, r := range b.Event.Records {
		if keep[r.MessageId] {
			continue
		}
		id := strconv.Itoa(i)
		entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(id), ReceiptHandle: aws.String(r.ReceiptHandle)})
		byEntry[id] = r.MessageId
	}
	if b.Err != nil {
		p.log.Warn("invocation failed; the batch returns after its visibility timeout",
			slog.String("queue", p.QueueURL), slog.Int("records", len(b.Event.Records)), slog.String("error", firstLine(b.Err)))
	}
	if len(entries) > 0 {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		out, err := p.SQS.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: entries})
		cancel()
		switch {
		case err != nil:
			// Not deleted: the records come back, at least once is kept.
			p.log.Error("delete failed; the records will be redelivered", slog.String("queue", p.QueueURL), slog.Int("records", len(entries)), slog.String("error", err.Error()))
		default:
			for _, s := range out.Successful {
				b.Deleted = append(b.Deleted, byEntry[aws.ToString(s.Id)])
			}
			for _, f := range out.Failed {
				p.log.Error("delete failed; the record will be redelivered", slog.String("queue", p.QueueURL),
					slog.String("messageId", byEntry[aws.ToString(f.Id)]), slog.String("code", aws.ToString(f.Code)))
			}
		}
	}
	if p.Settled != nil {
		p.Settled(b)
	}
}

// NewEvent builds the event Lambda delivers for msgs of the queue arn.
func NewEvent(arn, region string, msgs []types.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		attrs := make(map[string]string, len(m.Attributes))
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		mattrs := make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			a := events.SQSMessageAttribute{
				DataType: aws.ToString(v.DataType), StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues,
			}
			// Lambda always sends both lists, empty when unused.
			if a.StringListValues == nil {
				a.StringListValues = []string{}
			}
			if a.BinaryListValues == nil {
				a.BinaryListValues = [][]byte{}
			}
			mattrs[k] = a
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Md5OfBody: aws.ToString(m.MD5OfBody), Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes: attrs, MessageAttributes: mattrs,
			EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: region,
		})
	}
	return ev
}

func ids(ev events.SQSEvent) []string {
	out := make([]string, len(ev.Records))
	for i, r := range ev.Records {
		out[i] = r.MessageId
	}
	return out
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
