package inbound

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Resolver marks a replayed dead letter done.
type Resolver interface {
	Resolve(ctx context.Context, key string) error
}

// Replay sends an inbound dead letter to the AI agent again and, when that
// works, marks it done so neither a late platform retry nor another replay
// repeats it.
func (h *Handler) Replay(ctx context.Context, dl state.DeadLetter, res Resolver) error {
	if dl.Kind != state.DeadInbound {
		return fmt.Errorf("dead letter %s is %s, not inbound", dl.Key, dl.Kind)
	}
	var de DeadEvent
	if err := json.Unmarshal([]byte(dl.Payload), &de); err != nil {
		return fmt.Errorf("dead letter %s: payload: %w", dl.Key, err)
	}
	conv, err := source.ParsePCID(de.PCID)
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", dl.Key, err)
	}
	// The agent may have moved since: use today's mapping and base URL.
	agent, err := h.Accounts.Agent(ctx, de.AgentID, nil)
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", dl.Key, err)
	}
	acct, err := h.Accounts.Account(ctx, conv.Source, conv.Account, "")
	if err != nil {
		acct = &source.Account{Source: &tenant.Source{Source: conv.Source, Account: conv.Account, AgentID: de.AgentID, Metadata: de.Metadata}}
	}
	w := worker{h: h, acct: acct, target: ultimate.Target{AgentID: agent.AgentID, BaseURL: agent.BaseURL}}
	if err := w.deliver(ctx, conv, de.Event); err != nil {
		return fmt.Errorf("replay %s: %w", dl.Key, err)
	}
	return res.Resolve(ctx, dl.Key)
}
