// Package queuetest is an in-memory SQS FIFO queue for the handlers' unit
// tests: it takes SendMessage and ChangeMessageVisibility like the real
// queue, deduplicates on MessageDeduplicationId, and hands its messages to
// a consumer as the events.SQSEvent Lambda delivers, settling the batch the
// way an event source mapping with ReportBatchItemFailures does (what is
// not reported failed is deleted). Like a FIFO queue it hands out no
// message of a group while another of that group is in flight, so
// deliveries may run concurrently (a test's own and one its OnSend
// starts). Time does not pass in it: a failed message is back at once on
// the next Deliver, with its receive count raised. The FIFO semantics that
// need a clock (visibility timeouts, redrive) are tested against fauxqs in
// shared/localstack.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/queue"
)

// Queue is safe for concurrent use.
type Queue struct {
	// Fail, when set, is asked before every SendMessage; a non-nil error is
	// returned instead of storing the message.
	Fail func() error
	// OnSend, when set, is called with the body of every message stored
	// (not with deduplicated ones), after SendMessage stored it and before
	// it returns: the event a test's consumer runs on.
	OnSend func(body string)

	mu       sync.Mutex
	seq      int
	msgs     []*message
	dedupe   map[string]bool
	sends    int
	visCalls int
}

type message struct {
	id, body, group, dedupe string
	receives                int
	sent                    int64
	inFlight                bool
}

// New returns an empty queue.
func New() *Queue { return &Queue{dedupe: map[string]bool{}} }

// SendMessage stores a message unless its deduplication ID was seen.
func (q *Queue) SendMessage(_ context.Context, in queue.SendRequest) error {
	if q.Fail != nil {
		if err := q.Fail(); err != nil {
			return err
		}
	}
	if in.GroupID == "" || in.DedupeID == "" {
		return errors.New("queuetest: a FIFO message needs MessageGroupId and MessageDeduplicationId")
	}
	q.mu.Lock()
	q.sends++
	q.seq++
	if q.dedupe[in.DedupeID] {
		q.mu.Unlock()
		return nil
	}
	q.dedupe[in.DedupeID] = true
	q.msgs = append(q.msgs, &message{id: "msg-" + strconv.Itoa(q.seq), body: in.Body, group: in.GroupID, dedupe: in.DedupeID, sent: int64(q.seq)})
	q.mu.Unlock()
	if q.OnSend != nil {
		q.OnSend(in.Body)
	}
	return nil
}

// ChangeMessageVisibility is accepted and counted; the queue has no clock.
func (q *Queue) ChangeMessageVisibility(context.Context, queue.VisibilityRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.visCalls++
	return nil
}

// Len is the number of messages waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// Sends counts SendMessage calls, deduplicated ones included.
func (q *Queue) Sends() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sends
}

// Bodies returns the waiting messages' bodies in order.
func (q *Queue) Bodies() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, len(q.msgs))
	for i, m := range q.msgs {
		out[i] = m.body
	}
	return out
}

// Consumer is what a function does with an SQS event.
type Consumer func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Deliver hands up to ten waiting messages to c in one batch, as a FIFO
// queue does (a group's messages in order; none of a group with a message
// in flight), and deletes what c did not report failed. It returns how
// many failed.
func (q *Queue) Deliver(ctx context.Context, c Consumer) (failed int, err error) {
	_, failed, err = q.deliver(ctx, c)
	return failed, err
}

func (q *Queue) deliver(ctx context.Context, c Consumer) (handed, failed int, err error) {
	q.mu.Lock()
	busy := map[string]bool{}
	for _, m := range q.msgs {
		if m.inFlight {
			busy[m.group] = true
		}
	}
	var batch []*message
	ev := events.SQSEvent{}
	for _, m := range q.msgs {
		if len(batch) == 10 {
			break
		}
		if busy[m.group] {
			continue
		}
		m.inFlight = true
		batch = append(batch, m)
		ev.Records = append(ev.Records, m.receive())
	}
	q.mu.Unlock()
	if len(batch) == 0 {
		return 0, 0, nil
	}
	resp, err := c(ctx, ev)
	keep := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		keep[f.ItemIdentifier] = true
	}
	if err != nil {
		// A failed invocation returns the whole batch.
		for _, m := range batch {
			keep[m.id] = true
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	delivered := map[string]bool{}
	for _, m := range batch {
		m.inFlight = false
		if !keep[m.id] {
			delivered[m.id] = true
		}
	}
	rest := q.msgs[:0]
	for _, m := range q.msgs {
		if !delivered[m.id] {
			rest = append(rest, m)
		}
	}
	q.msgs = rest
	if err != nil {
		return len(batch), len(batch), fmt.Errorf("queuetest: the consumer failed: %w", err)
	}
	return len(batch), len(keep), nil
}

// Drain delivers until nothing is left to hand out (the queue is empty, or
// what waits is in flight elsewhere) or a delivery leaves failures; it
// returns how many messages are left.
func (q *Queue) Drain(ctx context.Context, c Consumer) (left int, err error) {
	for {
		handed, failed, err := q.deliver(ctx, c)
		if err != nil || failed > 0 || handed == 0 {
			return q.Len(), err
		}
	}
}

// Take removes every waiting message and returns them as the SQS events of
// at most size records each that Lambda would hand the function, each
// record on its first receive: for benchmarks, which time the consumer
// alone.
func (q *Queue) Take(size int) []events.SQSEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []events.SQSEvent
	for i, m := range q.msgs {
		if i%size == 0 {
			out = append(out, events.SQSEvent{})
		}
		ev := &out[len(out)-1]
		ev.Records = append(ev.Records, m.receive())
	}
	q.msgs = nil
	return out
}

// receive counts a receive of m and returns its record as Lambda hands it
// over (under q.mu).
func (m *message) receive() events.SQSMessage {
	m.receives++
	sent := strconv.FormatInt(m.sent, 10)
	return events.SQSMessage{
		MessageId: m.id, ReceiptHandle: "rh-" + m.id + "-" + strconv.Itoa(m.receives), Body: m.body, EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:queuetest.fifo", AWSRegion: "us-east-1",
		Attributes: map[string]string{
			"MessageGroupId": m.group, "MessageDeduplicationId": m.dedupe, "SenderId": "AROAEXAMPLE",
			"ApproximateReceiveCount": strconv.Itoa(m.receives), "SentTimestamp": sent,
			"ApproximateFirstReceiveTimestamp": sent, "SequenceNumber": fmt.Sprintf("%020d", m.sent),
		},
	}
}
