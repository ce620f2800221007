package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Outcomes of one event.
const (
	OutcomeSent      = "sent"
	OutcomeDuplicate = "duplicate"
	OutcomeHeld      = "held"    // with a human; not sent to the AI agent
	OutcomeInvalid   = "invalid" // skipped: a malformed ID (logged)
)

// worker does one account's events; a queue consumer builds one per
// delivery the same way.
type worker struct {
	h      *Handler
	acct   *source.Account
	target ultimate.Target
}

// process claims ev, does its work once, and finishes the claim. A failure
// after the claim either releases it (the platform's retry redoes the work)
// or keeps the event as a dead letter; it is never dropped.
func (w worker) process(ctx context.Context, ev source.Event) (string, error) {
	conv := w.acct.Conversation(ev.Conversation)
	pcid := conv.PCID()
	claim := state.Claim{Lease: w.h.Lease, Conv: convChange(ev.Kind, pcid, w.target.AgentID)}
	claim.Conv.RequireNew = ev.Kind == source.Started && ev.MustBeNew
	claim.Conv.Attrs = ev.Attrs
	if ev.ID != "" {
		claim.Key = state.EventKey(conv.Source, conv.Account, ev.ID)
		claim.Hash = eventHash(ev)
	}
	lease, err := w.h.State.Begin(ctx, claim)
	if d, ok := state.IsDuplicate(err); ok {
		if d.HashDiffer {
			w.h.Log.WarnContext(ctx, "event ID reused with different content", slog.String("key", d.Key))
		}
		if d.Status == state.StatusInProgress {
			return "", &apigw.Error{Status: http.StatusServiceUnavailable, Code: "in_progress", Message: "this event is being processed; retry later", RetryAfter: d.RetryAfter, Err: err}
		}
		return OutcomeDuplicate, nil
	}
	if errors.Is(err, state.ErrHeld) {
		return OutcomeHeld, nil
	}
	if errors.Is(err, state.ErrExists) {
		return "", apigw.Wrap(err, http.StatusConflict, "conversation_exists", "the conversation already exists")
	}
	if err != nil {
		return "", apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not record the event; retry later")
	}

	if err := w.deliver(ctx, conv, ev); err != nil {
		return "", w.fail(ctx, lease, conv, ev, err)
	}
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	if err := w.h.State.Done(cctx, lease); err != nil {
		// The work is done; a lost lease only risks a duplicate on a retry.
		w.h.Log.WarnContext(ctx, "could not mark event done", slog.String("key", lease.Key), slog.String("error", err.Error()))
	}
	return OutcomeSent, nil
}

// convChange says what an event does to the conversation item, written in
// the same transaction as the claim.
func convChange(k source.EventKind, pcid, agentID string) *state.ConvChange {
	c := &state.ConvChange{PCID: pcid, AgentID: agentID}
	switch k {
	case source.Started:
		c.SetStatus = state.ConvActive
	case source.Message:
		c.SetStatus = state.ConvActive
		c.RefuseEscalated = true
	case source.Ended, source.HandedBack:
		c.SetStatus = state.ConvEnded
	}
	return c
}

func (w worker) deliver(ctx context.Context, conv source.Conversation, ev source.Event) error {
	pcid := conv.PCID()
	chat := func(e ultimate.ChatEvent) error {
		e.PlatformConversationID = pcid
		return w.h.Agent.Chat(ctx, w.target, e)
	}
	widget := func(e ultimate.WidgetEvent) error {
		e.PlatformConversationID = pcid
		return w.h.Agent.Widget(ctx, w.target, e)
	}
	switch ev.Kind {
	case source.Started:
		if err := chat(ultimate.ChatEvent{EventType: ultimate.EventStartSession, MetaData: SessionParams(w.acct.Metadata, ev.User, ev.Params)}); err != nil {
			return err
		}
		if ev.LastMessage != "" {
			return chat(ultimate.ChatEvent{EventType: ultimate.EventMessage, Text: ev.LastMessage})
		}
		return nil
	case source.Message:
		return chat(ultimate.ChatEvent{EventType: ultimate.EventMessage, Text: ev.Text, CardIndex: ev.CardIndex, MetaData: SessionParams(w.acct.Metadata, ev.User, ev.Params)})
	case source.Ended, source.HandedBack:
		return chat(ultimate.ChatEvent{EventType: ultimate.EventEndSession})
	case source.Metadata:
		return chat(ultimate.ChatEvent{EventType: ultimate.EventMetadata, MetaData: SessionParams(w.acct.Metadata, ev.User, ev.Params)})
	case source.AgentQueue:
		return widget(ultimate.WidgetEvent{EventType: ultimate.WidgetQueueUpdate, QueuePosition: ev.Queue.Position, WaitingTime: ev.Queue.WaitMinutes})
	case source.AgentJoined:
		if err := widget(ultimate.WidgetEvent{EventType: ultimate.WidgetSuccess, Agent: ev.Agent.Name, AgentAvatar: ev.Agent.AvatarURL}); err != nil {
			return err
		}
		return w.h.State.SetDeskAgent(ctx, pcid, ev.Agent.Name)
	case source.AgentMessage:
		c, err := w.h.State.Conversation(ctx, pcid)
		if err != nil && !errors.Is(err, state.ErrNoConversation) {
			return err
		}
		if c == nil || c.DeskAgent == "" {
			return errNotJoined
		}
		return widget(ultimate.WidgetEvent{EventType: ultimate.WidgetMessage, Text: ev.Text})
	case source.AgentLeft, source.AgentFailed:
		t := ultimate.WidgetAgentDisconnect
		if ev.Kind == source.AgentFailed {
			t = ultimate.WidgetFailed
		}
		if err := widget(ultimate.WidgetEvent{EventType: t}); err != nil {
			return err
		}
		if err := w.h.State.SetDeskAgent(ctx, pcid, ""); err != nil {
			return err
		}
		return w.h.State.SetStatus(ctx, pcid, w.target.AgentID, state.ConvEnded, "")
	default:
		return fmt.Errorf("event kind %q: %w", ev.Kind, source.ErrUnsupported)
	}
}

var errNotJoined = &apigw.Error{Status: http.StatusConflict, Code: "agent_not_joined", Message: "agent.message before agent.joined: the widget accepts messages only after the escalation succeeded"}

// fail finishes a claim whose work failed and picks the answer.
func (w worker) fail(ctx context.Context, lease *state.Lease, conv source.Conversation, ev source.Event, err error) error {
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	var ae *apigw.Error
	if errors.As(err, &ae) && ae.Status < 500 {
		// The caller's mistake (e.g. out of sequence): let them fix and resend.
		if rerr := w.h.State.Release(cctx, lease); rerr != nil {
			w.h.Log.ErrorContext(ctx, "release failed", slog.String("key", lease.Key), slog.String("error", rerr.Error()))
		}
		return err
	}
	if ev.MustBeNew {
		// The claim created the conversation; undo that too, or the
		// platform's retry of the creation would meet a 409.
		if serr := w.h.State.SetStatus(cctx, conv.PCID(), w.target.AgentID, state.ConvEnded, ""); serr != nil {
			w.h.Log.ErrorContext(ctx, "could not reset a failed conversation creation", slog.String("pcid", conv.PCID()), slog.String("error", serr.Error()))
		}
	}
	if retry.IsRetryable(err) || errors.Is(err, retry.ErrBudget) || errors.Is(err, context.DeadlineExceeded) {
		// Transient: give the claim back and ask the platform to deliver again.
		if rerr := w.h.State.Release(cctx, lease); rerr != nil {
			w.h.Log.ErrorContext(ctx, "release failed", slog.String("key", lease.Key), slog.String("error", rerr.Error()))
		}
		w.h.Metrics.Count("AgentUnavailable", 1, nil)
		return &apigw.Error{Status: http.StatusServiceUnavailable, Code: "agent_unavailable", Message: "the AI agent did not accept the event in time; retry later", RetryAfter: 5 * time.Second, Err: err}
	}
	// Permanent for now (rejected, misconfigured): keep it for replay, and
	// answer 5xx so the platform's own retries get another chance too.
	if lease.Key != "" {
		payload, _ := json.Marshal(DeadEvent{PCID: conv.PCID(), AgentID: w.target.AgentID, BaseURL: w.target.BaseURL, Event: ev, Metadata: w.acct.Metadata})
		dl := state.DeadLetter{Kind: state.DeadInbound, Reason: egress.Reason(err), Payload: string(payload),
			Ref: map[string]string{"source": conv.Source, "account": conv.Account, "agentId": w.target.AgentID, "pcid": conv.PCID()}}
		if berr := w.h.State.Bury(cctx, lease, dl); berr != nil {
			w.h.Log.ErrorContext(ctx, "could not keep dead letter", slog.String("key", lease.Key), slog.String("error", berr.Error()))
			_ = w.h.State.Release(cctx, lease)
		} else {
			w.h.Metrics.Count("DeadLetters", 1, map[string]string{"Kind": state.DeadInbound})
		}
	}
	code, msg := "agent_rejected", "the AI agent rejected the event; it was kept as a dead letter"
	if !errors.Is(err, ultimate.ErrBadRequest) && !errors.Is(err, ultimate.ErrBotNotFound) && !errors.Is(err, ultimate.ErrUnauthorized) {
		code, msg = "delivery_failed", "the event could not be delivered to the AI agent; it was kept as a dead letter"
	}
	return apigw.Wrap(err, http.StatusBadGateway, code, msg)
}

// DeadEvent is an inbound dead letter's payload: enough to replay it.
type DeadEvent struct {
	PCID     string            `json:"pcid"`
	AgentID  string            `json:"agentId"`
	BaseURL  string            `json:"baseUrl,omitempty"`
	Event    source.Event      `json:"event"`
	Metadata []tenant.MetaRule `json:"metadata,omitempty"`
}

// cleanupCtx outlives the request's deadline briefly, so a lease can be
// released or buried even when the work ran out of time.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
}

func eventHash(ev source.Event) string {
	b, _ := json.Marshal(ev)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
