package state_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/state"
)

// The handover claim and the transcript ring, on moto_server and on the
// in-memory fake.
func TestHandoverState(t *testing.T) {
	tests := []storeCase{
		{"OneClaimThenEscalated", testOneClaimThenEscalated},
		{"ConcurrentClaimsOneWins", testConcurrentHandoverClaims},
		{"LapsedClaimIsTakenOver", testLapsedClaimIsTakenOver},
		{"ReleaseRecordsTheFailure", testReleaseRecordsTheFailure},
		{"BarrierAck", testBarrierAck},
		{"FreshClaimOnAnExpiredConversation", testFreshClaim},
		{"TranscriptRing", testTranscriptRing},
	}
	onEveryBackend(t, tests)
}

const hoPCID = "generic:acme:c1"

func testOneClaimThenEscalated(t *testing.T, s *state.Store, _ *clock) {
	c, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false)
	if err != nil || c.ID == "" || c.Token == "" || c.Conv == nil || c.Conv.Status != state.ConvActive {
		t.Fatalf("claim %+v, %v", c, err)
	}
	var busy *state.HandoverBusyError
	if _, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false); !errors.As(err, &busy) || busy.Token != c.Token {
		t.Fatalf("second claim: %v", err)
	}
	v, err := s.HandoverState(ctx(t), hoPCID)
	if err != nil || v.Token != c.Token || v.Escalated() {
		t.Fatalf("view %+v, %v", v, err)
	}
	if err := s.FinishHandover(ctx(t), c, "agent-1", "billing"); err != nil {
		t.Fatal(err)
	}
	v, _ = s.HandoverState(ctx(t), hoPCID)
	if !v.Escalated() || v.Token != "" || v.Conv.HandoverTo != "billing" {
		t.Fatalf("after finish %+v %+v", v, v.Conv)
	}
	if _, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false); !errors.Is(err, state.ErrAlreadyEscalated) {
		t.Fatalf("claim of an escalated conversation: %v", err)
	}
	// Handed back, a new escalation is a new handover with a new ID.
	if err := s.SetStatus(ctx(t), hoPCID, "agent-1", state.ConvActive, ""); err != nil {
		t.Fatal(err)
	}
	c2, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false)
	if err != nil || c2.ID == c.ID {
		t.Fatalf("claim after hand-back: %+v, %v", c2, err)
	}
}

func testConcurrentHandoverClaims(t *testing.T, s *state.Store, _ *clock) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, busy := 0, 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false)
			var b *state.HandoverBusyError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.As(err, &b):
				busy++
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || busy != 19 {
		t.Fatalf("%d won, %d busy", won, busy)
	}
}

func testLapsedClaimIsTakenOver(t *testing.T, s *state.Store, c *clock) {
	old, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	c.add(2 * time.Second)
	if v, _ := s.HandoverState(ctx(t), hoPCID); v.Token != "" {
		t.Fatalf("a lapsed claim still holds: %+v", v)
	}
	next, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false)
	if err != nil || next.ID != old.ID {
		t.Fatalf("take-over %+v, %v (the handover ID must stay)", next, err)
	}
	if err := s.FinishHandover(ctx(t), old, "agent-1", ""); !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("finish by the old holder: %v", err)
	}
	if err := s.ReleaseHandover(ctx(t), old, state.HandoverFailure{Status: 504}, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.HandoverState(ctx(t), hoPCID); v.Token != next.Token || v.Failure != nil {
		t.Fatalf("the old holder's release touched the new claim: %+v", v)
	}
}

func testReleaseRecordsTheFailure(t *testing.T, s *state.Store, _ *clock) {
	c, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	f := state.HandoverFailure{Status: 409, Code: "handover_rejected", Message: "the platform refused"}
	if err := s.ReleaseHandover(ctx(t), c, f, true); err != nil {
		t.Fatal(err)
	}
	v, _ := s.HandoverState(ctx(t), hoPCID)
	if v.Token != "" || v.Result != c.Token || v.Failure == nil || *v.Failure != f || v.Escalated() {
		t.Fatalf("after release %+v", v)
	}
	again, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false)
	if err != nil || again.ID != c.ID || !again.TextSent {
		t.Fatalf("retry %+v, %v (same handover, text already sent)", again, err)
	}
}

func testBarrierAck(t *testing.T, s *state.Store, _ *clock) {
	if ok, err := s.AckBarrier(ctx(t), hoPCID, "nobody"); ok || err != nil {
		t.Fatalf("barrier of no claim: %v, %v", ok, err)
	}
	c, _ := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false)
	if ok, err := s.AckBarrier(ctx(t), hoPCID, "stale"); ok || err != nil {
		t.Fatalf("stale barrier: %v, %v", ok, err)
	}
	if ok, err := s.AckBarrier(ctx(t), hoPCID, c.Token); !ok || err != nil {
		t.Fatalf("barrier: %v, %v", ok, err)
	}
	if v, _ := s.HandoverState(ctx(t), hoPCID); v.Ack != c.Token {
		t.Fatalf("view %+v", v)
	}
}

func testFreshClaim(t *testing.T, s *state.Store, c *clock) {
	if err := s.SetStatus(ctx(t), hoPCID, "agent-1", state.ConvEscalated, "old-desk"); err != nil {
		t.Fatal(err)
	}
	c.add(25 * time.Hour) // past ConvTTL; TTL has not deleted the item yet
	v, err := s.HandoverState(ctx(t), hoPCID)
	if err != nil || !v.Expired || v.Escalated() {
		t.Fatalf("view %+v, %v", v, err)
	}
	// A claim that takes it for live is refused (the old escalation must not
	// come back with a new expiry); the fresh one resets it.
	var busy *state.HandoverBusyError
	if _, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, false); !errors.As(err, &busy) || busy.Token != "" {
		t.Fatalf("non-fresh claim of an expired item: %v", err)
	}
	cl, err := s.ClaimHandover(ctx(t), hoPCID, "agent-1", time.Minute, true)
	if err != nil {
		t.Fatalf("fresh claim: %v", err)
	}
	if cl.Conv == nil || cl.Conv.Status != state.ConvActive || cl.Conv.HandoverTo != "" {
		t.Fatalf("fresh claim kept the old conversation: %+v", cl.Conv)
	}
}

func testTranscriptRing(t *testing.T, s *state.Store, c *clock) {
	at := c.now()
	for i := range 5 {
		if err := s.AppendTurn(ctx(t), hoPCID, state.Turn{From: "visitor", Text: fmt.Sprintf("t%d", i), At: at.Add(time.Duration(i) * time.Second)}, 3, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Transcript(ctx(t), hoPCID, 3)
	if err != nil || len(got) != 3 || got[0].Text != "t2" || got[2].Text != "t4" || !got[2].At.Equal(at.Add(4*time.Second)) {
		t.Fatalf("transcript %+v, %v", got, err)
	}
	if err := s.DropTranscript(ctx(t), hoPCID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Transcript(ctx(t), hoPCID, 3); len(got) != 0 {
		t.Fatalf("a dropped transcript: %+v", got)
	}
	// A new ring: the old slots (same numbers) belong to the old epoch.
	_ = s.AppendTurn(ctx(t), hoPCID, state.Turn{From: "bot", Text: "new", At: at}, 3, time.Hour)
	if got, _ := s.Transcript(ctx(t), hoPCID, 3); len(got) != 1 || got[0].Text != "new" {
		t.Fatalf("after a drop %+v", got)
	}
	c.add(2 * time.Hour)
	if got, _ := s.Transcript(ctx(t), hoPCID, 3); len(got) != 0 {
		t.Fatalf("an expired transcript: %+v", got)
	}
}
