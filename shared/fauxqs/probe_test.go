package fauxqs_test

// The FIFO probe: the SQS semantics the bridge's queues rely on, run
// against fauxqs (which must pass) and moto_server (whose differences are
// logged, so the choice of emulator stays measured, not remembered). Every
// wait is for an event (a long poll returning a message); what must not
// happen is proven by what happened instead (a later message of the same
// group, a clock message's redelivery), never by waiting for a while.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/crmbridge/crmbridge/shared/fauxqs"
	"github.com/crmbridge/crmbridge/shared/motoserver"
)

// The emulators, started once for the package.
var (
	fauxSQS *sqs.Client
	motoSQS *sqs.Client
	fauxSrv *fauxqs.Server
	seq     atomic.Int64
)

func TestMain(m *testing.M) {
	ctx := context.Background()
	f, err := fauxqs.Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mo, err := motoserver.Start(ctx)
	if err != nil {
		f.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fcfg, err1 := f.Config(ctx)
	mcfg, err2 := mo.Config(ctx)
	if err := errors.Join(err1, err2); err != nil {
		f.Stop()
		mo.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fauxSrv, fauxSQS, motoSQS = f, sqs.NewFromConfig(fcfg), sqs.NewFromConfig(mcfg)
	code := m.Run()
	f.Stop()
	mo.Stop()
	os.Exit(code)
}

// bound limits every wait for a message; reaching it is a failure, and no
// passing run comes near it (a visibility timeout of a few seconds).
const bound = 90 * time.Second

// emulator is one SQS implementation under probe.
type emulator struct {
	name   string
	client func() *sqs.Client
	strict bool // fauxqs: a difference from SQS fails the test
}

var emulators = []emulator{
	{name: "fauxqs", client: func() *sqs.Client { return fauxSQS }, strict: true},
	{name: "moto_server", client: func() *sqs.Client { return motoSQS }},
}

// probe runs one check on one emulator.
type probe struct {
	t      *testing.T
	ctx    context.Context
	sqs    *sqs.Client
	name   string
	strict bool
}

// differs reports a difference from SQS: an error on fauxqs, a logged
// finding on moto_server.
func (p *probe) differs(format string, args ...any) {
	p.t.Helper()
	if p.strict {
		p.t.Errorf(format, args...)
		return
	}
	p.t.Logf("%s differs from SQS: %s", p.name, fmt.Sprintf(format, args...))
}

// must stops the probe on an error the probe cannot go on after.
func (p *probe) must(err error, what string) {
	p.t.Helper()
	if err == nil {
		return
	}
	if p.strict {
		p.t.Fatalf("%s: %v", what, err)
	}
	p.t.Logf("%s differs from SQS: %s: %v (probe stopped)", p.name, what, err)
	p.t.SkipNow()
}

func runProbe(t *testing.T, check func(p *probe)) {
	for _, e := range emulators {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*bound)
			defer cancel()
			check(&probe{t: t, ctx: ctx, sqs: e.client(), name: e.name, strict: e.strict})
		})
	}
}

// queue creates a FIFO queue; dlq, if set, is its dead-letter queue's ARN.
func (p *probe) queue(prefix string, attrs map[string]string) (url, arn string) {
	p.t.Helper()
	name := fmt.Sprintf("%s-%d-%d.fifo", prefix, time.Now().UnixNano()%1e9, seq.Add(1))
	a := map[string]string{"FifoQueue": "true"}
	for k, v := range attrs {
		a[k] = v
	}
	out, err := p.sqs.CreateQueue(p.ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: a})
	p.must(err, "create queue "+name)
	got, err := p.sqs.GetQueueAttributes(p.ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	p.must(err, "queue ARN")
	return aws.ToString(out.QueueUrl), got.Attributes[string(types.QueueAttributeNameQueueArn)]
}

// send sends body to group with dedup as its deduplication ID ("" for
// content-based deduplication) and returns the message ID.
func (p *probe) send(url, group, dedup, body string) string {
	p.t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageGroupId: aws.String(group)}
	if dedup != "" {
		in.MessageDeduplicationId = aws.String(dedup)
	}
	out, err := p.sqs.SendMessage(p.ctx, in)
	p.must(err, "send "+body)
	return aws.ToString(out.MessageId)
}

// receive makes one long poll (up to max messages, each invisible for vis
// seconds).
func (p *probe) receive(url string, max, vis int32) []types.Message {
	p.t.Helper()
	out, err := p.sqs.ReceiveMessage(p.ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: max, VisibilityTimeout: vis, WaitTimeSeconds: 2,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	p.must(err, "receive")
	return out.Messages
}

// until long-polls until done says so, and returns every message received
// on the way, in order. It fails the probe if bound passes first.
func (p *probe) until(url string, max, vis int32, done func(got []types.Message) bool) []types.Message {
	p.t.Helper()
	var got []types.Message
	deadline := time.Now().Add(bound)
	for !done(got) {
		if time.Now().After(deadline) {
			p.differs("waited %s for a message; received %q so far", bound, bodies(got))
			p.t.SkipNow()
		}
		got = append(got, p.receive(url, max, vis)...)
	}
	return got
}

func (p *probe) delete(url string, m types.Message) {
	p.t.Helper()
	_, err := p.sqs.DeleteMessage(p.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
	p.must(err, "delete "+aws.ToString(m.Body))
}

func (p *probe) setVisibility(url string, m types.Message, vis int32) error {
	_, err := p.sqs.ChangeMessageVisibility(p.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: vis})
	return err
}

func (p *probe) count(url string, attr types.QueueAttributeName) int {
	p.t.Helper()
	out, err := p.sqs.GetQueueAttributes(p.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{attr}})
	p.must(err, "queue attributes")
	n, _ := strconv.Atoi(out.Attributes[string(attr)])
	return n
}

func bodies(ms []types.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = aws.ToString(m.Body)
	}
	return out
}

func has(body string) func([]types.Message) bool {
	return func(got []types.Message) bool { return slices.Contains(bodies(got), body) }
}

// drain receives and deletes each message at once until want bodies were
// deleted, and returns the bodies in the order they came.
func (p *probe) drain(url string, n int) []string {
	p.t.Helper()
	var order []string
	p.until(url, 10, 30, func(got []types.Message) bool {
		for _, m := range got[len(order):] {
			p.delete(url, m)
			order = append(order, aws.ToString(m.Body))
		}
		return len(order) >= n
	})
	return order
}

// TestProbeOrderOnRedelivery: a group's messages come back in order after
// a visibility timeout, with the receive count and the system attributes
// the event source passes on. moto_server 5.2.1 returned the third message
// first.
func TestProbeOrderOnRedelivery(t *testing.T) {
	runProbe(t, func(p *probe) {
		url, _ := p.queue("order", nil)
		for _, b := range []string{"m1", "m2", "m3"} {
			p.send(url, "g", "d-"+b, b)
		}
		first := p.until(url, 10, 1, has("m1"))
		if bodies(first)[0] != "m1" {
			p.differs("first delivery %q, want m1 first", bodies(first))
		}
		p.t.Logf("%s: the first receive returned %q (SQS returns several messages of one group in a batch where it can)", p.name, bodies(first))
		m := first[0]
		for _, a := range []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameMessageGroupId, types.MessageSystemAttributeNameMessageDeduplicationId,
			types.MessageSystemAttributeNameSequenceNumber, types.MessageSystemAttributeNameSentTimestamp,
			types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp, types.MessageSystemAttributeNameSenderId,
		} {
			if m.Attributes[string(a)] == "" {
				p.differs("attribute %s missing from a FIFO message (%v)", a, m.Attributes)
			}
		}
		if m.Attributes["MessageGroupId"] != "g" || m.Attributes["MessageDeduplicationId"] != "d-m1" || m.Attributes["ApproximateReceiveCount"] != "1" {
			p.differs("attributes %v, want group g, deduplication ID d-m1, receive count 1", m.Attributes)
		}

		// Nothing is deleted: after the timeout the group starts again at m1.
		var again []types.Message
		p.until(url, 10, 30, func(got []types.Message) bool {
			for _, m := range got[len(again):] {
				p.delete(url, m)
				again = append(again, m)
			}
			return len(again) >= 3
		})
		if got := bodies(again); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
			p.differs("after a visibility timeout the group came back as %q, want [m1 m2 m3]", got)
		}
		if c := again[0].Attributes["ApproximateReceiveCount"]; c != "2" {
			p.differs("redelivered %s has receive count %s, want 2", aws.ToString(again[0].Body), c)
		}
	})
}

// TestProbeRedriveInOrder: after maxReceiveCount receives the messages move
// to the dead-letter queue, in their group's order, each received exactly
// maxReceiveCount times.
func TestProbeRedriveInOrder(t *testing.T) {
	runProbe(t, func(p *probe) {
		dlq, dlqARN := p.queue("dlq", nil)
		// A visibility timeout of 0 hands a message straight back, so each
		// receive is one more failed attempt. (It is the queue's: the SDK
		// leaves a ReceiveMessage VisibilityTimeout of 0 out of the request.)
		url, _ := p.queue("redrive", map[string]string{
			"RedrivePolicy":     `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"2"}`,
			"VisibilityTimeout": "0",
		})
		want := []string{"m1", "m2", "m3"}
		for _, b := range want {
			p.send(url, "g", "d-"+b, b)
		}
		// A message moves on the receive after its last allowed one.
		receives := map[string]int{}
		deadline := time.Now().Add(bound)
		for p.count(dlq, types.QueueAttributeNameApproximateNumberOfMessages) < len(want) {
			if time.Now().After(deadline) {
				p.differs("after %v receives the dead-letter queue holds %d messages, want %d", receives,
					p.count(dlq, types.QueueAttributeNameApproximateNumberOfMessages), len(want))
				p.t.SkipNow()
			}
			for _, m := range p.receive(url, 10, 0) {
				receives[aws.ToString(m.Body)]++
			}
		}
		for _, b := range want {
			if receives[b] != 2 {
				p.differs("%s was received %d times before it was dead-lettered, want maxReceiveCount 2 (all: %v)", b, receives[b], receives)
			}
		}
		if got := p.drain(dlq, len(want)); !slices.Equal(got, want) {
			p.differs("dead-letter queue order %q, want %q", got, want)
		}
	})
}

// TestProbeDeduplication: within the 5-minute window a repeated
// deduplication ID (explicit, or the body's hash with content-based
// deduplication) is accepted and not delivered, also after the first was
// deleted. A later message of the same group proves the duplicate was not
// queued: it would have come first.
func TestProbeDeduplication(t *testing.T) {
	runProbe(t, func(p *probe) {
		url, _ := p.queue("dedup", nil)
		id := p.send(url, "g", "same", "first")
		if again := p.send(url, "g", "same", "second"); again != id {
			p.t.Logf("%s: a duplicate send answered message ID %s, the original was %s", p.name, again, id)
		}
		p.send(url, "g", "sentinel-1", "sentinel-1")
		if got := p.drain(url, 2); !slices.Equal(got, []string{"first", "sentinel-1"}) {
			p.differs("explicit deduplication delivered %q, want [first sentinel-1]", got)
		}
		p.send(url, "g", "same", "after delete")
		p.send(url, "g", "sentinel-2", "sentinel-2")
		if got := p.drain(url, 1); !slices.Equal(got, []string{"sentinel-2"}) {
			p.differs("a deduplication ID reused after the delete delivered %q, want [sentinel-2]", got)
		}

		cb, _ := p.queue("content", map[string]string{"ContentBasedDeduplication": "true"})
		p.send(cb, "g", "", "hello")
		p.send(cb, "g", "", "hello")
		p.send(cb, "g", "", "world")
		var got []types.Message
		p.until(cb, 10, 30, func(ms []types.Message) bool {
			for _, m := range ms[len(got):] {
				p.delete(cb, m)
				got = append(got, m)
			}
			return len(got) >= 2
		})
		if b := bodies(got); !slices.Equal(b, []string{"hello", "world"}) {
			p.differs("content-based deduplication delivered %q, want [hello world]", b)
		}
		if d := got[0].Attributes["MessageDeduplicationId"]; len(d) != 64 {
			p.differs("content-based deduplication ID %q, want the body's SHA-256 in hex", d)
		}
	})
}

// TestProbeVisibilityChange: ChangeMessageVisibility extends an in-flight
// message past its first timeout (the bridge's growing retry delays, as a
// FIFO queue has no per-message DelaySeconds), and a shortened one comes
// back at the head of its group.
func TestProbeVisibilityChange(t *testing.T) {
	runProbe(t, func(p *probe) {
		url, _ := p.queue("visibility", nil)
		const short = 2 // seconds
		var a1 types.Message
		// The extension must reach the queue before the first timeout ends;
		// a round where the machine stalled longer than that proves nothing
		// and is repeated with fresh messages.
		for round := 0; ; round++ {
			if round == 5 {
				p.t.Fatalf("%d rounds took longer than %ds from receive to ChangeMessageVisibility", round, short)
			}
			a, b := fmt.Sprintf("a1-%d", round), fmt.Sprintf("a2-%d", round)
			p.send(url, "A", a, a)
			p.send(url, "A", b, b)
			start := time.Now()
			got := p.until(url, 1, short, has(a))
			a1 = got[len(got)-1]
			err := p.setVisibility(url, a1, 60)
			if time.Since(start) < short*time.Second {
				p.must(err, "extend an in-flight message")
				break
			}
			p.t.Logf("round %d took %s; repeating", round, time.Since(start))
			_, err = p.sqs.PurgeQueue(p.ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})
			p.must(err, "purge the stalled round")
		}
		// A clock message received with the short timeout after the
		// extension: when it comes back, a1's first timeout has passed too.
		p.send(url, "clock", "c1", "c1")
		seen := p.until(url, 10, short, has("c1"))
		seen = append(seen, p.until(url, 10, 30, has("c1"))...)
		for _, m := range seen {
			switch b := aws.ToString(m.Body); {
			case b == aws.ToString(a1.Body):
				p.differs("%s came back while its visibility was extended (received %q)", b, bodies(seen))
			case strings.HasPrefix(b, "a"):
				p.differs("%s was delivered while %s was in flight (received %q)", b, aws.ToString(a1.Body), bodies(seen))
			}
		}
		if err := p.setVisibility(url, a1, 60); err != nil {
			p.differs("the extended message is no longer in flight: %v", err)
		}
		// A retry delay: a1 is handed back in 1 s and must come before a2.
		p.must(p.setVisibility(url, a1, 1), "shorten the visibility")
		next := p.until(url, 1, 30, func(ms []types.Message) bool {
			return slices.ContainsFunc(ms, func(m types.Message) bool { return strings.HasPrefix(aws.ToString(m.Body), "a") })
		})
		if b := aws.ToString(next[len(next)-1].Body); b != aws.ToString(a1.Body) {
			p.differs("after its delay the group resumed with %s, want %s", b, aws.ToString(a1.Body))
		}
	})
}

// TestProbeGroupBlocking: while a group's head is in flight nothing else of
// that group is delivered, and other groups go on.
func TestProbeGroupBlocking(t *testing.T) {
	runProbe(t, func(p *probe) {
		url, _ := p.queue("blocking", nil)
		for _, m := range [][2]string{{"A", "a1"}, {"A", "a2"}, {"B", "b1"}, {"B", "b2"}} {
			p.send(url, m[0], m[1], m[1])
		}
		var inFlight []string
		var bDone []string
		p.until(url, 1, 60, func(got []types.Message) bool {
			for _, m := range got[len(inFlight)+len(bDone):] {
				switch b := aws.ToString(m.Body); {
				case strings.HasPrefix(b, "b"):
					p.delete(url, m)
					bDone = append(bDone, b)
				default:
					inFlight = append(inFlight, b)
				}
			}
			return len(bDone) == 2
		})
		if !slices.Equal(bDone, []string{"b1", "b2"}) {
			p.differs("group B delivered %q, want [b1 b2]", bDone)
		}
		if !slices.Equal(inFlight, []string{"a1"}) {
			p.differs("group A delivered %q while its head was in flight, want [a1]", inFlight)
		}
		if n := p.count(url, types.QueueAttributeNameApproximateNumberOfMessages); n != 1 {
			p.differs("%d messages waiting, want 1 (a2)", n)
		}
	})
}

// TestProbeNoPerMessageDelay: a FIFO queue refuses a per-message
// DelaySeconds, so retry delays must come from ChangeMessageVisibility.
func TestProbeNoPerMessageDelay(t *testing.T) {
	runProbe(t, func(p *probe) {
		url, _ := p.queue("delay", nil)
		_, err := p.sqs.SendMessage(p.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
			MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("x"), DelaySeconds: 5})
		if err == nil {
			p.differs("a per-message DelaySeconds on a FIFO queue was accepted")
		}
	})
}

// TestProbeReceiveAttempt records (without judging) whether a retried
// ReceiveMessage with the same ReceiveRequestAttemptId gets the same
// messages back, as SQS documents; the bridge does not rely on it.
func TestProbeReceiveAttempt(t *testing.T) {
	runProbe(t, func(p *probe) {
		url, _ := p.queue("attempt", nil)
		p.send(url, "g", "m1", "m1")
		in := &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30, WaitTimeSeconds: 2, ReceiveRequestAttemptId: aws.String("attempt-1")}
		first, err := p.sqs.ReceiveMessage(p.ctx, in)
		p.must(err, "receive")
		second, err := p.sqs.ReceiveMessage(p.ctx, &sqs.ReceiveMessageInput{QueueUrl: in.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30, ReceiveRequestAttemptId: in.ReceiveRequestAttemptId})
		p.must(err, "repeat the receive")
		p.t.Logf("%s: a repeated ReceiveRequestAttemptId returned %q after %q (SQS: the same messages)", p.name, bodies(second.Messages), bodies(first.Messages))
	})
}
