package state_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/state"
)

// The addressed-conversation items, on moto_server and on the in-memory
// fake, like the rest of the store.
func TestAddresses(t *testing.T) {
	tests := []storeCase{
		{"OpenIsStable", testOpenIsStable},
		{"ConcurrentOpensAgree", testConcurrentOpensAgree},
		{"BotMessageAndVisitorNotes", testBotMessageAndVisitorNotes},
		{"CloseOpensAFreshConversation", testCloseOpensAFreshConversation},
		{"OptOutOutlivesCloseNotExpiry", testOptOutOutlivesCloseNotExpiry},
		{"MarkSeen", testMarkSeen},
	}
	onEveryBackend(t, tests)
}

func ids() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("id%d", n)
	}
}

func testOpenIsStable(t *testing.T, s *state.Store, _ *clock) {
	next := ids()
	a, err := s.OpenAddress(ctx(t), "twilio", "AC1", "h1", `{"v":"x"}`, next)
	if err != nil || !a.Created || !a.Current || a.ID != "id1" {
		t.Fatalf("first open: %+v %v", a, err)
	}
	b, err := s.OpenAddress(ctx(t), "twilio", "AC1", "h1", `{"v":"x"}`, next)
	if err != nil || b.Created || b.ID != "id1" || !b.Current {
		t.Fatalf("second open: %+v %v", b, err)
	}
	other, err := s.OpenAddress(ctx(t), "twilio", "AC2", "h1", `{"v":"x"}`, next)
	if err != nil || other.ID == "id1" {
		t.Fatalf("another account's address: %+v %v", other, err)
	}
	got, err := s.Address(ctx(t), "twilio", "AC1", "id1")
	if err != nil || got.Value != `{"v":"x"}` || got.Hash != "h1" || !got.Current {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	if _, err := s.Address(ctx(t), "twilio", "AC2", "id1"); !errors.Is(err, state.ErrNoAddress) {
		t.Fatalf("another account's ID: %v", err)
	}
}

func testConcurrentOpensAgree(t *testing.T, s *state.Store, _ *clock) {
	next := ids()
	var wg sync.WaitGroup
	got := make([]string, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.OpenAddress(ctx(t), "twilio", "AC1", "h", "v", next)
			errs[i] = err
			if err == nil {
				got[i] = a.ID
			}
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("opens disagree: %v %v", got, errs)
		}
	}
}

func testBotMessageAndVisitorNotes(t *testing.T, s *state.Store, c *clock) {
	a, err := s.OpenAddress(ctx(t), "twilio", "AC1", "h", "v", ids())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NoteBotMessage(ctx(t), a, `[{"t":"Yes"}]`, "m1"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Address(ctx(t), "twilio", "AC1", a.ID)
	if got.Options != `[{"t":"Yes"}]` || got.Sending != "m1" || got.SendingAt.IsZero() {
		t.Fatalf("after a bot message: %+v", got)
	}
	if err := s.NoteBotMessage(ctx(t), a, "", "m2"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Address(ctx(t), "twilio", "AC1", a.ID)
	if got.Options != "" || got.Sending != "m2" {
		t.Fatalf("a bot message without options: %+v", got)
	}
	c.add(20 * time.Hour)
	if err := s.NoteVisitor(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	// Extended: still there past the first expiry (ConvTTL is 24 h here).
	c.add(10 * time.Hour)
	got, err = s.Address(ctx(t), "twilio", "AC1", a.ID)
	if err != nil || !got.LastIn.Equal(c.now().Add(-10*time.Hour)) {
		t.Fatalf("after a visitor note: %+v %v", got, err)
	}
}

func testCloseOpensAFreshConversation(t *testing.T, s *state.Store, _ *clock) {
	next := ids()
	a, _ := s.OpenAddress(ctx(t), "twilio", "AC1", "h", "v", next)
	if err := s.CloseAddress(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	b, err := s.OpenAddress(ctx(t), "twilio", "AC1", "h", "v", next)
	if err != nil || !b.Created || b.ID == a.ID {
		t.Fatalf("after close: %+v %v", b, err)
	}
	if err := s.NoteBotMessage(ctx(t), b, `[{"t":"B"}]`, "mb"); err != nil {
		t.Fatal(err)
	}
	// The old conversation still resolves, is no longer current, and a late
	// bot message to it leaves the new one's options alone.
	old, err := s.Address(ctx(t), "twilio", "AC1", a.ID)
	if err != nil || old.Current {
		t.Fatalf("old: %+v %v", old, err)
	}
	if err := s.NoteBotMessage(ctx(t), old, `[{"t":"A"}]`, "ma"); err != nil || old.Current {
		t.Fatalf("late message: %v", err)
	}
	cur, _ := s.Address(ctx(t), "twilio", "AC1", b.ID)
	if cur.Options != `[{"t":"B"}]` || cur.Sending != "mb" {
		t.Fatalf("new conversation's options: %+v", cur)
	}
	// Closing twice, or an old conversation, is a no-op.
	if err := s.CloseAddress(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.OpenAddress(ctx(t), "twilio", "AC1", "h", "v", next); again.ID != b.ID {
		t.Fatalf("closing an old conversation closed the current one: %+v", again)
	}
}

func testOptOutOutlivesCloseNotExpiry(t *testing.T, s *state.Store, c *clock) {
	next := ids()
	a, _ := s.OpenAddress(ctx(t), "twilio", "AC1", "h", "v", next)
	if err := s.SetOptOut(ctx(t), a, true); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseAddress(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	b, _ := s.OpenAddress(ctx(t), "twilio", "AC1", "h", "v", next)
	if !b.OptedOut {
		t.Fatalf("opt-out lost at close: %+v", b)
	}
	if got, _ := s.Address(ctx(t), "twilio", "AC1", b.ID); !got.OptedOut {
		t.Fatalf("lookup: %+v", got)
	}
	if err := s.SetOptOut(ctx(t), b, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Address(ctx(t), "twilio", "AC1", b.ID); got.OptedOut {
		t.Fatalf("opt-in: %+v", got)
	}
	if err := s.SetOptOut(ctx(t), b, true); err != nil {
		t.Fatal(err)
	}
	c.add(25 * time.Hour) // past ConvTTL: TTL has not deleted it yet, reads ignore it
	if _, err := s.Address(ctx(t), "twilio", "AC1", b.ID); !errors.Is(err, state.ErrNoAddress) {
		t.Fatalf("expired address: %v", err)
	}
	fresh, err := s.OpenAddress(ctx(t), "twilio", "AC1", "h", "v", next)
	if err != nil || !fresh.Created || fresh.OptedOut {
		t.Fatalf("after expiry: %+v %v", fresh, err)
	}
	if got, _ := s.Address(ctx(t), "twilio", "AC1", fresh.ID); got.OptedOut {
		t.Fatalf("expired opt-out came back: %+v", got)
	}
}

func testMarkSeen(t *testing.T, s *state.Store, c *clock) {
	k := state.SeenKey("twilio", "AC1", "desk-1")
	if first, err := s.MarkSeen(ctx(t), k, time.Hour); err != nil || !first {
		t.Fatalf("first: %v %v", first, err)
	}
	if first, err := s.MarkSeen(ctx(t), k, time.Hour); err != nil || first {
		t.Fatalf("second: %v %v", first, err)
	}
	if err := s.ForgetSeen(ctx(t), k); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.MarkSeen(ctx(t), k, time.Hour); !first {
		t.Fatal("after forget")
	}
	c.add(2 * time.Hour)
	if first, _ := s.MarkSeen(ctx(t), k, time.Hour); !first {
		t.Fatal("after expiry")
	}
}
