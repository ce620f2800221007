package message

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Outcomes of a queue record.
const (
	OutcomeDelivered = "delivered"
	OutcomeBarrier   = "barrier"
)

// Deliver is the queue consumer's work on one record: a bot message or
// widget event rendered and sent with the platform's adapter, or a
// handover's barrier acknowledged. A platform's lasting refusal (a 4xx
// other than 408/429) is a dead letter at once; anything else comes back
// from the queue with growing delays until the account's maximum age.
func (h *Handler) Deliver(ctx context.Context, r queue.Record) queue.Outcome {
	switch r.Kind {
	case queue.KindBarrier:
		return h.barrier(ctx, r)
	case queue.KindOutbound:
	default:
		return queue.Dead(fmt.Errorf("a %s record on the outbound queue", r.Kind))
	}
	var d Data
	if err := json.Unmarshal(r.Data, &d); err != nil || d.Event == nil {
		return queue.Dead(fmt.Errorf("%w: data is not a kept webhook event", queue.ErrBadEnvelope))
	}
	conv, err := source.ParsePCID(r.PCID)
	if err != nil {
		return queue.Dead(err)
	}
	acct, err := h.Accounts.Account(ctx, conv.Source, conv.Account, "")
	if err != nil {
		if accounts.Unconfigured(err) {
			return queue.Dead(err)
		}
		return queue.Retry(err)
	}
	dctx, cancel := context.WithTimeout(ctx, cmp.Or(h.Budget, 10*time.Second))
	defer cancel()
	switch ev := d.Event; ev.EventType {
	case ultimate.EventSendMessage:
		return h.send(dctx, r, acct, conv, ev.Message())
	case ultimate.EventWidgetMessage, ultimate.EventWidgetEndSession:
		desk, err := source.Capability[source.Desk](h.Sources, conv.Source)
		if err != nil {
			return queue.Dead(err)
		}
		err = h.Retry.Do(dctx, func(ctx context.Context, _ int) error {
			if ev.EventType == ultimate.EventWidgetMessage {
				return desk.WidgetMessage(ctx, acct, conv, ev.Text)
			}
			return desk.WidgetEndSession(ctx, acct, conv)
		})
		if err != nil {
			return outcomeOf(err)
		}
		return queue.Done(OutcomeDelivered)
	default:
		return queue.Dead(fmt.Errorf("%s events are not delivered from the queue", ev.EventType))
	}
}

// send delivers a bot message. A multi-part message that failed part-way
// has its progress written to its claim (the only write of a bot message
// besides the claim, and only on that failure); a redelivery reads it back
// and sends the remaining parts.
func (h *Handler) send(ctx context.Context, r queue.Record, acct *source.Account, conv source.Conversation, msg ultimate.Message) queue.Outcome {
	sender, err := source.Capability[source.Sender](h.Sources, conv.Source)
	if err != nil {
		return queue.Dead(err)
	}
	var p source.Progress
	if r.Key != "" && r.Receives > 1 {
		if p.Sent, p.ID, err = h.State.Progress(ctx, r.Key); err != nil {
			return queue.Retry(err)
		}
	}
	if msg.MessageID == "" && p.ID == "" {
		// The adapters derive the platform's dedupe key (generic: the
		// webhook-id) from the messageId; without one it comes from the
		// queue message, the same on every redelivery.
		sum := sha256.Sum256([]byte(cmp.Or(r.Dedupe, r.MessageID)))
		p.ID = "msg_" + hex.EncodeToString(sum[:12])
	}
	before := p.Sent
	err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		return sender.Send(ctx, acct, conv, msg, &p)
	})
	if err == nil {
		h.Metrics.Count("MessagesDelivered", 1, map[string]string{"Source": conv.Source})
		if h.Transcript != nil && msg.Text != "" {
			turn := source.Turn{From: source.TurnBot, Text: msg.Text, At: r.EnqueuedAt()}
			if terr := h.Transcript.Append(ctx, acct, conv.PCID(), turn); terr != nil {
				h.Log.WarnContext(ctx, "could not keep the bot's turn for the transcript", slog.String("pcid", conv.PCID()), slog.String("error", terr.Error()))
			}
		}
		return queue.Done(OutcomeDelivered)
	}
	if p.Sent > before && r.Key != "" {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if perr := h.State.SaveProgress(cctx, r.Key, p.Sent, p.ID); perr != nil {
			h.Log.WarnContext(ctx, "could not save a partial send; its parts may be repeated", slog.String("key", r.Key), slog.String("error", perr.Error()))
		}
		cancel()
	}
	return outcomeOf(err)
}

// barrier acknowledges a handover's barrier: it reached the head of its
// conversation, so the bot messages queued before the escalate are done.
func (h *Handler) barrier(ctx context.Context, r queue.Record) queue.Outcome {
	var b struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(r.Data, &b); err != nil || b.Token == "" {
		return queue.Dead(fmt.Errorf("%w: a barrier without a token", queue.ErrBadEnvelope))
	}
	if h.Barriers == nil {
		h.Log.WarnContext(ctx, "a handover barrier reached the head of its conversation but no handover is wired to hear it", slog.String("pcid", r.PCID))
		return queue.Done(OutcomeBarrier)
	}
	if err := h.Barriers.BarrierReached(ctx, r.PCID, b.Token); err != nil {
		return queue.Retry(fmt.Errorf("acknowledge barrier: %w", err))
	}
	return queue.Done(OutcomeBarrier)
}

// outcomeOf sorts a platform failure: a lasting refusal (a non-retryable
// status, a destination the egress guard refuses, a capability the adapter
// lacks) is a dead letter; the rest waits on the queue, as long as the
// platform asked when it said.
func outcomeOf(err error) queue.Outcome {
	var se *egress.StatusError
	hasStatus := errors.As(err, &se)
	switch {
	case hasStatus && !egress.RetryableStatus(se.Status),
		errors.Is(err, egress.ErrRefused), errors.Is(err, source.ErrUnsupported):
		return queue.Dead(err)
	case hasStatus && se.RetryAfter > 0:
		return queue.RetryAfter(se.RetryAfter, err)
	default:
		return queue.Retry(err)
	}
}
