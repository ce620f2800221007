package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// msg builds an SQS record of conversation pcid; id doubles as the body's
// key so the handler can tell records apart.
func msg(t *testing.T, pcid, id string, age time.Duration, receives int) events.SQSMessage {
	t.Helper()
	body, err := json.Marshal(Envelope{V: Version, Kind: KindInbound, Key: id, PCID: pcid, Enqueued: t0.Add(-age).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{
		MessageId: "m-" + id, ReceiptHandle: "rh-" + id, Body: string(body),
		Attributes: map[string]string{
			"MessageGroupId": GroupID(pcid), "ApproximateReceiveCount": strconv.Itoa(receives),
			"SentTimestamp": strconv.FormatInt(t0.Add(-age).UnixMilli(), 10),
		},
	}
}

type visCall struct {
	handle string
	secs   int32
}

type fakeVis struct {
	mu    sync.Mutex
	calls []visCall
}

func (f *fakeVis) ChangeMessageVisibility(_ context.Context, in VisibilityRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, visCall{in.ReceiptHandle, in.Seconds})
	return nil
}

func (f *fakeVis) sorted() []visCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.calls)
	slices.SortFunc(out, func(a, b visCall) int { return strings.Compare(a.handle, b.handle) })
	return out
}

func failedIDs(resp events.SQSEventResponse) []string {
	var out []string
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	slices.Sort(out)
	return out
}

func TestConsumerOutcomes(t *testing.T) {
	errDown := errors.New("agent down")
	type want struct {
		failed  []string
		buried  []string
		handled []string // per conversation a: the order records were handled
		vis     []visCall
	}
	tests := []struct {
		name    string
		records func(t *testing.T) []events.SQSMessage
		handle  map[string]Outcome // by key; missing = Done
		panics  map[string]bool
		buryErr bool
		maxAge  time.Duration
		want    want
	}{
		{
			name: "all delivered",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{msg(t, "a", "a1", 0, 1), msg(t, "b", "b1", 0, 1), msg(t, "a", "a2", 0, 1)}
			},
			want: want{handled: []string{"a1", "a2"}},
		},
		{
			name: "a failure returns itself and the later records of its conversation only",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{msg(t, "a", "a1", 0, 1), msg(t, "a", "a2", 10*time.Second, 1), msg(t, "b", "b1", 0, 1), msg(t, "a", "a3", 0, 1), msg(t, "b", "b2", 0, 1)}
			},
			handle: map[string]Outcome{"a2": Retry(errDown)},
			want: want{
				failed: []string{"m-a2", "m-a3"}, handled: []string{"a1", "a2"},
				// a2 is 10 s old: 0.5 × 10 s = 5 s (jitter 0.5 → ×1.0).
				vis: []visCall{{"rh-a2", 5}, {"rh-a3", 5}},
			},
		},
		{
			name: "Retry-After wins over a shorter schedule",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{msg(t, "a", "a1", 0, 1)}
			},
			handle: map[string]Outcome{"a1": RetryAfter(40*time.Second, errDown)},
			want:   want{failed: []string{"m-a1"}, handled: []string{"a1"}, vis: []visCall{{"rh-a1", 40}}},
		},
		{
			name: "a dead record is kept and does not block its conversation",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{msg(t, "a", "a1", 0, 1), msg(t, "a", "a2", 0, 1)}
			},
			handle: map[string]Outcome{"a1": Dead(errors.New("400"))},
			want:   want{buried: []string{"a1"}, handled: []string{"a1", "a2"}},
		},
		{
			name: "a dead record that cannot be kept is retried",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{msg(t, "a", "a1", 0, 1), msg(t, "a", "a2", 0, 1)}
			},
			handle:  map[string]Outcome{"a1": Dead(errors.New("400"))},
			buryErr: true,
			want:    want{failed: []string{"m-a1", "m-a2"}, handled: []string{"a1"}, vis: []visCall{{"rh-a1", 2}, {"rh-a2", 2}}},
		},
		{
			name: "past the account's maximum age a failure becomes a dead letter",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{msg(t, "a", "a1", 2*time.Hour, 40), msg(t, "a", "a2", time.Minute, 40)}
			},
			handle: map[string]Outcome{"a1": Retry(errDown)},
			maxAge: time.Hour,
			want:   want{buried: []string{"a1"}, handled: []string{"a1", "a2"}},
		},
		{
			name: "a panic is a retry",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{msg(t, "a", "a1", 0, 1), msg(t, "a", "a2", 0, 1)}
			},
			panics: map[string]bool{"a1": true},
			want:   want{failed: []string{"m-a1", "m-a2"}, handled: []string{"a1"}, vis: []visCall{{"rh-a1", 2}, {"rh-a2", 2}}},
		},
		{
			name: "an unreadable record is a dead letter",
			records: func(t *testing.T) []events.SQSMessage {
				bad := msg(t, "a", "x", 0, 1)
				bad.Body = `{"v":9}`
				return []events.SQSMessage{bad, msg(t, "a", "a1", 0, 1)}
			},
			want: want{buried: []string{"m-x"}, handled: []string{"a1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var handled, buried []string
			vis := &fakeVis{}
			c := &Consumer{
				Handle: func(_ context.Context, r Record) Outcome {
					if r.PCID == "a" {
						mu.Lock()
						handled = append(handled, r.Key)
						mu.Unlock()
					}
					if tc.panics[r.Key] {
						panic("boom")
					}
					if o, ok := tc.handle[r.Key]; ok {
						return o
					}
					return Done("sent")
				},
				Bury: func(_ context.Context, r Record, cause error) error {
					if tc.buryErr {
						return errors.New("dynamodb down")
					}
					if cause == nil {
						t.Errorf("bury %s without a cause", r.MessageID)
					}
					mu.Lock()
					defer mu.Unlock()
					if r.Key == "" {
						buried = append(buried, r.MessageID)
					} else {
						buried = append(buried, r.Key)
					}
					return nil
				},
				MaxAge:     func(context.Context, Record) time.Duration { return tc.maxAge },
				Visibility: vis, URL: "http://sqs.local/q.fifo",
				Now:    func() time.Time { return t0 },
				Jitter: func() float64 { return 0.5 },
			}
			resp, err := c.Consume(context.Background(), events.SQSEvent{Records: tc.records(t)})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(buried)
			got := want{failed: failedIDs(resp), buried: buried, handled: handled, vis: vis.sorted()}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestConsumerStopsBeforeTheDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var handled []string
	c := &Consumer{
		Handle: func(_ context.Context, r Record) Outcome {
			handled = append(handled, r.Key)
			cancel() // the invocation runs out of time during the first record
			return Done("sent")
		},
		Now: func() time.Time { return t0 },
	}
	resp, _ := c.Consume(ctx, events.SQSEvent{Records: []events.SQSMessage{msg(t, "a", "a1", 0, 1), msg(t, "a", "a2", 0, 1)}})
	if !reflect.DeepEqual(handled, []string{"a1"}) || !reflect.DeepEqual(failedIDs(resp), []string{"m-a2"}) {
		t.Fatalf("handled %v, failed %v; want a1 handled and a2 returned unprocessed", handled, failedIDs(resp))
	}
}

func TestConsumerRunsConversationsConcurrently(t *testing.T) {
	// Conversation a's record waits until b's has run: only possible if
	// they do not run one after the other.
	bRan := make(chan struct{})
	c := &Consumer{Handle: func(ctx context.Context, r Record) Outcome {
		switch r.PCID {
		case "a":
			select {
			case <-bRan:
			case <-ctx.Done():
				return Retry(ctx.Err())
			}
		case "b":
			close(bRan)
		}
		return Done("sent")
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, _ := c.Consume(ctx, events.SQSEvent{Records: []events.SQSMessage{msg(t, "a", "a1", 0, 1), msg(t, "b", "b1", 0, 1)}})
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 2 * time.Second, Cap: 30 * time.Minute, Factor: 0.5}
	tests := []struct {
		age, after time.Duration
		jitter     float64
		want       time.Duration
	}{
		{0, 0, 0.5, 2 * time.Second},
		{time.Minute, 0, 0.5, 30 * time.Second},
		{time.Minute, 0, 0, 24 * time.Second},
		{time.Minute, 0, 0.999999, 36 * time.Second},
		{10 * time.Hour, 0, 0.5, 30 * time.Minute},
		{0, 5 * time.Minute, 0.5, 5 * time.Minute},
		{0, 48 * time.Hour, 0.5, 12 * time.Hour},
	}
	for _, tc := range tests {
		got := b.Delay(tc.age, tc.after, tc.jitter).Round(time.Second)
		if got != tc.want {
			t.Errorf("Delay(age %s, after %s, jitter %v) = %s, want %s", tc.age, tc.after, tc.jitter, got, tc.want)
		}
	}
	// The schedule grows and the retries within 24 h stay far below a
	// redrive maxReceiveCount of 1000.
	age, n := time.Duration(0), 0
	for age < 24*time.Hour {
		age += DefaultBackoff.Delay(age, 0, 0)
		n++
	}
	if n > 200 {
		t.Fatalf("%d retries in 24 h", n)
	}
}

func TestIDs(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, id := range []string{GroupID(long), GroupID("generic:acct:c\n1"), DedupeID(long)} {
		if len(id) > 128 {
			t.Errorf("%q: longer than 128", id)
		}
		for _, r := range id {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Errorf("%q: character %q", id, r)
			}
		}
	}
	a, b, again := GroupID("a"), GroupID("b"), GroupID("a")
	if a == b || a != again {
		t.Fatal("GroupID is not a function of the conversation")
	}
}

type sendSpy struct{ in SendRequest }

func (s *sendSpy) SendMessage(_ context.Context, in SendRequest) error {
	s.in = in
	if in.Body == "" {
		return fmt.Errorf("empty body")
	}
	return nil
}

func TestProducerSend(t *testing.T) {
	spy := &sendSpy{}
	p := &Producer{API: spy, URL: "http://127.0.0.1:1/000000000000/inbound.fifo", Now: func() time.Time { return t0 }}
	if err := p.Send(context.Background(), Envelope{Kind: KindInbound, Key: "EVENT#generic#a#e1", PCID: "generic:a:c1"}, "EVENT#generic#a#e1"); err != nil {
		t.Fatal(err)
	}
	env, err := Decode(spy.in.Body)
	if err != nil {
		t.Fatal(err)
	}
	if env.Enqueued != t0.UnixMilli() || spy.in.QueueURL != p.URL || spy.in.GroupID != GroupID("generic:a:c1") || spy.in.DedupeID != DedupeID("EVENT#generic#a#e1") {
		t.Fatalf("sent %+v with %+v", env, spy.in)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"v":1,"kind":"inbound","pcid":"generic:a:c","enqueued":1}`)
	f.Add(`{"v":1,"kind":"barrier","pcid":"x","data":{"token":"t"}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		env, err := Decode(body)
		if err != nil {
			return
		}
		if env.V != Version || env.PCID == "" {
			t.Fatalf("accepted %q as %+v", body, env)
		}
	})
}

// What a handler learns of a record: its consumer-clock age, its
// deduplication ID, and the envelopes waiting behind it in the batch.
func TestRecordContext(t *testing.T) {
	var got []Record
	c := &Consumer{
		Handle: func(_ context.Context, r Record) Outcome { got = append(got, r); return Done("sent") },
		Now:    func() time.Time { return t0 },
	}
	m1, m2, other := msg(t, "a", "a1", time.Minute, 1), msg(t, "a", "a2", 0, 1), msg(t, "b", "b1", 0, 1)
	m1.Attributes["MessageDeduplicationId"] = "d-1"
	if _, err := c.Consume(context.Background(), events.SQSEvent{Records: []events.SQSMessage{m1, other, m2}}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b Record) int { return strings.Compare(a.Key, b.Key) })
	a1 := got[0]
	if a1.Elapsed() != time.Minute || a1.Dedupe != "d-1" || len(a1.Later) != 1 || a1.Later[0].Key != "a2" {
		t.Fatalf("a1: elapsed %s, dedupe %q, later %+v", a1.Elapsed(), a1.Dedupe, a1.Later)
	}
	if len(got[1].Later) != 0 || len(got[2].Later) != 0 {
		t.Fatalf("the last of a group and another group's record have nothing behind them: %+v %+v", got[1].Later, got[2].Later)
	}
}

// A record buried at its maximum age says so, with the last failure.
func TestExpiredCause(t *testing.T) {
	var cause error
	c := &Consumer{
		Handle: func(context.Context, Record) Outcome { return Retry(errors.New("HTTP 503")) },
		Bury:   func(_ context.Context, _ Record, err error) error { cause = err; return nil },
		Now:    func() time.Time { return t0 },
	}
	if _, err := c.Consume(context.Background(), events.SQSEvent{Records: []events.SQSMessage{msg(t, "a", "a1", 25*time.Hour, 90)}}); err != nil {
		t.Fatal(err)
	}
	var exp *ExpiredError
	if !errors.As(cause, &exp) || exp.Age != 25*time.Hour || exp.Err.Error() != "HTTP 503" {
		t.Fatalf("cause %v", cause)
	}
}

// The redrive bound the template is held to: the receives a record gets
// within a maximum age grow with it, and stay below SQS's 1000 for the
// longest one an account may set (13 days).
func TestReceivesBound(t *testing.T) {
	day, most := DefaultBackoff.Receives(24*time.Hour), DefaultBackoff.Receives(MaxMaxAge)
	if day <= 1 || day >= most || most > 900 {
		t.Fatalf("receives in 24 h %d, in %s %d", day, MaxMaxAge, most)
	}
}
