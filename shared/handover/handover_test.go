package handover_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/handover"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

const agentID = "64f1c0ffee0ddba11ad0a001"

var start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// clock is the state store's clock, moved by the tests.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// writes counts DynamoDB write calls (each a write unit: every item the
// handover writes is far below 1 KB).
type writes struct {
	*dynamotest.DB
	n atomic.Int64
}

func (w *writes) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	w.n.Add(1)
	return w.DB.PutItem(ctx, in, o...)
}

func (w *writes) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	w.n.Add(1)
	return w.DB.UpdateItem(ctx, in, o...)
}

func (w *writes) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	w.n.Add(1)
	return w.DB.DeleteItem(ctx, in, o...)
}

// outbound is the outbound FIFO queue of one conversation: records in
// order, and a consumer loop that delivers bot messages to the platform and
// acknowledges barriers, as the outbound consumer does.
type outbound struct {
	records chan queue.Envelope
	sent    chan queue.Envelope // a copy of every record, for the tests to see
}

func newOutbound() *outbound {
	return &outbound{records: make(chan queue.Envelope, 256), sent: make(chan queue.Envelope, 256)}
}

func (o *outbound) Send(_ context.Context, e queue.Envelope, dedupe string) error {
	if e.Kind == queue.KindBarrier {
		if tok, err := handover.BarrierToken(e); err != nil || tok != dedupe {
			return errors.New("a barrier's dedupe ID must be its token")
		}
	}
	o.records <- e
	o.sent <- e
	return nil
}

// consume runs the consumer until the test ends; a closed gate lets it
// start.
func (f *fixture) consume(t *testing.T, gate <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		select {
		case <-gate:
		case <-ctx.Done():
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-f.q.records:
				switch e.Kind {
				case queue.KindBarrier:
					tok, _ := handover.BarrierToken(e)
					if err := f.h.BarrierReached(ctx, e.PCID, tok); err != nil {
						t.Errorf("BarrierReached: %v", err)
					}
				default:
					var text string
					_ = json.Unmarshal(e.Data, &text)
					_ = f.p.Send(ctx, f.acct, f.conv, ultimate.Message{Type: "text", Text: text}, nil)
				}
			}
		}
	}()
}

type fixture struct {
	h     *handover.Handover
	store *state.Store
	db    *writes
	p     *sourcetest.Platform
	q     *outbound
	acct  *source.Account
	conv  source.Conversation
	clock *clock
}

func never(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }

func newFixture(t *testing.T, src *tenant.Source) *fixture {
	t.Helper()
	db := &writes{DB: dynamotest.New()}
	if err := localstack.CreateTables(context.Background(), db, "tenants", "state"); err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	c.ns.Store(start.UnixNano())
	store := &state.Store{DB: db, Table: "state", Now: c.now}
	p := &sourcetest.Platform{}
	if src == nil {
		src = &tenant.Source{}
	}
	src.Source, src.Account, src.AgentID = sourcetest.Name, "acme", agentID
	f := &fixture{
		store: store, db: db, p: p, q: newOutbound(), clock: c,
		acct: &source.Account{Source: src, Credentials: []byte("tok")},
		conv: source.Conversation{Source: sourcetest.Name, Account: "acme", ID: "c1"},
	}
	f.h = &handover.Handover{
		State: store, Sources: source.NewRegistry(p), Outbound: f.q, Now: c.now, Notify: handover.NewNotifier(),
		Retry: retry.Policy{Attempts: 3, Base: time.Millisecond, Cap: 2 * time.Millisecond},
		Log:   slog.New(slog.DiscardHandler), After: never,
	}
	return f
}

func (f *fixture) request() handover.Request {
	return handover.Request{Account: f.acct, Conv: f.conv, AgentID: agentID, EscalateTo: "billing", Reason: source.ReasonEscalate}
}

func (f *fixture) ops() []string {
	var ops []string
	for _, c := range f.p.Calls() {
		ops = append(ops, c.Op)
	}
	return ops
}

func budget(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// 50 concurrent escalates of one conversation: one handover, and every
// call answers 200 (the winner's "escalated", the calls that waited for it
// the same, late ones "already_escalated"). Today's figure was 40
// handovers.
func TestConcurrentEscalatesHandOverOnce(t *testing.T) {
	f := newFixture(t, nil)
	gate := make(chan struct{})
	close(gate)
	f.consume(t, gate)
	const n = 50
	outcomes := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := f.h.Escalate(budget(t, 10*time.Second), f.request())
			if err != nil {
				t.Errorf("escalate: %v", err)
			}
			outcomes <- out
		}()
	}
	wg.Wait()
	close(outcomes)
	count := map[string]int{}
	for o := range outcomes {
		count[o]++
	}
	if got := strings.Join(f.ops(), " "); got != "escalate" {
		t.Fatalf("platform asked %q, want one escalate", got)
	}
	if count[handover.OutcomeEscalated]+count[handover.OutcomeAlreadyEscalated] != n || count[handover.OutcomeEscalated] < 1 {
		t.Fatalf("outcomes %v", count)
	}
	v, _ := f.store.HandoverState(context.Background(), f.conv.PCID())
	if !v.Escalated() || v.Conv.HandoverTo != "billing" {
		t.Fatalf("conversation %+v", v.Conv)
	}
	t.Logf("%d concurrent escalates: 1 handover; %d DynamoDB writes in all (%v)", n, f.db.n.Load(), count)
}

// One escalate costs three writes (claim, barrier acknowledgement, status);
// a repeated one none.
func TestWritesPerEscalate(t *testing.T) {
	f := newFixture(t, nil)
	gate := make(chan struct{})
	close(gate)
	f.consume(t, gate)
	if out, err := f.h.Escalate(budget(t, 10*time.Second), f.request()); err != nil || out != handover.OutcomeEscalated {
		t.Fatalf("%q, %v", out, err)
	}
	if n := f.db.n.Load(); n != 3 {
		t.Fatalf("%d writes for one escalate, want 3", n)
	}
	if out, err := f.h.Escalate(budget(t, 10*time.Second), f.request()); err != nil || out != handover.OutcomeAlreadyEscalated {
		t.Fatalf("again: %q, %v", out, err)
	}
	if n := f.db.n.Load(); n != 3 {
		t.Fatalf("a repeated escalate wrote (%d writes)", n)
	}
}

// watching counts the reads that showed a caller another call's live
// claim: after one, the caller waits for that claim's result.
type watching struct {
	handover.State
	n    atomic.Int64
	want int64
	all  chan struct{}
}

func (w *watching) HandoverState(ctx context.Context, pcid string) (*state.HandoverView, error) {
	v, err := w.State.HandoverState(ctx, pcid)
	if err == nil && v.Token != "" && w.n.Add(1) == w.want {
		close(w.all)
	}
	return v, err
}

// The calls that waited for a winner that failed answer the winner's
// failure, without asking the platform again.
func TestWaitersAnswerTheWinnersFailure(t *testing.T) {
	f := newFixture(t, nil)
	f.p.Fail = func(string) error { return &egress.StatusError{Op: "handover", Status: 422, Code: "no_agents"} }
	const losers = 9
	// The winner's own read after its barrier counts once too: it waits
	// for the barrier's notice and reads nothing else until the gate opens.
	w := &watching{State: f.store, want: losers + 1, all: make(chan struct{})}
	f.h.State = w
	gate := make(chan struct{})
	f.consume(t, gate)
	type answer struct {
		out string
		err error
	}
	answers := make(chan answer, losers+1)
	run := func() {
		out, err := f.h.Escalate(budget(t, 10*time.Second), f.request())
		answers <- answer{out, err}
	}
	go run()
	<-f.q.sent // the winner holds the claim and waits for its barrier
	for range losers {
		go run()
	}
	<-w.all // every loser saw the claim
	close(gate)
	for range losers + 1 {
		a := <-answers
		var fl *handover.Failure
		if !errors.As(a.err, &fl) || fl.Status != 409 || fl.Code != "handover_rejected" || !strings.Contains(fl.Message, "no_agents") {
			t.Fatalf("answer %q, %v", a.out, a.err)
		}
	}
	if got := strings.Join(f.ops(), " "); got != "escalate" {
		t.Fatalf("platform asked %q", got)
	}
	v, _ := f.store.HandoverState(context.Background(), f.conv.PCID())
	if v.Escalated() || v.Token != "" {
		t.Fatalf("after a failed handover %+v", v)
	}
}

// The handover comes after the bot messages queued before it: the barrier
// is behind them in the conversation's group.
func TestEscalateAfterQueuedBotMessages(t *testing.T) {
	f := newFixture(t, nil)
	for _, text := range []string{"one", "two"} {
		data, _ := json.Marshal(text)
		_ = f.q.Send(context.Background(), queue.Envelope{Kind: queue.KindOutbound, PCID: f.conv.PCID(), Data: data}, text)
		<-f.q.sent
	}
	gate := make(chan struct{})
	f.consume(t, gate)
	done := make(chan error, 1)
	go func() {
		_, err := f.h.Escalate(budget(t, 10*time.Second), f.request())
		done <- err
	}()
	if e := <-f.q.sent; e.Kind != queue.KindBarrier || e.PCID != f.conv.PCID() {
		t.Fatalf("record %+v", e)
	}
	if ops := f.ops(); len(ops) != 0 {
		t.Fatalf("the platform was asked %v before the queue reached the barrier", ops)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range f.p.Calls() {
		got = append(got, c.Op+":"+c.Message.Text)
	}
	if strings.Join(got, " ") != "send:one send:two escalate:" {
		t.Fatalf("platform order %v", got)
	}
}

// A budget that runs out before the barrier: the claim is released with a
// 504 and the reason, a late barrier is acknowledged without effect, and
// the next call hands over.
func TestBarrierNotReachedInTime(t *testing.T) {
	f := newFixture(t, nil)
	f.h.Reserve = 20 * time.Millisecond
	_, err := f.h.Escalate(budget(t, 60*time.Millisecond), f.request())
	var fl *handover.Failure
	if !errors.As(err, &fl) || fl.Status != 504 || fl.Code != "messages_pending" {
		t.Fatalf("escalate: %v", err)
	}
	if ops := f.ops(); len(ops) != 0 {
		t.Fatalf("platform asked %v", ops)
	}
	v, _ := f.store.HandoverState(context.Background(), f.conv.PCID())
	if v.Token != "" || v.Escalated() || v.Failure == nil || v.Failure.Code != "messages_pending" {
		t.Fatalf("after the timeout %+v", v)
	}
	stale := <-f.q.records
	<-f.q.sent
	tok, _ := handover.BarrierToken(stale)
	if err := f.h.BarrierReached(context.Background(), stale.PCID, tok); err != nil {
		t.Fatalf("a late barrier: %v", err)
	}
	gate := make(chan struct{})
	close(gate)
	f.consume(t, gate)
	if out, err := f.h.Escalate(budget(t, 10*time.Second), f.request()); err != nil || out != handover.OutcomeEscalated {
		t.Fatalf("retry: %q, %v", out, err)
	}
	if got := strings.Join(f.ops(), " "); got != "escalate" {
		t.Fatalf("platform asked %q", got)
	}
}

// A caller that died holding the claim: the claim lapses with its lease and
// the next call takes it over, as the same handover (same ID).
func TestLapsedClaimIsTakenOver(t *testing.T) {
	f := newFixture(t, nil)
	dead, err := f.store.ClaimHandover(context.Background(), f.conv.PCID(), agentID, time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.add(2 * time.Second)
	gate := make(chan struct{})
	close(gate)
	f.consume(t, gate)
	if out, err := f.h.Escalate(budget(t, 10*time.Second), f.request()); err != nil || out != handover.OutcomeEscalated {
		t.Fatalf("%q, %v", out, err)
	}
	calls := f.p.Calls()
	if len(calls) != 1 || calls[0].Handover.ID != dead.ID {
		t.Fatalf("calls %+v; want one handover with ID %s", calls, dead.ID)
	}
}

// Without in-process notices (another process consumes the queue) the
// waiter re-reads on a growing interval.
func TestWaitPollsOnAGrowingInterval(t *testing.T) {
	f := newFixture(t, nil)
	f.h.Notify = nil
	type poll struct {
		d    time.Duration
		fire chan time.Time
	}
	polls := make(chan poll)
	f.h.After = func(d time.Duration) (<-chan time.Time, func()) {
		p := poll{d, make(chan time.Time, 1)}
		polls <- p
		return p.fire, func() {}
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.h.Escalate(budget(t, 30*time.Second), f.request())
		done <- err
	}()
	barrier := <-f.q.records
	var got []time.Duration
	for i := range 6 {
		p := <-polls
		got = append(got, p.d)
		if i == 5 {
			tok, _ := handover.BarrierToken(barrier)
			if err := f.h.BarrierReached(context.Background(), barrier.PCID, tok); err != nil {
				t.Fatal(err)
			}
		}
		p.fire <- time.Time{}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("intervals %v, want %v", got, want)
		}
	}
}

// The human gets the context: the reason, escalateTo, the session
// parameters (sanitized ones masked), the transcript. Widget escalations
// go to the desk with the same.
func TestHandoverContext(t *testing.T) {
	for _, widget := range []bool{false, true} {
		f := newFixture(t, &tenant.Source{
			Metadata:   []tenant.MetaRule{{Field: "email", Sanitize: true}, {Field: "plan"}},
			Transcript: &tenant.Transcript{Turns: 3, MaxChars: 40},
		})
		gate := make(chan struct{})
		close(gate)
		f.consume(t, gate)
		ctx := context.Background()
		pcid := f.conv.PCID()
		if err := f.store.SetAttrs(ctx, pcid, map[string]string{"param.email": "ada@example.com", "param.plan": "gold", "profile": "x"}); err != nil {
			t.Fatal(err)
		}
		for _, tu := range []source.Turn{
			{From: source.TurnVisitor, Text: "hi"},
			{From: source.TurnBot, Text: "Hello!"},
			{From: source.TurnVisitor, Text: "I am ada@example.com and I want a refund for order 12345, please"},
			{From: source.TurnBot, Text: "Let me get someone."},
		} {
			if err := f.h.Append(ctx, f.acct, pcid, tu); err != nil {
				t.Fatal(err)
			}
		}
		r := f.request()
		r.Widget = widget
		if _, err := f.h.Escalate(budget(t, 10*time.Second), r); err != nil {
			t.Fatal(err)
		}
		c := f.p.Calls()[0]
		hc := c.Handover.Context
		if c.Op != map[bool]string{false: "escalate", true: "widgetEscalate"}[widget] || c.Handover.EscalateTo != "billing" || hc.Reason != source.ReasonEscalate || c.Handover.ID == "" {
			t.Fatalf("call %+v", c)
		}
		if len(hc.Params) != 2 || hc.Params["email"] != handover.Masked || hc.Params["plan"] != "gold" {
			t.Fatalf("params %v", hc.Params)
		}
		var lines []string
		for _, tu := range hc.Transcript {
			lines = append(lines, tu.From+": "+tu.Text)
		}
		want := "bot: Hello!|visitor: I am *** and I want a refund for order …|bot: Let me get someone."
		if got := strings.Join(lines, "|"); got != want {
			t.Fatalf("transcript\n got %s\nwant %s", got, want)
		}
		// The human has it now: the transcript is gone.
		if turns, _ := f.store.Transcript(ctx, pcid, 3); len(turns) != 0 {
			t.Fatalf("transcript kept after the handover: %v", turns)
		}
		v, _ := f.store.HandoverState(ctx, pcid)
		if wantTo := map[bool]string{false: "billing", true: "widget:billing"}[widget]; v.Conv.HandoverTo != wantTo {
			t.Fatalf("handoverTo %q, want %q", v.Conv.HandoverTo, wantTo)
		}
	}
}

// The fallback: the visitor is told (once, with a stable message ID), the
// platform hands over with reason agent_unavailable and the held texts; a
// conversation already with a human needs nothing.
func TestAgentUnavailable(t *testing.T) {
	f := newFixture(t, &tenant.Source{Fallback: &tenant.Fallback{AfterSeconds: 60, Text: "Our assistant is unavailable; connecting you to a person."}})
	gate := make(chan struct{})
	close(gate)
	f.consume(t, gate)
	held := []source.Event{
		{Kind: source.Started},
		{Kind: source.Message, Text: "where is my parcel"},
		{Kind: source.Message, Text: "  "},
		{Kind: source.Message, Text: "hello?"},
	}
	fails := 1
	f.p.Fail = func(op string) error {
		if op == "escalate" && fails > 0 {
			fails--
			return &egress.StatusError{Op: "handover", Status: 409}
		}
		return nil
	}
	if err := f.h.AgentUnavailable(budget(t, 10*time.Second), f.acct, f.conv, held); err == nil {
		t.Fatal("a refused handover reported as done")
	}
	if err := f.h.AgentUnavailable(budget(t, 10*time.Second), f.acct, f.conv, held); err != nil {
		t.Fatal(err)
	}
	if err := f.h.AgentUnavailable(budget(t, 10*time.Second), f.acct, f.conv, held); err != nil {
		t.Fatal(err)
	}
	calls := f.p.Calls()
	if got := strings.Join(f.ops(), " "); got != "send escalate escalate" {
		t.Fatalf("platform asked %q: the text once, then the two attempts", got)
	}
	if m := calls[0].Message; m.Text != f.acct.Fallback.Text || m.MessageID != "fallback-"+calls[1].Handover.ID {
		t.Fatalf("fallback text %+v", m)
	}
	hc := calls[2].Handover.Context
	if hc.Reason != source.ReasonAgentUnavailable || strings.Join(hc.Held, "|") != "where is my parcel|hello?" || calls[2].Handover.EscalateTo != "" {
		t.Fatalf("handover %+v", calls[2].Handover)
	}
	if calls[1].Handover.ID != calls[2].Handover.ID {
		t.Fatalf("the retry is a new handover: %s, %s", calls[1].Handover.ID, calls[2].Handover.ID)
	}
}

// The transcript is kept only for accounts that opted in, only while the
// conversation is open.
func TestAppend(t *testing.T) {
	ctx := context.Background()
	t.Run("off", func(t *testing.T) {
		f := newFixture(t, nil)
		_ = f.store.SetStatus(ctx, f.conv.PCID(), agentID, state.ConvActive, "")
		before := f.db.n.Load()
		if err := f.h.Append(ctx, f.acct, f.conv.PCID(), source.Turn{From: source.TurnVisitor, Text: "hi"}); err != nil || f.db.n.Load() != before {
			t.Fatalf("%v, %d writes", err, f.db.n.Load()-before)
		}
	})
	t.Run("two writes a turn, nothing after the end", func(t *testing.T) {
		f := newFixture(t, &tenant.Source{Transcript: &tenant.Transcript{Turns: 10, MaxChars: 500}})
		pcid := f.conv.PCID()
		if err := f.h.Append(ctx, f.acct, pcid, source.Turn{From: source.TurnVisitor, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		if turns, _ := f.store.Transcript(ctx, pcid, 10); len(turns) != 0 {
			t.Fatal("a turn of an unknown conversation was kept")
		}
		_ = f.store.SetStatus(ctx, pcid, agentID, state.ConvActive, "")
		before := f.db.n.Load()
		if err := f.h.Append(ctx, f.acct, pcid, source.Turn{From: source.TurnVisitor, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		if n := f.db.n.Load() - before; n != 2 {
			t.Fatalf("%d writes for a turn, want 2", n)
		}
		turns, _ := f.store.Transcript(ctx, pcid, 10)
		if len(turns) != 1 || !turns[0].At.Equal(start) {
			t.Fatalf("turns %+v", turns)
		}
		_ = f.store.SetStatus(ctx, pcid, agentID, state.ConvEnded, "")
		if err := f.h.Append(ctx, f.acct, pcid, source.Turn{From: source.TurnBot, Text: "bye"}); err != nil {
			t.Fatal(err)
		}
		if turns, _ := f.store.Transcript(ctx, pcid, 10); len(turns) != 0 {
			t.Fatalf("an ended conversation keeps %v", turns)
		}
	})
}

// A source that cannot hand over is refused before anything is claimed.
func TestUnsupported(t *testing.T) {
	f := newFixture(t, nil)
	f.h.Sources = source.NewRegistry()
	_, err := f.h.Escalate(budget(t, time.Second), f.request())
	var fl *handover.Failure
	if !errors.As(err, &fl) || fl.Status != 422 || fl.Code != "handover_unsupported" || f.db.n.Load() != 0 {
		t.Fatalf("%v, %d writes", err, f.db.n.Load())
	}
}
