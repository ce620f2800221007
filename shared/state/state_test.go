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
	tests := []struct {
		name string
		run  func(*testing.T, *state.Store, *clock)
	}{
		{"ClaimDoneDuplicate", testClaimDoneDuplicate},
		{"ReleaseLetsARetryClaim", testReleaseLetsARetryClaim},
		{"AbandonedLeaseIsTakenOverAndOldHolderLosesIt", testAbandonedLeaseIsTakenOverAndOldHolderLosesIt},
		{"ExpiredDoneRecordIsClaimableBeforeTTLDeletesIt", testExpiredDoneRecordIsClaimableBeforeTTLDeletesIt},
		{"HashMismatchIsReported", testHashMismatchIsReported},
		{"ConcurrentClaimsOnlyOneWins", testConcurrentClaimsOnlyOneWins},
		{"EscalatedConversationHoldsMessages", testEscalatedConversationHoldsMessages},
		{"RequireNewAndAttrs", testRequireNewAndAttrs},
		{"MarkOnceBuryReplay", testMarkOnceBuryReplay},
		{"KeepAndDiscard", testKeepAndDiscard},
		{"DeskAgent", testDeskAgent},
	}
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

func testClaimDoneDuplicate(t *testing.T, s *state.Store, _ *clock) {
	l, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#a", Lease: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Begin(ctx(t), state.Claim{Key: "EVENT#a"})
	if d, ok := state.IsDuplicate(err); !ok || d.Status != state.StatusInProgress || d.RetryAfter <= 0 {
		t.Fatalf("second claim while in progress: %v", err)
	}
	if err := s.Done(ctx(t), l); err != nil {
		t.Fatal(err)
	}
	_, err = s.Begin(ctx(t), state.Claim{Key: "EVENT#a"})
	if d, ok := state.IsDuplicate(err); !ok || d.Status != state.StatusDone {
		t.Fatalf("claim after done: %v", err)
	}
}

func testReleaseLetsARetryClaim(t *testing.T, s *state.Store, _ *clock) {
	l, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx(t), l); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#b"}); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
}

func testAbandonedLeaseIsTakenOverAndOldHolderLosesIt(t *testing.T, s *state.Store, c *clock) {
	first, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#c", Lease: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.add(6 * time.Second) // the first invocation timed out
	second, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#c", Lease: 5 * time.Second})
	if err != nil {
		t.Fatalf("takeover of an expired lease: %v", err)
	}
	if err := s.Done(ctx(t), first); !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("old holder Done = %v, want ErrLeaseLost", err)
	}
	if err := s.Release(ctx(t), first); err != nil {
		t.Fatalf("old holder Release must be a no-op, got %v", err)
	}
	if err := s.Done(ctx(t), second); err != nil {
		t.Fatal(err)
	}
}

func testExpiredDoneRecordIsClaimableBeforeTTLDeletesIt(t *testing.T, s *state.Store, c *clock) {
	l, _ := s.Begin(ctx(t), state.Claim{Key: "EVENT#d"})
	if err := s.Done(ctx(t), l); err != nil {
		t.Fatal(err)
	}
	c.add(59 * time.Minute)
	if _, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#d"}); err == nil {
		t.Fatal("claimed inside DoneTTL")
	}
	c.add(2 * time.Minute) // past exp; moto (like DynamoDB) has not deleted it
	if _, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#d"}); err != nil {
		t.Fatalf("claim after expiry: %v", err)
	}
}

func testHashMismatchIsReported(t *testing.T, s *state.Store, _ *clock) {
	l, _ := s.Begin(ctx(t), state.Claim{Key: "EVENT#e", Hash: "h1"})
	_ = s.Done(ctx(t), l)
	_, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#e", Hash: "h2"})
	if d, ok := state.IsDuplicate(err); !ok || !d.HashDiffer {
		t.Fatalf("want a duplicate with HashDiffer, got %v", err)
	}
}

func testConcurrentClaimsOnlyOneWins(t *testing.T, s *state.Store, _ *clock) {
	var wins, dups atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#f", Conv: &state.ConvChange{PCID: "generic:demo:f", SetStatus: state.ConvActive, RefuseEscalated: true}})
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

func testEscalatedConversationHoldsMessages(t *testing.T, s *state.Store, c *clock) {
	pcid := "generic:demo:g"
	if err := s.SetStatus(ctx(t), pcid, "agent", state.ConvEscalated, "support"); err != nil {
		t.Fatal(err)
	}
	msg := func(key string) error {
		_, err := s.Begin(ctx(t), state.Claim{Key: key, Conv: &state.ConvChange{PCID: pcid, SetStatus: state.ConvActive, RefuseEscalated: true}})
		return err
	}
	if err := msg("EVENT#g1"); !errors.Is(err, state.ErrHeld) {
		t.Fatalf("message while escalated = %v, want ErrHeld", err)
	}
	// Nothing was written by the refused claim: the same event can be claimed later.
	if _, err := s.Begin(ctx(t), state.Claim{Key: "EVENT#g1", Conv: &state.ConvChange{PCID: pcid, SetStatus: state.ConvEnded}}); err != nil {
		t.Fatalf("hand back: %v", err)
	}
	if err := msg("EVENT#g2"); err != nil {
		t.Fatalf("message after hand back: %v", err)
	}
	cv, err := s.Conversation(ctx(t), pcid)
	if err != nil || cv.Status != state.ConvActive || cv.HandoverTo != "support" {
		t.Fatalf("conversation = %+v, %v", cv, err)
	}
	// An expired conversation reads as absent.
	c.add(25 * time.Hour)
	if _, err := s.Conversation(ctx(t), pcid); !errors.Is(err, state.ErrNoConversation) {
		t.Fatalf("expired conversation: %v", err)
	}
}

func testRequireNewAndAttrs(t *testing.T, s *state.Store, _ *clock) {
	start := func(key string) error {
		_, err := s.Begin(ctx(t), state.Claim{Key: key, Conv: &state.ConvChange{PCID: "liveperson:1:h", SetStatus: state.ConvActive, RequireNew: true, Attrs: map[string]string{"sdes.name": "Ann"}}})
		return err
	}
	if err := start("EVENT#h1"); err != nil {
		t.Fatal(err)
	}
	if err := start("EVENT#h2"); !errors.Is(err, state.ErrExists) {
		t.Fatalf("second start = %v, want ErrExists", err)
	}
	if err := s.SetAttrs(ctx(t), "liveperson:1:h", map[string]string{"first": "m-1"}); err != nil {
		t.Fatal(err)
	}
	cv, _ := s.Conversation(ctx(t), "liveperson:1:h")
	if cv.Attrs["sdes.name"] != "Ann" || cv.Attrs["first"] != "m-1" {
		t.Fatalf("attrs not merged: %v", cv.Attrs)
	}
}

func testMarkOnceBuryReplay(t *testing.T, s *state.Store, c *clock) {
	key := state.BotMessageKey("agent", "m1")
	l, replaced, err := s.MarkOnce(ctx(t), key)
	if err != nil || replaced {
		t.Fatalf("MarkOnce = %v %v", replaced, err)
	}
	if _, _, err := s.MarkOnce(ctx(t), key); err == nil {
		t.Fatal("second MarkOnce must be a duplicate")
	}
	c.add(time.Second)
	dl := state.DeadLetter{Kind: state.DeadOutbound, Reason: "platform said 500", Payload: `{"x":1}`, Ref: map[string]string{"pcid": "generic:demo:m"}}
	if err := s.Bury(ctx(t), l, dl); err != nil {
		t.Fatal(err)
	}
	list, err := s.DeadLetters(ctx(t), state.DeadOutbound, 10)
	if err != nil || len(list) != 1 || list[0].Key != key || list[0].Attempts != 1 || list[0].Ref["pcid"] != "generic:demo:m" {
		t.Fatalf("DeadLetters = %+v, %v", list, err)
	}
	// The sender's retry may claim a dead letter again; success supersedes it.
	l2, replaced, err := s.MarkOnce(ctx(t), key)
	if err != nil || !replaced {
		t.Fatalf("retry over a dead letter: replaced=%v err=%v", replaced, err)
	}
	if list, _ := s.DeadLetters(ctx(t), state.DeadOutbound, 10); len(list) != 0 {
		t.Fatalf("a superseded dead letter is still listed: %+v", list)
	}
	if err := s.Bury(ctx(t), l2, dl); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeadLetter(ctx(t), key)
	if err != nil || got.Payload != `{"x":1}` {
		t.Fatalf("DeadLetter = %+v, %v", got, err)
	}
	if err := s.Resolve(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(ctx(t), key); err == nil {
		t.Fatal("resolving twice must fail")
	}
	if _, _, err := s.MarkOnce(ctx(t), key); err == nil {
		t.Fatal("a resolved message must stay done")
	}
}

func testKeepAndDiscard(t *testing.T, s *state.Store, _ *clock) {
	if err := s.Keep(ctx(t), "BOTMSG#a#x", state.DeadLetter{Kind: state.DeadOutbound, Reason: "r", Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx(t), "BOTMSG#a#x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx(t), "BOTMSG#a#x"); err == nil {
		t.Fatal("discarding twice must fail")
	}
}

func testDeskAgent(t *testing.T, s *state.Store, _ *clock) {
	if err := s.SetDeskAgent(ctx(t), "generic:demo:w", "Sam"); err != nil {
		t.Fatal(err)
	}
	cv, _ := s.Conversation(ctx(t), "generic:demo:w")
	if cv.DeskAgent != "Sam" {
		t.Fatalf("desk agent = %q", cv.DeskAgent)
	}
	_ = s.SetDeskAgent(ctx(t), "generic:demo:w", "")
	cv, _ = s.Conversation(ctx(t), "generic:demo:w")
	if cv.DeskAgent != "" {
		t.Fatalf("desk agent not cleared: %q", cv.DeskAgent)
	}
}
