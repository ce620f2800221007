package esm_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/crmbridge/crmbridge/shared/esm"
	"github.com/crmbridge/crmbridge/shared/fauxqs"
)

var (
	client *sqs.Client
	seq    atomic.Int64
)

func TestMain(m *testing.M) {
	ctx := context.Background()
	srv, err := fauxqs.Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg, err := srv.Config(ctx)
	if err != nil {
		srv.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client = sqs.NewFromConfig(cfg)
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

// bound limits each wait for an event; reaching it fails the test. Passing
// runs wait for a visibility timeout of a second or two at most.
const bound = 60 * time.Second

// queue creates a FIFO queue with attrs; visibility 30 s unless set, so a
// success is always deleted long before it could reappear.
func queue(t *testing.T, attrs map[string]string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	a := map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30"}
	maps.Copy(a, attrs)
	name := fmt.Sprintf("esm-%d-%d.fifo", time.Now().UnixNano()%1e9, seq.Add(1))
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: a})
	if err != nil {
		t.Fatal(err)
	}
	q, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl), q.Attributes["QueueArn"]
}

func send(t *testing.T, url, group, body string, attrs map[string]types.MessageAttributeValue) string {
	t.Helper()
	out, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageGroupId: aws.String(group),
		MessageDeduplicationId: aws.String(body), MessageAttributes: attrs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// retryIn hands records back after a second, as the bridge's growing delays
// will: the handler shortens the visibility of what it fails.
func retryIn(ctx context.Context, url string, recs ...events.SQSMessage) error {
	for _, r := range recs {
		if _, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(url), ReceiptHandle: aws.String(r.ReceiptHandle), VisibilityTimeout: 1,
		}); err != nil {
			return err
		}
	}
	return nil
}

// delivery is one record as a handler saw it.
type delivery struct {
	body, group, id string
	count           int // ApproximateReceiveCount
}

// run starts m on the queue and returns a channel of settled batches; the
// mapping stops when the test ends, and the test checks it stopped.
func run(t *testing.T, m *esm.Mapping) <-chan esm.Batch {
	t.Helper()
	m.SQS = client
	if m.WaitTime == 0 {
		m.WaitTime = 2 * time.Second
	}
	settled := make(chan esm.Batch, 100)
	m.Settled = func(b esm.Batch) { settled <- b }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return settled
}

// waitFor reads settled batches until done says so.
func waitFor(t *testing.T, settled <-chan esm.Batch, done func(esm.Batch) bool) {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for {
		select {
		case b := <-settled:
			if done(b) {
				return
			}
		case <-timer.C:
			t.Fatalf("no batch settled as expected within %s", bound)
		}
	}
}

func empty(t *testing.T, url string) {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if v, inv := out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"]; v != "0" || inv != "0" {
		t.Errorf("queue holds %s visible and %s in-flight messages, want none", v, inv)
	}
}

// TestEventShape: the handler gets the event Lambda delivers: its fields,
// the FIFO system attributes, message attributes with both lists, the
// deadline and a request ID.
func TestEventShape(t *testing.T) {
	url, arn := queue(t, nil)
	body := `{"type":"message","text":"hi"}`
	id := send(t, url, "conv-1", body, map[string]types.MessageAttributeValue{
		"kind":  {DataType: aws.String("String"), StringValue: aws.String("inbound")},
		"tries": {DataType: aws.String("Number"), StringValue: aws.String("1")},
		"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2, 3}},
	})
	got := make(chan events.SQSEvent, 1)
	var left time.Duration
	var requestID string
	settled := run(t, &esm.Mapping{QueueURL: url, Timeout: 5 * time.Second, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if dl, ok := ctx.Deadline(); ok {
			left = time.Until(dl)
		}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			requestID = lc.AwsRequestID
		}
		got <- ev
		return events.SQSEventResponse{}, nil
	}})
	waitFor(t, settled, func(b esm.Batch) bool { return len(b.Deleted) == 1 })
	ev := <-got
	if len(ev.Records) != 1 {
		t.Fatalf("%d records", len(ev.Records))
	}
	r := ev.Records[0]
	sum := md5.Sum([]byte(body))
	if r.MessageId != id || r.Body != body || r.ReceiptHandle == "" || r.Md5OfBody != hex.EncodeToString(sum[:]) ||
		r.EventSource != "aws:sqs" || r.EventSourceARN != arn || r.AWSRegion != "us-east-1" || r.Md5OfMessageAttributes == "" {
		t.Errorf("record %+v", r)
	}
	for k, want := range map[string]string{"MessageGroupId": "conv-1", "MessageDeduplicationId": body, "ApproximateReceiveCount": "1"} {
		if r.Attributes[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, r.Attributes[k], want)
		}
	}
	for _, k := range []string{"SentTimestamp", "ApproximateFirstReceiveTimestamp", "SequenceNumber"} {
		if _, err := strconv.ParseUint(r.Attributes[k], 10, 64); err != nil {
			t.Errorf("attribute %s = %q, want a number", k, r.Attributes[k])
		}
	}
	if r.Attributes["SenderId"] == "" {
		t.Error("no SenderId")
	}
	if a := r.MessageAttributes["kind"]; a.DataType != "String" || aws.ToString(a.StringValue) != "inbound" {
		t.Errorf("kind %+v", a)
	}
	if a := r.MessageAttributes["blob"]; a.DataType != "Binary" || string(a.BinaryValue) != "\x01\x02\x03" {
		t.Errorf("blob %+v", a)
	}
	// The JSON has Lambda's keys (aws-lambda-go's sample event has the same).
	raw, _ := json.Marshal(ev)
	var doc struct {
		Records []map[string]json.RawMessage
	}
	_ = json.Unmarshal(raw, &doc)
	keys := slices.Sorted(maps.Keys(doc.Records[0]))
	want := []string{"attributes", "awsRegion", "body", "eventSource", "eventSourceARN", "md5OfBody", "md5OfMessageAttributes", "messageAttributes", "messageId", "receiptHandle"}
	if !slices.Equal(keys, want) {
		t.Errorf("record keys %q, want %q", keys, want)
	}
	if s := string(raw); !strings.Contains(s, `"stringListValues":[]`) || !strings.Contains(s, `"binaryListValues":[]`) {
		t.Errorf("message attributes without Lambda's empty lists: %s", s)
	}
	if left == 0 || left > 5*time.Second {
		t.Errorf("the invocation had %s left, want a deadline within the 5 s function timeout", left)
	}
	if len(requestID) != 32 {
		t.Errorf("request ID %q", requestID)
	}
	empty(t, url)
}

// TestPartialFailure: only the records named in batchItemFailures come
// back; the rest of the batch is deleted.
func TestPartialFailure(t *testing.T) {
	url, _ := queue(t, nil)
	ids := map[string]string{}
	for _, g := range []string{"a", "b", "c"} {
		ids[send(t, url, g, g+"1", nil)] = g + "1"
	}
	var mu sync.Mutex
	seen := map[string][]int{}
	settled := run(t, &esm.Mapping{QueueURL: url, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
			seen[r.Body] = append(seen[r.Body], n)
			if r.Body == "b1" && n == 1 {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				if err := retryIn(ctx, url, r); err != nil {
					return resp, err
				}
			}
		}
		return resp, nil
	}})
	var first *esm.Batch
	waitFor(t, settled, func(b esm.Batch) bool {
		if first == nil && len(b.Failed) > 0 {
			first = &b
		}
		return slices.ContainsFunc(b.Deleted, func(id string) bool { return ids[id] == "b1" })
	})
	if first == nil || len(first.Failed) != 1 || ids[first.Failed[0]] != "b1" || first.Err != nil {
		t.Fatalf("the failing batch settled as %+v", first)
	}
	if len(first.Event.Records) != 3 || len(first.Deleted) != 2 {
		t.Errorf("the failing batch had %d records and deleted %d, want 3 and 2 (fauxqs gives one per group)", len(first.Event.Records), len(first.Deleted))
	}
	mu.Lock()
	defer mu.Unlock()
	if want := map[string][]int{"a1": {1}, "b1": {1, 2}, "c1": {1}}; !maps.EqualFunc(seen, want, slices.Equal) {
		t.Errorf("deliveries %v, want %v", seen, want)
	}
	empty(t, url)
}

// TestGroupOrderAcrossFailure: a failed record holds back its group, and
// only its group: group a's second message keeps failing until group b has
// been delivered entirely, then a continues in order.
func TestGroupOrderAcrossFailure(t *testing.T) {
	url, _ := queue(t, nil)
	for _, m := range [][2]string{{"a", "a1"}, {"a", "a2"}, {"a", "a3"}, {"b", "b1"}, {"b", "b2"}, {"b", "b3"}} {
		send(t, url, m[0], m[1], nil)
	}
	var mu sync.Mutex
	var order []delivery
	bDone := false
	settled := run(t, &esm.Mapping{QueueURL: url, Concurrency: 3, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp events.SQSEventResponse
		failedGroups := map[string]bool{}
		for _, r := range ev.Records {
			g := r.Attributes["MessageGroupId"]
			n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
			order = append(order, delivery{body: r.Body, group: g, count: n})
			// A FIFO handler fails a failed record's later records too.
			if failedGroups[g] || (r.Body == "a2" && !bDone) {
				failedGroups[g] = true
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				if err := retryIn(ctx, url, r); err != nil {
					return resp, err
				}
				continue
			}
			if r.Body == "b3" {
				bDone = true
			}
		}
		return resp, nil
	}})
	deleted := map[string]bool{}
	waitFor(t, settled, func(b esm.Batch) bool {
		for _, r := range b.Event.Records {
			if slices.Contains(b.Deleted, r.MessageId) {
				deleted[r.Body] = true
			}
		}
		return len(deleted) == 6
	})
	mu.Lock()
	defer mu.Unlock()
	var a, b []string
	for _, d := range order {
		if d.group == "a" {
			a = append(a, d.body)
		} else {
			b = append(b, d.body)
		}
	}
	if !slices.Equal(b, []string{"b1", "b2", "b3"}) {
		t.Errorf("group b delivered %q", b)
	}
	// a1, then a2 as often as it failed (at least once: b was not done
	// before a2 came first), then a2 and a3.
	if len(a) < 4 || a[0] != "a1" || a[len(a)-1] != "a3" || slices.ContainsFunc(a[1:len(a)-1], func(s string) bool { return s != "a2" }) {
		t.Errorf("group a delivered %q, want a1, a2 until b was done, then a3", a)
	}
	empty(t, url)
}

// TestWholeBatchFailure: a function error, a panic, a timeout or a
// malformed answer leaves every record for redelivery; the mapping goes on.
func TestWholeBatchFailure(t *testing.T) {
	tests := []struct {
		name string
		fail func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)
		want error
	}{
		{name: "error", want: errors.New("boom"), fail: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, errors.New("boom")
		}},
		{name: "panic", want: esm.ErrPanic, fail: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			panic("handler bug")
		}},
		{name: "timeout", want: esm.ErrTimeout, fail: func(ctx context.Context, _ events.SQSEvent) (events.SQSEventResponse, error) {
			<-ctx.Done() // a handler that answers only after its deadline
			return events.SQSEventResponse{}, nil
		}},
		{name: "unknown identifier", want: esm.ErrResponse, fail: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-in-batch"}}}, nil
		}},
		{name: "empty identifier", want: esm.ErrResponse, fail: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{}}}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := queue(t, nil)
			for _, g := range []string{"x", "y"} {
				send(t, url, g, g+"1", nil)
			}
			var calls atomic.Int32
			settled := run(t, &esm.Mapping{QueueURL: url, Timeout: time.Second, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				if calls.Add(1) > 1 {
					return events.SQSEventResponse{}, nil
				}
				if err := retryIn(context.WithoutCancel(ctx), url, ev.Records...); err != nil {
					return events.SQSEventResponse{}, err
				}
				return tt.fail(ctx, ev)
			}})
			// The failed batch settles, then each of its records is
			// delivered again (with receive count 2) and deleted; the
			// second invocation may start before the first timed out.
			var failed esm.Batch
			again := map[string]string{} // message ID → receive count when deleted
			waitFor(t, settled, func(b esm.Batch) bool {
				if b.Err != nil {
					failed = b
				}
				for _, r := range b.Event.Records {
					if slices.Contains(b.Deleted, r.MessageId) {
						again[r.MessageId] = r.Attributes["ApproximateReceiveCount"]
					}
				}
				return failed.Err != nil && len(again) == 2
			})
			if !errors.Is(failed.Err, tt.want) && failed.Err.Error() != tt.want.Error() {
				t.Fatalf("failed batch error %v, want %v", failed.Err, tt.want)
			}
			if len(failed.Event.Records) != 2 || len(failed.Failed) != 2 || len(failed.Deleted) != 0 {
				t.Errorf("failed batch: %d records, %d failed, %d deleted; want all 2 failed", len(failed.Event.Records), len(failed.Failed), len(failed.Deleted))
			}
			for _, r := range failed.Event.Records {
				if again[r.MessageId] != "2" {
					t.Errorf("%s was deleted with receive count %q, want 2 (the redelivery)", r.Body, again[r.MessageId])
				}
			}
			empty(t, url)
		})
	}
}

// TestRedrive: a record that keeps failing moves to the dead-letter queue
// after maxReceiveCount deliveries, and its group then goes on.
func TestRedrive(t *testing.T) {
	dlq, dlqARN := queue(t, nil)
	url, _ := queue(t, map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"2"}`})
	poison := send(t, url, "g", "poison", nil)
	send(t, url, "g", "next", nil)
	var mu sync.Mutex
	var order []delivery
	settled := run(t, &esm.Mapping{QueueURL: url, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
			order = append(order, delivery{body: r.Body, id: r.MessageId, count: n})
			if r.Body == "poison" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				if err := retryIn(ctx, url, r); err != nil {
					return resp, err
				}
			}
		}
		return resp, nil
	}})
	waitFor(t, settled, func(b esm.Batch) bool {
		return slices.ContainsFunc(b.Event.Records, func(r events.SQSMessage) bool { return r.Body == "next" && slices.Contains(b.Deleted, r.MessageId) })
	})
	mu.Lock()
	got := slices.Clone(order)
	mu.Unlock()
	want := []delivery{{body: "poison", id: poison, count: 1}, {body: "poison", id: poison, count: 2}, {body: "next", count: 1}}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2].body != "next" || got[2].count != 1 {
		t.Errorf("deliveries %+v, want %+v", got, want)
	}
	out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].MessageId) != poison {
		t.Errorf("dead-letter queue holds %+v, want the poison message", out.Messages)
	}
	empty(t, url)
}

// TestConcurrencyBound: groups are processed concurrently, never more than
// Concurrency at once.
func TestConcurrencyBound(t *testing.T) {
	url, _ := queue(t, nil)
	for _, g := range []string{"a", "b", "c", "d", "e"} {
		send(t, url, g, g, nil)
	}
	var mu sync.Mutex
	inFlight, most := 0, 0
	both := make(chan struct{})
	settled := run(t, &esm.Mapping{QueueURL: url, BatchSize: 1, Concurrency: 2, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		if inFlight == 2 {
			select {
			case <-both:
			default:
				close(both)
			}
		}
		mu.Unlock()
		// The first two wait for each other: with one invocation at a time
		// this never returns, and the test fails at its bound.
		select {
		case <-both:
		case <-ctx.Done():
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return events.SQSEventResponse{}, nil
	}, Timeout: 30 * time.Second})
	n := 0
	waitFor(t, settled, func(b esm.Batch) bool {
		if b.Err != nil {
			t.Errorf("batch failed: %v", b.Err)
		}
		n += len(b.Deleted)
		return n == 5
	})
	mu.Lock()
	defer mu.Unlock()
	if most != 2 {
		t.Errorf("at most %d invocations at once, want 2", most)
	}
}

// TestStopDrains: cancelling the mapping lets the invocation in flight
// finish and settle before Run returns. (Receives in flight are abandoned:
// what SQS hands to one comes back after its visibility timeout, as with a
// poller that goes away on AWS.)
func TestStopDrains(t *testing.T) {
	url, _ := queue(t, nil)
	send(t, url, "g", "first", nil)
	started, release := make(chan struct{}), make(chan struct{})
	var settledN atomic.Int32
	m := &esm.Mapping{SQS: client, QueueURL: url, WaitTime: 2 * time.Second, Timeout: 30 * time.Second,
		Settled: func(esm.Batch) { settledN.Add(1) },
		Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			close(started)
			<-release
			if ctx.Err() != nil {
				return events.SQSEventResponse{}, fmt.Errorf("the invocation was cancelled with the mapping: %w", ctx.Err())
			}
			return events.SQSEventResponse{}, nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	<-started
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := settledN.Load(); n != 1 {
		t.Fatalf("Run returned with %d settled batches, want the one in flight", n)
	}
	empty(t, url)
}

func TestConfigErrors(t *testing.T) {
	url, _ := queue(t, map[string]string{"VisibilityTimeout": "5"})
	h := func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}
	tests := []struct {
		name string
		m    esm.Mapping
		want string
	}{
		{name: "timeout beyond visibility", m: esm.Mapping{QueueURL: url, Handler: h, Timeout: 6 * time.Second}, want: "visibility timeout 5 s is less than the function timeout 6s"},
		{name: "batch too large", m: esm.Mapping{QueueURL: url, Handler: h, BatchSize: 11}, want: "batch size 11"},
		{name: "wait too long", m: esm.Mapping{QueueURL: url, Handler: h, WaitTime: time.Minute}, want: "wait time"},
		{name: "no handler", m: esm.Mapping{QueueURL: url}, want: "needs SQS, QueueURL and Handler"},
		{name: "no queue", m: esm.Mapping{QueueURL: url + "-missing", Handler: h}, want: "esm: queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.SQS = client
			err := tt.m.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
