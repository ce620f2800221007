package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Outcomes of a queue record.
const (
	OutcomeSent     = "sent"
	OutcomeHeld     = "held"     // with a human by now: not sent to the AI agent
	OutcomeFallback = "fallback" // the AI agent stayed unreachable: handed to a human
)

// DefaultAttemptTimeouts are the Chat API attempt timeouts by delivery.
var DefaultAttemptTimeouts = []time.Duration{6 * time.Second, 9 * time.Second}

var errAgentNotFound = apigw.Errorf(http.StatusNotFound, "agent_not_configured", "the account's AI agent is not configured")

// Deliver is the queue consumer's work on one record: today's tenant
// mapping, the check that no human has the conversation by now, then the
// Chat API call. What the AI agent refused for good (400, 401, 404) is a
// dead letter at once and its conversation goes on; what may succeed later
// is retried from the queue, where a fallback may hand the conversation to
// a human.
func (h *Handler) Deliver(ctx context.Context, r queue.Record) queue.Outcome {
	if r.Kind != queue.KindInbound {
		return queue.Dead(fmt.Errorf("a %s record on the inbound queue", r.Kind))
	}
	var d Delivery
	if err := decodeDelivery(r.Data, &d); err != nil {
		return queue.Dead(fmt.Errorf("%w: data: %v", queue.ErrBadEnvelope, err))
	}
	conv, err := source.ParsePCID(r.PCID)
	if err != nil {
		return queue.Dead(err)
	}
	acct, err := h.Accounts.Account(ctx, conv.Source, conv.Account, "")
	if err != nil {
		return lookupOutcome(err)
	}
	agent, err := h.Accounts.Agent(ctx, acct.AgentID, errAgentNotFound)
	if err != nil {
		return lookupOutcome(err)
	}
	ev, pcid := d.Event, conv.PCID()
	var cur *state.Conversation
	if ev.Kind == source.Message {
		// Strongly consistent: an escalation a moment ago holds the event.
		cur, err = h.State.Conversation(ctx, pcid)
		if err != nil && !errors.Is(err, state.ErrNoConversation) {
			return queue.Retry(err)
		}
		if cur != nil && cur.Status == state.ConvEscalated {
			return queue.Done(OutcomeHeld)
		}
	}
	actx, cancel := context.WithTimeout(ctx, h.attemptTimeout(r.Receives))
	err = h.call(actx, acct, ultimate.Target{AgentID: agent.AgentID, BaseURL: agent.BaseURL}, pcid, ev)
	cancel()
	if err == nil {
		h.delivered(ctx, acct, pcid, ev, cur, r)
		return queue.Done(OutcomeSent)
	}
	if permanent(err) {
		h.Metrics.Count("AgentRejected", 1, map[string]string{"Source": conv.Source})
		return queue.Dead(err)
	}
	h.Metrics.Count("AgentUnavailable", 1, map[string]string{"Source": conv.Source})
	if h.fallback(ctx, acct, conv, ev, r) {
		return queue.Done(OutcomeFallback)
	}
	var se *egress.StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return queue.RetryAfter(se.RetryAfter, err)
	}
	return queue.Retry(err)
}

func (h *Handler) attemptTimeout(receives int) time.Duration {
	ts := h.AttemptTimeouts
	if len(ts) == 0 {
		ts = DefaultAttemptTimeouts
	}
	return ts[min(max(receives, 1), len(ts))-1]
}

// call sends one event to the AI agent.
func (h *Handler) call(ctx context.Context, acct *source.Account, target ultimate.Target, pcid string, ev source.Event) error {
	chat := func(e ultimate.ChatEvent) error {
		e.PlatformConversationID = pcid
		return h.Agent.Chat(ctx, target, e)
	}
	widget := func(e ultimate.WidgetEvent) error {
		e.PlatformConversationID = pcid
		return h.Agent.Widget(ctx, target, e)
	}
	switch ev.Kind {
	case source.Started:
		return chat(ultimate.ChatEvent{EventType: ultimate.EventStartSession, MetaData: SessionParams(acct.Metadata, ev.User, ev.Params)})
	case source.Message:
		return chat(ultimate.ChatEvent{EventType: ultimate.EventMessage, Text: ev.Text, CardIndex: ev.CardIndex, MetaData: SessionParams(acct.Metadata, ev.User, ev.Params)})
	case source.Ended, source.HandedBack:
		return chat(ultimate.ChatEvent{EventType: ultimate.EventEndSession})
	case source.Metadata:
		return chat(ultimate.ChatEvent{EventType: ultimate.EventMetadata, MetaData: SessionParams(acct.Metadata, ev.User, ev.Params)})
	case source.AgentQueue:
		return widget(ultimate.WidgetEvent{EventType: ultimate.WidgetQueueUpdate, QueuePosition: ev.Queue.Position, WaitingTime: ev.Queue.WaitMinutes})
	case source.AgentJoined:
		return widget(ultimate.WidgetEvent{EventType: ultimate.WidgetSuccess, Agent: ev.Agent.Name, AgentAvatar: ev.Agent.AvatarURL})
	case source.AgentMessage:
		return widget(ultimate.WidgetEvent{EventType: ultimate.WidgetMessage, Text: ev.Text})
	case source.AgentLeft:
		return widget(ultimate.WidgetEvent{EventType: ultimate.WidgetAgentDisconnect})
	case source.AgentFailed:
		return widget(ultimate.WidgetEvent{EventType: ultimate.WidgetFailed})
	default:
		return fmt.Errorf("event kind %q: %w", ev.Kind, source.ErrUnsupported)
	}
}

// delivered does what follows a delivery: the visitor's turn for the
// transcript (or the transcript dropped when the conversation ended or was
// handed back), and a long conversation's expiry moved on. None may fail
// the delivery.
func (h *Handler) delivered(ctx context.Context, acct *source.Account, pcid string, ev source.Event, cur *state.Conversation, r queue.Record) {
	switch {
	case h.Transcript == nil:
	case ev.Kind == source.Message && ev.Text != "":
		turn := source.Turn{From: source.TurnVisitor, Text: ev.Text, At: r.EnqueuedAt()}
		if err := h.Transcript.Append(ctx, acct, pcid, turn); err != nil {
			h.Log.WarnContext(ctx, "could not keep the visitor's turn for the transcript", slog.String("pcid", pcid), slog.String("error", err.Error()))
		}
	case ev.Kind == source.Ended || ev.Kind == source.HandedBack:
		// A failure leaves the transcript to its TTL.
		if err := h.Transcript.Forget(ctx, acct, pcid); err != nil {
			h.Log.WarnContext(ctx, "could not drop the ended conversation's transcript; it expires by itself", slog.String("pcid", pcid), slog.String("error", err.Error()))
		}
	}
	if cur != nil && h.State.Stale(cur) {
		if err := h.State.Touch(ctx, pcid); err != nil {
			h.Log.WarnContext(ctx, "could not extend the conversation's expiry", slog.String("pcid", pcid), slog.String("error", err.Error()))
		}
	}
}

// fallback hands the conversation to a human when the account wants that
// and the visitor's event has waited for Fallback.After. The held events
// are this one and the conversation's later ones in the batch.
func (h *Handler) fallback(ctx context.Context, acct *source.Account, conv source.Conversation, ev source.Event, r queue.Record) bool {
	fb := acct.Fallback
	if h.Fallback == nil || fb == nil || !fromVisitor(ev.Kind) || r.Elapsed() < fb.After {
		return false
	}
	held := []source.Event{ev}
	for _, e := range r.Later {
		var d Delivery
		if e.Kind == queue.KindInbound && decodeDelivery(e.Data, &d) == nil && fromVisitor(d.Event.Kind) {
			held = append(held, d.Event)
		}
	}
	if err := h.Fallback.AgentUnavailable(ctx, acct, conv, held); err != nil {
		h.Log.ErrorContext(ctx, "fallback to a human failed; the event stays queued", slog.String("pcid", conv.PCID()), slog.String("error", err.Error()))
		return false
	}
	h.Metrics.Count("Fallbacks", 1, map[string]string{"Source": conv.Source})
	return true
}

func fromVisitor(k source.EventKind) bool { return k == source.Message || k == source.Started }

// permanent is a refusal that will not change by itself: the AI agent's
// 400/401/404 (after one fresh key), a destination the egress guard
// refuses, an event the bridge cannot send.
func permanent(err error) bool {
	return errors.Is(err, ultimate.ErrBadRequest) || errors.Is(err, ultimate.ErrUnauthorized) ||
		errors.Is(err, ultimate.ErrBotNotFound) || errors.Is(err, source.ErrUnsupported)
}

func lookupOutcome(err error) queue.Outcome {
	if accounts.Unconfigured(err) {
		return queue.Dead(err)
	}
	return queue.Retry(err)
}
