package deadletter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/deadletter"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/state"
)

func newStore(t *testing.T) (*state.Store, *time.Time) {
	t.Helper()
	db := dynamotest.New()
	if err := localstack.CreateTables(context.Background(), db, "tenants", "state"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return &state.Store{DB: db, Table: "state", Now: func() time.Time { return now }}, &now
}

func record(body string) queue.Record {
	env, _ := queue.Decode(body)
	return queue.Record{Envelope: env, MessageID: "m-1", Body: body, Receives: 3}
}

func TestKeeperBury(t *testing.T) {
	s, _ := newStore(t)
	k := &deadletter.Keeper{Store: s, Kind: state.DeadInbound, Log: slog.New(slog.DiscardHandler), Metrics: obs.NewMetrics(io.Discard, "t", "t")}
	ctx := context.Background()
	body := `{"v":1,"kind":"inbound","key":"EVENT#generic#demo#e1","pcid":"generic:demo:c1","enqueued":1}`
	cause := &queue.ExpiredError{Age: 25 * time.Hour, Err: &egress.StatusError{Op: "AI agent /converse/chat", Status: 503}}
	if err := k.Bury(ctx, record(body), cause); err != nil {
		t.Fatal(err)
	}
	dl, err := s.DeadLetter(ctx, "EVENT#generic#demo#e1")
	if err != nil || dl.Payload != body || dl.Reason != "gave up after 25h0m0s (the account's maximum age): AI agent /converse/chat: HTTP 503" ||
		dl.Ref["source"] != "generic" || dl.Ref["account"] != "demo" || dl.Ref["pcid"] != "generic:demo:c1" || dl.Ref["messageId"] != "m-1" || dl.Ref["receives"] != "3" {
		t.Fatalf("dead letter %+v, %v", dl, err)
	}
	// Without a claim (or an envelope) it is kept under DEAD#kind#messageId.
	if err := k.Bury(ctx, queue.Record{MessageID: "m-2", Body: "not an envelope"}, queue.ErrBadEnvelope); err != nil {
		t.Fatal(err)
	}
	if dl, err := s.DeadLetter(ctx, "DEAD#inbound#m-2"); err != nil || dl.Payload != "not an envelope" {
		t.Fatalf("unclaimed dead letter %+v, %v", dl, err)
	}
	// A record whose key names another item is kept apart from it.
	conv := `{"v":1,"kind":"inbound","key":"CONV#generic:demo:c1","pcid":"generic:demo:c1","enqueued":1}`
	if err := k.Bury(ctx, queue.Record{Envelope: queue.Envelope{Key: "CONV#generic:demo:c1"}, MessageID: "m-4", Body: conv}, queue.ErrBadEnvelope); err != nil {
		t.Fatal(err)
	}
	if dl, err := s.DeadLetter(ctx, "DEAD#inbound#m-4"); err != nil || dl.Payload != conv {
		t.Fatalf("dead letter of a record with a foreign key %+v, %v", dl, err)
	}
	if _, err := s.DeadLetter(ctx, "CONV#generic:demo:c1"); err == nil {
		t.Fatal("a dead letter was kept under a conversation's key")
	}
	// A record too large for a State item (only a tampered one is) is kept
	// cut, and says so, rather than never kept.
	huge := strings.Repeat("é", 450<<10)
	if err := k.Bury(ctx, queue.Record{MessageID: "m-3", Body: huge}, queue.ErrBadEnvelope); err != nil {
		t.Fatal(err)
	}
	dl, err = s.DeadLetter(ctx, "DEAD#inbound#m-3")
	if err != nil || len(dl.Payload) > deadletter.MaxPayload || !strings.HasPrefix(huge, dl.Payload) ||
		!strings.Contains(dl.Reason, fmt.Sprintf("payload of %d bytes cut", len(huge))) {
		t.Fatalf("huge dead letter: %d bytes, reason %q, %v", len(dl.Payload), dl.Reason, err)
	}
	if size := dynamotest.ItemSize(map[string]types.AttributeValue{"payload": &types.AttributeValueMemberS{Value: dl.Payload}}); size > 350_000 {
		t.Fatalf("kept payload is %d bytes of item", size)
	}
}

type sent struct {
	env    queue.Envelope
	dedupe string
}

type fakeQueue struct {
	sent []sent
	err  error
}

func (f *fakeQueue) Send(_ context.Context, e queue.Envelope, dedupe string) error {
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, sent{e, dedupe})
	return nil
}

func TestReplay(t *testing.T) {
	s, now := newStore(t)
	ctx := context.Background()
	keep := func(key, kind, pcid, payload string) {
		t.Helper()
		*now = now.Add(time.Second)
		if err := s.Keep(ctx, state.DeadLetter{Key: key, Kind: kind, Payload: payload, Ref: map[string]string{"pcid": pcid}}); err != nil {
			t.Fatal(err)
		}
	}
	env := func(kind, key, pcid string) string {
		return `{"v":1,"kind":"` + kind + `","key":"` + key + `","pcid":"` + pcid + `","enqueued":1,"data":{"event":{}}}`
	}
	keep("EVENT#g#a#1", state.DeadInbound, "g:a:c1", env("inbound", "EVENT#g#a#1", "g:a:c1"))
	keep("BOTMSG#x#1", state.DeadOutbound, "g:a:c1", `{"agentId":"x","pcid":"g:a:c1","event":{"eventType":"sendMessage","text":"kept before the queues"}}`)
	keep("EVENT#g#a#2", state.DeadInbound, "g:a:c2", env("inbound", "EVENT#g#a#2", "g:a:c2"))
	keep("EVENT#g#a#3", state.DeadInbound, "g:a:c1", env("inbound", "EVENT#g#a#3", "g:a:c1"))
	keep("DEAD#inbound#m", state.DeadInbound, "g:a:c3", "garbage")
	in, out := &fakeQueue{}, &fakeQueue{}
	r := &deadletter.Replayer{Store: s, Queues: map[string]deadletter.Sender{state.DeadInbound: in, state.DeadOutbound: out}}
	var done []string
	if err := r.All(ctx, deadletter.Filter{PCID: "g:a:c1"}, func(dl state.DeadLetter, err error) {
		done = append(done, dl.Key+" "+errText(err))
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"EVENT#g#a#1 ok", "BOTMSG#x#1 ok", "EVENT#g#a#3 ok"}; !slices.Equal(done, want) {
		t.Fatalf("replayed %q, want %q (oldest first, one conversation)", done, want)
	}
	if len(in.sent) != 2 || in.sent[0].env.Enqueued != 0 || in.sent[0].dedupe != "EVENT#g#a#1#replay-1" || in.sent[1].env.Key != "EVENT#g#a#3" {
		t.Fatalf("inbound queue got %+v", in.sent)
	}
	// A payload kept before the queues becomes its envelope.
	if o := out.sent; len(o) != 1 || o[0].env.Kind != queue.KindOutbound || o[0].env.PCID != "g:a:c1" || o[0].env.Key != "BOTMSG#x#1" || !strings.Contains(string(o[0].env.Data), "kept before the queues") {
		t.Fatalf("outbound queue got %+v", o)
	}
	// An unreadable payload is kept again, its attempt counted; a queue
	// that fails does the same and blocks the conversation's later ones.
	if _, err := r.Replay(ctx, "DEAD#inbound#m"); err == nil {
		t.Fatal("an unreadable payload was replayed")
	}
	if dl, err := s.DeadLetter(ctx, "DEAD#inbound#m"); err != nil || dl.Attempts != 2 || !strings.HasPrefix(dl.Reason, "replay failed: ") {
		t.Fatalf("after a failed replay %+v, %v", dl, err)
	}
	keep("EVENT#g#a#4", state.DeadInbound, "g:a:c4", env("inbound", "EVENT#g#a#4", "g:a:c4"))
	keep("EVENT#g#a#5", state.DeadInbound, "g:a:c4", env("inbound", "EVENT#g#a#5", "g:a:c4"))
	in.err = errors.New("sqs throttled")
	done = nil
	_ = r.All(ctx, deadletter.Filter{PCID: "g:a:c4"}, func(dl state.DeadLetter, err error) { done = append(done, dl.Key+" "+errText(err)) })
	if len(done) != 2 || !strings.Contains(done[0], "sqs throttled") || !strings.Contains(done[1], "skipped") {
		t.Fatalf("with the queue failing: %q", done)
	}
	// No queue configured for a kind: refused, never guessed.
	r2 := &deadletter.Replayer{Store: s, Queues: map[string]deadletter.Sender{}}
	if _, err := r2.Replay(ctx, "EVENT#g#a#2"); !errors.Is(err, deadletter.ErrNoQueue) {
		t.Fatalf("replay without a queue = %v", err)
	}
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
