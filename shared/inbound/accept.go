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
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Delivery is the data of an inbound queue record: one event of the
// platform, delivered with the tenant mapping of the day it is delivered.
type Delivery struct {
	Event source.Event `json:"event"`
}

// resendWindow is how long after accepting an event a platform's
// redelivery sends the event to the queue again. The send is harmless when
// the first one arrived (SQS FIFO drops a deduplication ID it saw in the
// last 5 minutes) and repairs the one case it did not: the bridge died
// between the claim and the send.
const resendWindow = 4 * time.Minute

// acceptor accepts one platform request's events.
type acceptor struct {
	h         *Handler
	acct      *source.Account
	requestID string
}

// record is one queue message an event becomes.
type record struct {
	env    queue.Envelope
	dedupe string
}

// accept claims ev, writes the state change it makes, and enqueues it. A
// failure before the event is on its queue gives the claim back and asks
// the platform to retry; the event is never dropped.
func (a acceptor) accept(ctx context.Context, i int, ev source.Event) (string, error) {
	h := a.h
	conv := a.acct.Conversation(ev.Conversation)
	pcid := conv.PCID()
	if ev.Kind == source.AgentMessage {
		// Synchronous like before: the desk must hear at once that its
		// agent is not in the conversation yet.
		c, err := h.State.Conversation(ctx, pcid)
		if err != nil && !errors.Is(err, state.ErrNoConversation) {
			return "", apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not read the conversation; retry later")
		}
		if c == nil || c.DeskAgent == "" {
			return "", errNotJoined
		}
	}
	var lease *state.Lease
	key := ""
	if ev.ID != "" {
		key = state.EventKey(conv.Source, conv.Account, ev.ID)
		l, err := h.State.Accept(ctx, key, eventHash(ev))
		if d, ok := state.IsDuplicate(err); ok {
			a.duplicate(ctx, d, pcid, key, ev, i)
			return OutcomeDuplicate, nil
		}
		if err != nil {
			return "", apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not record the event; retry later")
		}
		lease = l
	}
	change, err := a.change(ctx, pcid, ev)
	if err == nil && change != nil {
		err = h.State.ChangeConversation(ctx, *change)
	}
	if err != nil {
		a.release(ctx, lease)
		if errors.Is(err, state.ErrExists) {
			return "", apigw.Wrap(err, http.StatusConflict, "conversation_exists", "the conversation already exists")
		}
		return "", apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not record the conversation; retry later")
	}
	for _, r := range a.records(pcid, key, ev, i) {
		if err := h.Queue.Send(ctx, r.env, r.dedupe); err != nil {
			a.release(ctx, lease)
			if ev.MustBeNew {
				a.undoCreation(ctx, pcid)
			}
			h.Metrics.Count("EnqueueFailed", 1, map[string]string{"Queue": queue.KindInbound})
			return "", &apigw.Error{Status: http.StatusServiceUnavailable, Code: "queue_unavailable", Message: "the event could not be recorded for delivery; retry later", RetryAfter: 5 * time.Second, Err: err}
		}
	}
	return OutcomeQueued, nil
}

// duplicate answers a redelivery of an accepted event, sending it to the
// queue again within resendWindow (see there).
func (a acceptor) duplicate(ctx context.Context, d *state.DuplicateError, pcid, key string, ev source.Event, i int) {
	if d.HashDiffer {
		a.h.Log.WarnContext(ctx, "event ID reused with different content", slog.String("key", d.Key))
		return
	}
	if d.Status != state.StatusQueued || a.h.Now().Sub(d.At) >= resendWindow {
		return
	}
	for _, r := range a.records(pcid, key, ev, i) {
		if err := a.h.Queue.Send(ctx, r.env, r.dedupe); err != nil {
			// The first send most likely arrived; the platform's next
			// retry tries again otherwise.
			a.h.Log.WarnContext(ctx, "could not resend a redelivered event", slog.String("key", key), slog.String("error", err.Error()))
			return
		}
	}
}

// change is the state change an event makes that later requests depend on:
// written here, before the platform gets its answer, and only for these
// events. Messages write nothing: their one write is the claim.
func (a acceptor) change(ctx context.Context, pcid string, ev source.Event) (*state.ConvChange, error) {
	c := &state.ConvChange{PCID: pcid, AgentID: a.acct.AgentID}
	switch ev.Kind {
	case source.Started:
		c.SetStatus, c.RequireNew = state.ConvActive, ev.MustBeNew
		c.Attrs = paramAttrs(SessionParams(a.acct.Metadata, ev.User, ev.Params))
		for k, v := range ev.Attrs {
			c.Attrs[k] = v
		}
	case source.Ended, source.HandedBack:
		c.SetStatus = state.ConvEnded
	case source.AgentJoined:
		name := ev.Agent.Name
		c.DeskAgent = &name
	case source.AgentLeft, source.AgentFailed:
		none := ""
		c.SetStatus, c.DeskAgent = state.ConvEnded, &none
	case source.Metadata:
		// Written only when the parameters change: read first (a read is
		// an eighth of a write).
		params := paramAttrs(SessionParams(a.acct.Metadata, ev.User, ev.Params))
		cur, err := a.h.State.Conversation(ctx, pcid)
		if err != nil && !errors.Is(err, state.ErrNoConversation) {
			return nil, err
		}
		if cur != nil && sameParams(cur.Attrs, params) {
			return nil, nil
		}
		c.Attrs = params
	default:
		return nil, nil
	}
	return c, nil
}

// records are the queue messages of ev: one, or for a conversation that
// started with a visitor's message (LivePerson's START), startSession and
// then the message, each retried on its own so neither is sent twice.
func (a acceptor) records(pcid, key string, ev source.Event, i int) []record {
	dedupe := key
	if key == "" {
		// No platform ID: identical events may be two messages, so only
		// this request's own resends (the SDK's) may collapse.
		dedupe = fmt.Sprintf("%s#%s#%d#%s", pcid, a.requestID, i, eventHash(ev))
	}
	mk := func(e source.Event, key, dedupe string) record {
		data, _ := json.Marshal(Delivery{Event: e})
		return record{env: queue.Envelope{Kind: queue.KindInbound, Key: key, PCID: pcid, Data: data}, dedupe: dedupe}
	}
	if ev.Kind != source.Started || ev.LastMessage == "" {
		return []record{mk(ev, key, dedupe)}
	}
	start, msg := ev, source.Event{ID: ev.ID, Kind: source.Message, Conversation: ev.Conversation, Text: ev.LastMessage}
	start.LastMessage = ""
	msgKey := ""
	if key != "" {
		msgKey = key + "#message"
	}
	return []record{mk(start, key, dedupe), mk(msg, msgKey, dedupe+"#message")}
}

var errNotJoined = &apigw.Error{Status: http.StatusConflict, Code: "agent_not_joined", Message: "agent.message before agent.joined: the widget accepts messages only after the escalation succeeded"}

// release gives a claim back after its work could not be queued, with its
// own time: the request's may be spent.
func (a acceptor) release(ctx context.Context, l *state.Lease) {
	if l == nil {
		return
	}
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	if err := a.h.State.Release(cctx, l); err != nil {
		// The claim stays: the platform's retry within resendWindow sends
		// the event again.
		a.h.Log.ErrorContext(ctx, "release failed", slog.String("key", l.Key), slog.String("error", err.Error()))
	}
}

// undoCreation resets a conversation created for an event that could not
// be queued, or the platform's retry of the creation would meet a 409.
func (a acceptor) undoCreation(ctx context.Context, pcid string) {
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	if err := a.h.State.ChangeConversation(cctx, state.ConvChange{PCID: pcid, SetStatus: state.ConvEnded}); err != nil {
		a.h.Log.ErrorContext(ctx, "could not reset a failed conversation creation", slog.String("pcid", pcid), slog.String("error", err.Error()))
	}
}

// paramAttrs are session parameters as conversation attributes
// (state.ParamPrefix), sanitized values masked: kept for the human at a
// handover, never the personal data itself.
func paramAttrs(items []ultimate.MetaItem) map[string]string {
	out := make(map[string]string, len(items))
	for _, m := range items {
		v := m.Value
		if m.Sanitize {
			v = state.Masked
		}
		out[state.ParamPrefix+m.Key] = v
	}
	return out
}

func sameParams(cur, next map[string]string) bool {
	for k, v := range next {
		if cur[k] != v {
			return false
		}
	}
	return true
}

// cleanupCtx outlives the request's deadline, so a claim can be given back
// even when the request ran out of time.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

func eventHash(ev source.Event) string {
	b, _ := json.Marshal(ev)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
