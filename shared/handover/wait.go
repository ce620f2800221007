package handover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/state"
)

// Notifier wakes the waiters of one process when a conversation's handover
// state changes here (a barrier reached, a handover finished or given up).
// Across processes (Lambda) waiters re-read instead. It holds an entry only
// while someone waits, so it stays as small as the waits in flight.
type Notifier struct {
	mu    sync.Mutex
	waits map[string]*waitSet
}

type waitSet struct {
	ch chan struct{}
	n  int
}

// NewNotifier returns an empty Notifier.
func NewNotifier() *Notifier { return &Notifier{waits: map[string]*waitSet{}} }

// watch returns a channel closed at the next signal for pcid, and the
// function that stops watching. A nil Notifier never signals.
func (n *Notifier) watch(pcid string) (<-chan struct{}, func()) {
	if n == nil {
		return nil, func() {}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ws := n.waits[pcid]
	if ws == nil {
		ws = &waitSet{ch: make(chan struct{})}
		n.waits[pcid] = ws
	}
	ws.n++
	return ws.ch, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		ws.n--
		if ws.n == 0 && n.waits[pcid] == ws {
			delete(n.waits, pcid)
		}
	}
}

func (n *Notifier) signal(pcid string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if ws := n.waits[pcid]; ws != nil {
		close(ws.ch)
		delete(n.waits, pcid)
	}
}

// waiter waits for a change of one conversation's handover state: the
// in-process notice, or the next re-read on a growing interval. arm it
// before each read, so a notice between the read and the wait is not lost.
type waiter struct {
	h        *Handover
	pcid     string
	interval time.Duration
	wake     <-chan struct{}
	stop     func()
}

func (h *Handover) newWaiter(pcid string) *waiter {
	return &waiter{h: h, pcid: pcid, interval: orDefault(h.PollFirst, 100*time.Millisecond), stop: func() {}}
}

func (w *waiter) arm() {
	w.stop()
	w.wake, w.stop = w.h.Notify.watch(w.pcid)
}

func (w *waiter) close() { w.stop() }

func (w *waiter) wait(ctx context.Context) error {
	after := w.h.After
	if after == nil {
		after = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTimer(d)
			return t.C, func() { t.Stop() }
		}
	}
	c, stop := after(w.interval)
	defer stop()
	w.interval = min(w.interval*2, orDefault(w.h.PollMax, time.Second))
	select {
	case <-w.wake:
		return nil
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BarrierData is the data of a barrier record on the outbound queue.
type BarrierData struct {
	Token string `json:"token"`
}

// BarrierToken reads a barrier record's token.
func BarrierToken(e queue.Envelope) (string, error) {
	var d BarrierData
	if e.Kind != queue.KindBarrier || json.Unmarshal(e.Data, &d) != nil || d.Token == "" {
		return "", fmt.Errorf("%w: not a barrier with a token", queue.ErrBadEnvelope)
	}
	return d.Token, nil
}

// BarrierReached is called by the outbound consumer when it reaches a
// barrier: every bot message queued before the handover was delivered (or
// kept as a dead letter). A barrier no handover waits for any more (its
// caller gave up) is acknowledged without a record. The consumer deletes
// the barrier on nil and retries it otherwise.
func (h *Handover) BarrierReached(ctx context.Context, pcid, token string) error {
	ok, err := h.State.AckBarrier(ctx, pcid, token)
	if err != nil {
		return err
	}
	if !ok {
		h.logger().DebugContext(ctx, "barrier no handover waits for", slog.String("pcid", pcid))
	}
	h.Notify.signal(pcid)
	return nil
}

// barrier orders the handover after the bot messages queued before it: a
// barrier record in the conversation's group of the outbound queue, then a
// wait (leaving Reserve of the budget for the platform) until the outbound
// consumer reached it.
func (h *Handover) barrier(ctx context.Context, c *state.HandoverClaim) error {
	if h.Outbound == nil {
		return nil
	}
	dl, _ := ctx.Deadline()
	left := time.Until(dl)
	wctx, cancel := context.WithTimeout(ctx, left-min(orDefault(h.Reserve, 3*time.Second), left/2))
	defer cancel()
	data, err := json.Marshal(BarrierData{Token: c.Token})
	if err != nil {
		return fmt.Errorf("encode barrier: %w", err)
	}
	w := h.newWaiter(c.PCID)
	defer w.close()
	w.arm()
	if err := h.Outbound.Send(wctx, queue.Envelope{Kind: queue.KindBarrier, PCID: c.PCID, Data: data}, c.Token); err != nil {
		return failure(err, 503, "queue_unavailable", "could not order the handover after the queued bot messages; retry")
	}
	for {
		v, err := h.State.HandoverState(wctx, c.PCID)
		switch {
		case err == nil && v.Ack == c.Token:
			return nil
		case err == nil && v.Token != c.Token:
			return failure(errors.New("the claim lapsed while waiting for the barrier"), 503, "handover_lost", "the handover claim lapsed; retry")
		}
		if werr := w.wait(wctx); werr != nil {
			return failure(werr, 504, "messages_pending", "bot messages queued before the escalation are not delivered yet; retry")
		}
		w.arm()
	}
}

func (h *Handover) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}
