package ultimatetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// TestOrdering sends five messages on each of two conversations as fast as
// possible. Each conversation's webhooks must arrive welcome first, then
// the echoes in order, never two at once.
func TestOrdering(t *testing.T) {
	e := newEnv(t)
	e.recv.delay = 5 * time.Millisecond // widen the window for overlaps
	pcids := []string{"web:acme:a", "web:acme:b"}
	var wg sync.WaitGroup
	for _, p := range pcids {
		wg.Go(func() {
			for i := range 5 {
				e.say(p, fmt.Sprintf("m%d", i))
			}
		})
	}
	wg.Wait()
	e.wait()
	want := []string{WelcomeText, "You said: m0", "You said: m1", "You said: m2", "You said: m3", "You said: m4"}
	for _, p := range pcids {
		if got := e.recv.transcript(p); !slices.Equal(got, want) {
			t.Errorf("%s: transcript %q, want %q", p, got, want)
		}
	}
	if n := e.recv.overlapCount(); n != 0 {
		t.Errorf("%d webhooks overlapped another of the same conversation", n)
	}
	if n := len(e.fake.Deliveries()); n != 12 {
		t.Errorf("%d deliveries, want 12", n)
	}
}

// TestAckBeforeWebhooks checks the 200 does not wait for our side, and one
// stuck conversation does not hold up another: the free conversation's
// webhook arrives while the stuck one's first webhook is still unanswered.
// Both arrivals are events; the two conversations' workers may deliver in
// either order.
func TestAckBeforeWebhooks(t *testing.T) {
	e := newEnv(t)
	release, stuckSeen, freeSeen := make(chan struct{}), make(chan struct{}), make(chan struct{})
	e.recv.setAnswer(func(h hook) (int, string) {
		switch {
		case h.PCID == "stuck" && h.Data["text"] == WelcomeText:
			close(stuckSeen)
			<-release
		case h.PCID == "free":
			close(freeSeen)
		}
		return 200, ""
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release) // let the worker go if the test failed early
		}
	}()
	e.chat("stuck", ultimate.EventStartSession, nil) // answered while our side is still busy
	e.say("stuck", "hello")
	e.chat("free", ultimate.EventStartSession, nil)
	for _, ch := range []struct {
		name string
		c    chan struct{}
	}{{"the stuck conversation's welcome", stuckSeen}, {"the free conversation's welcome", freeSeen}} {
		select {
		case <-ch.c:
		case <-time.After(waitBound): // only a broken fake gets here
			t.Fatalf("%s never arrived while the stuck one was unanswered", ch.name)
		}
	}
	// The stuck worker is inside its first delivery: its next webhook
	// cannot have started.
	if got := e.recv.transcript("stuck"); len(got) != 1 {
		t.Errorf("stuck conversation sent %q while its first webhook was unanswered", got)
	}
	close(release)
	e.wait()
	if got, want := e.recv.transcript("stuck"), []string{WelcomeText, "You said: hello"}; !slices.Equal(got, want) {
		t.Errorf("transcript %q, want %q", got, want)
	}
	if n := e.recv.overlapCount(); n != 0 {
		t.Errorf("%d webhooks overlapped another of the same conversation", n)
	}
}
