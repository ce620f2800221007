package state_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/motoserver"
	"github.com/crmbridge/crmbridge/shared/state"
)

var motoDB tables

// The store's conditions are DynamoDB semantics: every test runs against
// moto_server and against the in-memory fake (dynamotest), which this
// table proves faithful for what the store does.
func TestMain(m *testing.M) {
	ctx := context.Background()
	srv, err := motoserver.Start(ctx)
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
	// moto does not isolate transactions from other writes; SerialDB does.
	raw := dynamodb.NewFromConfig(cfg)
	motoDB = motoTables{SerialDB: localstack.NewSerialDB(raw), raw: raw}
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

// motoTables writes through SerialDB and creates tables directly.
type motoTables struct {
	*localstack.SerialDB
	raw *dynamodb.Client
}

func (m motoTables) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, o ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	return m.raw.CreateTable(ctx, in, o...)
}

func (m motoTables) UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	return m.raw.UpdateTimeToLive(ctx, in, o...)
}

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time        { return time.UnixMilli(c.t.Load()) }
func (c *clock) add(d time.Duration)   { c.t.Add(d.Milliseconds()) }
func newClock(t time.Time) *clock      { c := &clock{}; c.t.Store(t.UnixMilli()); return c }
func ctx(t *testing.T) context.Context { return context.Background() }

var tableSeq atomic.Int64

// tables is what a backend needs to hold a fresh State table.
type tables interface {
	state.DB
	localstack.TablesAPI
}

func newStore(t *testing.T, db tables) (*state.Store, *clock) {
	t.Helper()
	name := fmt.Sprintf("state-%d-%d", time.Now().UnixNano(), tableSeq.Add(1))
	if err := localstack.CreateTables(ctx(t), db, name+"-tenants", name); err != nil {
		t.Fatal(err)
	}
	c := newClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	return &state.Store{DB: db, Table: name, Now: c.now, DoneTTL: time.Hour, ConvTTL: 24 * time.Hour, DeadTTL: 48 * time.Hour}, c
}

func TestStore(t *testing.T) {
	tests := []storeCase{
		{"AcceptDuplicate", testAcceptDuplicate},
		{"ReleaseLetsARetryAccept", testReleaseLetsARetryAccept},
		{"FormerInProgressLeaseIsTakenOver", testFormerInProgressLeaseIsTakenOver},
		{"ExpiredClaimIsAcceptedBeforeTTLDeletesIt", testExpiredClaimIsAcceptedBeforeTTLDeletesIt},
		{"HashMismatchIsReported", testHashMismatchIsReported},
		{"ConcurrentAcceptsOnlyOneWins", testConcurrentAcceptsOnlyOneWins},
		{"ConversationChanges", testConversationChanges},
		{"RequireNewAndAttrs", testRequireNewAndAttrs},
		{"TouchAndStale", testTouchAndStale},
		{"KeepReplayAgain", testKeepReplayAgain},
		{"DeadLettersOldestFirstAllPages", testDeadLettersOldestFirstAllPages},
		{"KeepAndDiscard", testKeepAndDiscard},
		{"Progress", testProgress},
	}
	onEveryBackend(t, tests)
}

// storeCase is one test of the store, run on every backend.
type storeCase struct {
	name string
	run  func(*testing.T, *state.Store, *clock)
}

// onEveryBackend runs each case on moto_server and on the in-memory fake,
// each with a fresh store.
func onEveryBackend(t *testing.T, tests []storeCase) {
	t.Helper()
	backends := []struct {
		name string
		db   func() tables
	}{
		{"moto", func() tables { return motoDB }},
		{"fake", func() tables { return dynamotest.New() }},
	}
	for _, b := range backends {
		for _, tc := range tests {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				s, c := newStore(t, b.db())
				tc.run(t, s, c)
			})
		}
	}
}

func testAcceptDuplicate(t *testing.T, s *state.Store, c *clock) {
	at := c.now()
	if _, err := s.Accept(ctx(t), "EVENT#a", ""); err != nil {
		t.Fatal(err)
	}
	c.add(time.Second)
	_, err := s.Accept(ctx(t), "EVENT#a", "")
	if d, ok := state.IsDuplicate(err); !ok || d.Status != state.StatusQueued || !d.At.Equal(at) {
		t.Fatalf("second accept: %v (want a duplicate accepted at %s)", err, at)
	}
}

func testReleaseLetsARetryAccept(t *testing.T, s *state.Store, _ *clock) {
	l, err := s.Accept(ctx(t), "EVENT#b", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx(t), l); err != nil {
		t.Fatal(err)
	}
	again, err := s.Accept(ctx(t), "EVENT#b", "")
	if err != nil {
		t.Fatalf("accept after release: %v", err)
	}
	// The first holder's release is a no-op now: the claim is the retry's.
	if err := s.Release(ctx(t), l); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accept(ctx(t), "EVENT#b", ""); err == nil {
		t.Fatalf("an old lease released the retry's claim %s", again.Key)
	}
}

// Items of the former design (an in-progress lease, then done) still read
// right while they live: an abandoned lease is taken over, done is a
// duplicate.
func testFormerInProgressLeaseIsTakenOver(t *testing.T, s *state.Store, c *clock) {
	put := func(key, status string, lease time.Time) {
		_, err := s.DB.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: &s.Table, Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: key}, "status": &types.AttributeValueMemberS{Value: status},
			"lease": &types.AttributeValueMemberN{Value: fmt.Sprint(lease.UnixMilli())},
			"exp":   &types.AttributeValueMemberN{Value: fmt.Sprint(c.now().Add(time.Hour).Unix())},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("EVENT#c1", state.StatusInProgress, c.now().Add(-time.Second))
	put("EVENT#c2", state.StatusInProgress, c.now().Add(time.Minute))
	put("EVENT#c3", state.StatusDone, c.now())
	if _, err := s.Accept(ctx(t), "EVENT#c1", ""); err != nil {
		t.Fatalf("an abandoned lease: %v", err)
	}
	for _, k := range []string{"EVENT#c2", "EVENT#c3"} {
		if _, err := s.Accept(ctx(t), k, ""); err == nil {
			t.Fatalf("%s was accepted again", k)
		}
	}
}

func testExpiredClaimIsAcceptedBeforeTTLDeletesIt(t *testing.T, s *state.Store, c *clock) {
	if _, err := s.Accept(ctx(t), "EVENT#d", ""); err != nil {
		t.Fatal(err)
	}
	c.add(59 * time.Minute)
	if _, err := s.Accept(ctx(t), "EVENT#d", ""); err == nil {
		t.Fatal("accepted inside DoneTTL")
	}
	c.add(2 * time.Minute) // past exp; moto (like DynamoDB) has not deleted it
	if _, err := s.Accept(ctx(t), "EVENT#d", ""); err != nil {
		t.Fatalf("accept after expiry: %v", err)
	}
}

func testHashMismatchIsReported(t *testing.T, s *state.Store, _ *clock) {
	_, _ = s.Accept(ctx(t), "EVENT#e", "h1")
	_, err := s.Accept(ctx(t), "EVENT#e", "h2")
	if d, ok := state.IsDuplicate(err); !ok || !d.HashDiffer {
		t.Fatalf("want a duplicate with HashDiffer, got %v", err)
	}
}

func testConcurrentAcceptsOnlyOneWins(t *testing.T, s *state.Store, _ *clock) {
	var wins, dups atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Accept(ctx(t), "EVENT#f", "")
			switch _, dup := state.IsDuplicate(err); {
			case err == nil:
				wins.Add(1)
			case dup:
				dups.Add(1)
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || dups.Load() != 11 {
		t.Fatalf("wins=%d dups=%d, want 1 and 11", wins.Load(), dups.Load())
	}
}

func testConversationChanges(t *testing.T, s *state.Store, c *clock) {
	pcid := "generic:demo:g"
	sam, none := "Sam", ""
	steps := []struct {
		change    state.ConvChange
		status    string
		deskAgent string
	}{
		{state.ConvChange{PCID: pcid, AgentID: "agent", SetStatus: state.ConvActive}, state.ConvActive, ""},
		{state.ConvChange{PCID: pcid, DeskAgent: &sam}, state.ConvActive, "Sam"},
		{state.ConvChange{PCID: pcid, SetStatus: state.ConvEnded, DeskAgent: &none}, state.ConvEnded, ""},
	}
	for i, st := range steps {
		if err := s.ChangeConversation(ctx(t), st.change); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		cv, err := s.Conversation(ctx(t), pcid)
		if err != nil || cv.Status != st.status || cv.DeskAgent != st.deskAgent || cv.AgentID != "agent" {
			t.Fatalf("step %d: conversation = %+v, %v", i, cv, err)
		}
	}
	// An expired conversation reads as absent.
	c.add(25 * time.Hour)
	if _, err := s.Conversation(ctx(t), pcid); !errors.Is(err, state.ErrNoConversation) {
		t.Fatalf("expired conversation: %v", err)
	}
}

func testRequireNewAndAttrs(t *testing.T, s *state.Store, _ *clock) {
	start := func() error {
		return s.ChangeConversation(ctx(t), state.ConvChange{PCID: "liveperson:1:h", SetStatus: state.ConvActive, RequireNew: true,
			Attrs: map[string]string{"sdes.name": "Ann", state.ParamPrefix + "plan": "gold"}})
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	if err := start(); !errors.Is(err, state.ErrExists) {
		t.Fatalf("second start = %v, want ErrExists", err)
	}
	if err := s.ChangeConversation(ctx(t), state.ConvChange{PCID: "liveperson:1:h", Attrs: map[string]string{"first": "m-1"}}); err != nil {
		t.Fatal(err)
	}
	cv, _ := s.Conversation(ctx(t), "liveperson:1:h")
	if cv.Attrs["sdes.name"] != "Ann" || cv.Attrs["first"] != "m-1" || cv.Params()["plan"] != "gold" || len(cv.Params()) != 1 {
		t.Fatalf("attrs not merged: %v (params %v)", cv.Attrs, cv.Params())
	}
	// Ended conversations may be created again.
	if err := s.SetStatus(ctx(t), "liveperson:1:h", "", state.ConvEnded, ""); err != nil {
		t.Fatal(err)
	}
	if err := start(); err != nil {
		t.Fatalf("start after the end: %v", err)
	}
}

func testTouchAndStale(t *testing.T, s *state.Store, c *clock) {
	pcid := "generic:demo:t"
	if err := s.Touch(ctx(t), pcid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ctx(t), pcid); !errors.Is(err, state.ErrNoConversation) {
		t.Fatal("Touch created a conversation")
	}
	_ = s.ChangeConversation(ctx(t), state.ConvChange{PCID: pcid})
	cv, _ := s.Conversation(ctx(t), pcid)
	if s.Stale(cv) {
		t.Fatal("a new conversation is stale")
	}
	c.add(13 * time.Hour) // ConvTTL 24 h: past half
	cv, _ = s.Conversation(ctx(t), pcid)
	if !s.Stale(cv) {
		t.Fatal("not stale past half its time to live")
	}
	if err := s.Touch(ctx(t), pcid); err != nil {
		t.Fatal(err)
	}
	c.add(20 * time.Hour) // beyond the first expiry
	if cv, err := s.Conversation(ctx(t), pcid); err != nil || cv.Status != state.ConvActive {
		t.Fatalf("touched conversation = %+v, %v", cv, err)
	}
}

func testKeepReplayAgain(t *testing.T, s *state.Store, c *clock) {
	key := state.BotMessageKey("agent", "m1")
	if _, err := s.Accept(ctx(t), key, ""); err != nil {
		t.Fatal(err)
	}
	c.add(time.Second)
	dl := state.DeadLetter{Key: key, Kind: state.DeadOutbound, Reason: "platform said 500", Payload: `{"x":1}`, Ref: map[string]string{"pcid": "generic:demo:m"}}
	if err := s.Keep(ctx(t), dl); err != nil {
		t.Fatal(err)
	}
	list, err := s.DeadLetters(ctx(t), state.DeadOutbound, 10)
	if err != nil || len(list) != 1 || list[0].Key != key || list[0].Attempts != 1 || list[0].Ref["pcid"] != "generic:demo:m" {
		t.Fatalf("DeadLetters = %+v, %v", list, err)
	}
	// A replay takes it out of the list and gets its payload.
	got, err := s.StartReplay(ctx(t), key)
	if err != nil || got.Payload != `{"x":1}` || got.Replays != 1 || got.Attempts != 1 {
		t.Fatalf("StartReplay = %+v, %v", got, err)
	}
	if _, err := s.StartReplay(ctx(t), key); !errors.Is(err, state.ErrNotDead) {
		t.Fatalf("a second replay of the same = %v, want ErrNotDead", err)
	}
	if list, _ := s.DeadLetters(ctx(t), state.DeadOutbound, 10); len(list) != 0 {
		t.Fatalf("a replayed dead letter is still listed: %+v", list)
	}
	// The replay failing again counts an attempt and keeps the replays.
	if err := s.Keep(ctx(t), dl); err != nil {
		t.Fatal(err)
	}
	again, err := s.DeadLetter(ctx(t), key)
	if err != nil || again.Attempts != 2 || again.Replays != 1 {
		t.Fatalf("after a failed replay: %+v, %v", again, err)
	}
	// The sender's retry may take a dead letter up again.
	if _, err := s.Accept(ctx(t), key, ""); err != nil {
		t.Fatalf("retry over a dead letter: %v", err)
	}
	if list, _ := s.DeadLetters(ctx(t), state.DeadOutbound, 10); len(list) != 0 {
		t.Fatalf("a superseded dead letter is still listed: %+v", list)
	}
}

func testDeadLettersOldestFirstAllPages(t *testing.T, s *state.Store, c *clock) {
	for i := 0; i < 5; i++ {
		c.add(time.Second)
		if err := s.Keep(ctx(t), state.DeadLetter{Key: fmt.Sprintf("EVENT#o%d", i), Kind: state.DeadInbound, Payload: "{}"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{0, 3} {
		list, err := s.DeadLetters(ctx(t), state.DeadInbound, limit)
		want := 5
		if limit > 0 {
			want = limit
		}
		if err != nil || len(list) != want {
			t.Fatalf("limit %d: %d dead letters, %v", limit, len(list), err)
		}
		for i, dl := range list {
			if dl.Key != fmt.Sprintf("EVENT#o%d", i) {
				t.Fatalf("limit %d: %d is %s; want oldest first", limit, i, dl.Key)
			}
		}
	}
}

func testKeepAndDiscard(t *testing.T, s *state.Store, _ *clock) {
	if err := s.Keep(ctx(t), state.DeadLetter{Key: "DEAD#outbound#x", Kind: state.DeadOutbound, Reason: "r", Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx(t), "DEAD#outbound#x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx(t), "DEAD#outbound#x"); !errors.Is(err, state.ErrNotDead) {
		t.Fatalf("discarding twice = %v", err)
	}
	if err := s.Keep(ctx(t), state.DeadLetter{Kind: state.DeadOutbound}); err == nil {
		t.Fatal("a dead letter without a key was kept")
	}
}

func testProgress(t *testing.T, s *state.Store, _ *clock) {
	key := state.BotMessageKey("agent", "p1")
	if sent, id, err := s.Progress(ctx(t), key); err != nil || sent != 0 || id != "" {
		t.Fatalf("no progress = %d %q %v", sent, id, err)
	}
	_, _ = s.Accept(ctx(t), key, "")
	if err := s.SaveProgress(ctx(t), key, 2, "m-p1"); err != nil {
		t.Fatal(err)
	}
	if sent, id, err := s.Progress(ctx(t), key); err != nil || sent != 2 || id != "m-p1" {
		t.Fatalf("progress = %d %q %v", sent, id, err)
	}
	if _, err := s.Accept(ctx(t), key, ""); err == nil {
		t.Fatal("saving progress made the claim acceptable again")
	}
}
