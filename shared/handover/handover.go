// Package handover is the one path that hands a conversation to a human:
// the AI agent's escalate and widgetEscalate (webhook-escalation) and the
// bridge's own fallback when the AI agent cannot be reached (the inbound
// queue consumer, AgentUnavailable). Every handover is
//
//  1. claimed on the conversation item with one conditional write, so
//     however many calls arrive at once exactly one hands over; the others
//     wait for its result and answer the same. A claim lapses with its
//     lease, so a caller that died is taken over by the next call;
//  2. ordered after the bot messages queued before it: the winner puts a
//     barrier record on the outbound FIFO queue in the conversation's group
//     and waits until the outbound consumer has reached it (BarrierReached);
//  3. the adapter's handover, with the context the bridge has (reason,
//     escalateTo, the session parameters, the transcript where the account
//     keeps one, the visitor messages the AI agent never got);
//  4. status escalated (or, on failure, the claim released with the reason
//     every waiter answers).
//
// Waiting is event-driven within a process (Notifier: the local stack and
// tests run every function in one process) and otherwise a strongly
// consistent re-read on a growing interval, always within the caller's
// budget.
package handover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// State is the part of the state store the handover uses (state.Store).
type State interface {
	HandoverState(ctx context.Context, pcid string) (*state.HandoverView, error)
	ClaimHandover(ctx context.Context, pcid, agentID string, lease time.Duration, fresh bool) (*state.HandoverClaim, error)
	AckBarrier(ctx context.Context, pcid, token string) (bool, error)
	FinishHandover(ctx context.Context, c *state.HandoverClaim, agentID, handoverTo string) error
	ReleaseHandover(ctx context.Context, c *state.HandoverClaim, f state.HandoverFailure, textSent bool) error
	SetStatus(ctx context.Context, pcid, agentID, status, handoverTo string) error
	Conversation(ctx context.Context, pcid string) (*state.Conversation, error)
	AppendTurn(ctx context.Context, pcid string, t state.Turn, size int, ttl time.Duration) error
	Transcript(ctx context.Context, pcid string, size int) ([]state.Turn, error)
	DropTranscript(ctx context.Context, pcid string) error
}

var _ State = (*state.Store)(nil)

// Queue puts records on the outbound queue (queue.Producer).
type Queue interface {
	Send(ctx context.Context, e queue.Envelope, dedupe string) error
}

var _ Queue = (*queue.Producer)(nil)

// Handover hands conversations to humans. Build it once per execution
// environment and share it between the handlers of one process (its
// Notifier wakes the waiters of that process).
type Handover struct {
	State   State
	Sources *source.Registry
	// Outbound is the outbound FIFO queue the barrier goes on. Nil means bot
	// messages are not queued (each is delivered before its webhook is
	// answered): nothing can be ahead of the handover, so there is no
	// barrier.
	Outbound Queue
	Retry    retry.Policy // for the platform's calls
	Log      *slog.Logger
	Metrics  *obs.Metrics
	Now      func() time.Time
	// Notify wakes waiters in this process; nil waits by re-reading only.
	Notify *Notifier

	// Budget bounds a handover whose context has no deadline; default 8 s.
	Budget time.Duration
	// Reserve is the part of the budget kept for the platform's handover
	// after the barrier wait; default 3 s, at most half of what is left.
	Reserve time.Duration
	// PollFirst and PollMax are the re-read interval when no in-process
	// notice comes: PollFirst, doubling up to PollMax (defaults 100 ms, 1 s).
	PollFirst, PollMax time.Duration
	// After makes a poll timer (a channel and a stop function); default
	// time.NewTimer. Tests inject theirs.
	After func(time.Duration) (<-chan time.Time, func())
	// LeaseMargin is how long a claim outlives its caller's deadline, so a
	// live winner never loses it; default 2 s.
	LeaseMargin time.Duration
	// TranscriptTTL is how long a transcript outlives its last turn;
	// default 24 h.
	TranscriptTTL time.Duration
}

// Outcomes of a handover that succeeded.
const (
	OutcomeEscalated        = "escalated"
	OutcomeAlreadyEscalated = "already_escalated"
)

// Request is one handover.
type Request struct {
	Account    *source.Account
	Conv       source.Conversation
	AgentID    string
	EscalateTo string
	Reason     string // source.ReasonEscalate or source.ReasonAgentUnavailable
	// Widget hands a widget conversation to the tenant's desk.
	Widget bool
	// Held are the visitor texts the AI agent never got (the fallback).
	Held []string
}

// Escalate hands r's conversation to a human once, however many calls ask:
// OutcomeEscalated when this call or the one it waited for did it,
// OutcomeAlreadyEscalated when the conversation was with a human already.
// Any other answer is a *Failure.
func (h *Handover) Escalate(ctx context.Context, r Request) (string, error) {
	ctx, cancel := h.bound(ctx)
	defer cancel()
	if err := h.supported(r); err != nil {
		return "", err
	}
	pcid := r.Conv.PCID()
	log := h.logger().With(slog.String("pcid", pcid), slog.String("reason", r.Reason))
	w := h.newWaiter(pcid)
	defer w.close()
	var watched string // the token of the claim this call waits for
	for {
		w.arm()
		v, err := h.State.HandoverState(ctx, pcid)
		if err != nil {
			return "", failure(err, 503, "state_unavailable", "could not read the conversation; retry")
		}
		switch {
		case v.Escalated() && watched != "":
			log.Info("handover done by another call", slog.String("outcome", OutcomeEscalated))
			return OutcomeEscalated, nil
		case v.Escalated():
			return OutcomeAlreadyEscalated, nil
		case watched != "" && v.Result == watched && v.Failure != nil:
			return "", recorded(v.Failure)
		case v.Token != "":
			watched = v.Token
		default:
			claim, err := h.State.ClaimHandover(ctx, pcid, r.AgentID, h.lease(ctx), v.Expired)
			var busy *state.HandoverBusyError
			switch {
			case err == nil:
				return h.run(ctx, r, claim, log)
			case errors.Is(err, state.ErrAlreadyEscalated):
				return OutcomeAlreadyEscalated, nil
			case errors.As(err, &busy):
				// An empty token: the item is not what we read; read again
				// after the wait.
				watched = busy.Token
			default:
				return "", failure(err, 503, "state_unavailable", "could not claim the handover; retry")
			}
		}
		if err := w.wait(ctx); err != nil {
			return "", failure(err, 504, "handover_in_progress", "another call is handing this conversation over and did not finish in time; retry")
		}
	}
}

// run is the winner's part: barrier, context, fallback text, the platform's
// handover, status.
func (h *Handover) run(ctx context.Context, r Request, c *state.HandoverClaim, log *slog.Logger) (string, error) {
	textSent := c.TextSent
	fail := func(f *Failure) (string, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := h.State.ReleaseHandover(cctx, c, f.record(), textSent); err != nil {
			// The claim lapses with its lease; the next call takes over then.
			log.Error("could not release the handover claim", slog.String("error", err.Error()))
		}
		h.Notify.signal(c.PCID)
		h.Metrics.Count("HandoverFailures", 1, map[string]string{"Source": r.Conv.Source, "Code": f.Code})
		log.Warn("handover failed", slog.String("code", f.Code), slog.Int("status", f.Status), slog.String("error", errString(f.Err)))
		return "", f
	}
	if err := h.barrier(ctx, c); err != nil {
		return fail(asFailure(err))
	}
	req := source.HandoverRequest{AgentID: r.AgentID, EscalateTo: r.EscalateTo, ID: c.ID, Context: h.context(ctx, r, c.Conv, log)}
	if r.Reason == source.ReasonAgentUnavailable && !textSent {
		textSent = h.tellVisitor(ctx, r, c, log)
	}
	var err error
	if r.Widget {
		desk, _ := source.Capability[source.Desk](h.Sources, r.Conv.Source)
		err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error { return desk.WidgetEscalate(ctx, r.Account, r.Conv, req) })
	} else {
		esc, _ := source.Capability[source.Escalator](h.Sources, r.Conv.Source)
		err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error { return esc.Escalate(ctx, r.Account, r.Conv, req) })
	}
	if err != nil {
		return fail(classify(err))
	}
	target := r.EscalateTo
	if r.Widget {
		target = "widget:" + target
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := h.State.FinishHandover(cctx, c, r.AgentID, target); err != nil {
		// The human has it; failing now would make the bot run its fallback
		// on a conversation that was handed over. Record the status without
		// the claim, and log loudly if even that fails.
		if serr := h.State.SetStatus(cctx, c.PCID, r.AgentID, state.ConvEscalated, target); serr != nil {
			log.Error("handover succeeded but the conversation status was not saved; visitor messages may still reach the AI agent",
				slog.String("error", err.Error()))
		}
	}
	h.Notify.signal(c.PCID)
	if r.Account.Transcript != nil {
		// The human has the transcript; a conversation handed back starts a
		// new one.
		if err := h.State.DropTranscript(cctx, c.PCID); err != nil {
			log.Warn("could not drop the transcript after the handover", slog.String("error", err.Error()))
		}
	}
	h.Metrics.Count("Escalations", 1, map[string]string{"Source": r.Conv.Source, "Reason": r.Reason})
	log.Info("handed over", slog.String("outcome", OutcomeEscalated), slog.Bool("widget", r.Widget))
	return OutcomeEscalated, nil
}

// supported checks that the platform can do the handover before anything is
// claimed.
func (h *Handover) supported(r Request) error {
	if r.Account == nil {
		return &Failure{Status: 500, Code: "handover_failed", Message: "no account for the conversation", Err: errors.New("handover without an account")}
	}
	var err error
	if r.Widget {
		_, err = source.Capability[source.Desk](h.Sources, r.Conv.Source)
		if err != nil {
			return failure(err, 422, "handover_unsupported", fmt.Sprintf("source %q has no desk for widget escalations", r.Conv.Source))
		}
		return nil
	}
	if _, err = source.Capability[source.Escalator](h.Sources, r.Conv.Source); err != nil {
		return failure(err, 422, "handover_unsupported", fmt.Sprintf("source %q cannot hand over to a human", r.Conv.Source))
	}
	return nil
}

// tellVisitor sends the account's fallback text, once per handover: its
// message ID is derived from the handover's, so a platform that dedupes
// (generic: webhook-id) drops a repeat after a crash. A failure does not
// stop the handover (the human matters more); it is logged.
func (h *Handover) tellVisitor(ctx context.Context, r Request, c *state.HandoverClaim, log *slog.Logger) bool {
	fb := r.Account.Fallback
	if fb == nil || fb.Text == "" {
		return false
	}
	snd, err := source.Capability[source.Sender](h.Sources, r.Conv.Source)
	if err != nil {
		log.Warn("fallback text not sent: the source cannot send", slog.String("error", err.Error()))
		return false
	}
	msg := ultimate.Message{Type: "text", Text: fb.Text, MessageID: "fallback-" + c.ID}
	p := &source.Progress{}
	err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error { return snd.Send(ctx, r.Account, r.Conv, msg, p) })
	if err != nil {
		log.Warn("fallback text not sent", slog.String("error", err.Error()))
		return false
	}
	return true
}

// AgentUnavailable is the fallback of an account whose visitor's event could
// not reach the AI agent for Fallback.After: the conversation goes to a
// human (reason agent_unavailable, the platform's default target) with the
// held visitor texts, after the account's fallback text to the visitor. It
// returns nil when the conversation is with a human (now or already).
func (h *Handover) AgentUnavailable(ctx context.Context, acct *source.Account, conv source.Conversation, held []source.Event) error {
	r := Request{Account: acct, Conv: conv, Reason: source.ReasonAgentUnavailable, Held: heldTexts(held)}
	if acct != nil {
		r.AgentID = acct.AgentID
	}
	_, err := h.Escalate(ctx, r)
	return err
}

func (h *Handover) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, orDefault(h.Budget, 8*time.Second))
}

// lease outlives the caller's deadline, so a live winner keeps its claim to
// the end; only a caller that died leaves one to lapse.
func (h *Handover) lease(ctx context.Context) time.Duration {
	dl, _ := ctx.Deadline()
	return max(time.Until(dl), 0) + orDefault(h.LeaseMargin, 2*time.Second)
}

func (h *Handover) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
