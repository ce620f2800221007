package message

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Replay delivers an outbound dead letter again and marks it done when the
// platform accepted it. The account is today's (it must still be
// enabled); the operator replaying it needs no agent's ownership.
func (h *Handler) Replay(ctx context.Context, dl state.DeadLetter) error {
	if dl.Kind != state.DeadOutbound {
		return fmt.Errorf("dead letter %s is %s, not outbound", dl.Key, dl.Kind)
	}
	var dm DeadMessage
	if err := json.Unmarshal([]byte(dl.Payload), &dm); err != nil || dm.Event == nil {
		return fmt.Errorf("dead letter %s: payload is not a kept message", dl.Key)
	}
	conv, err := source.ParsePCID(dm.PCID)
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", dl.Key, err)
	}
	acct, err := h.Accounts.Account(ctx, conv.Source, conv.Account, "")
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", dl.Key, err)
	}
	if dm.Event.EventType != ultimate.EventSendMessage {
		return fmt.Errorf("dead letter %s: %s events are not replayed", dl.Key, dm.Event.EventType)
	}
	sender, err := source.Capability[source.Sender](h.Sources, conv.Source)
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", dl.Key, err)
	}
	var p source.Progress
	err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		return sender.Send(ctx, acct, conv, dm.Event.Message(), &p)
	})
	if err != nil {
		return fmt.Errorf("replay %s: %w", dl.Key, err)
	}
	return h.State.Resolve(ctx, dl.Key)
}
