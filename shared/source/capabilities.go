package source

import (
	"context"
	"time"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// HandoverRequest asks the platform to hand a conversation to a human: the
// AI agent's escalate, or the bridge's fallback when the AI agent cannot be
// reached.
type HandoverRequest struct {
	AgentID    string
	EscalateTo string // optional target named in the AI agent's dashboard
	// ID identifies this handover across retries and replays (the
	// platform's dedupe key where it has one).
	ID string
	// Context is what the bridge knows, for the human who takes over;
	// adapters pass it on natively, within the platform's limits.
	Context HandoverContext
}

// Reasons of a handover.
const (
	ReasonEscalate         = "escalate"          // the AI agent asked
	ReasonAgentUnavailable = "agent_unavailable" // the bridge's fallback
)

// HandoverContext is the context a human gets at a handover.
type HandoverContext struct {
	Reason string // ReasonEscalate or ReasonAgentUnavailable
	// Params are the session parameters the bridge passed to the AI agent,
	// with the values of sanitized ones masked.
	Params map[string]string
	// Transcript is the conversation's last turns, oldest first, when the
	// account keeps one.
	Transcript []Turn
	// Held are visitor messages the AI agent never got (the fallback).
	Held []string
}

// Turn is one message of a transcript.
type Turn struct {
	From string    `json:"from"` // TurnVisitor or TurnBot
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Authors of a turn.
const (
	TurnVisitor = "visitor"
	TurnBot     = "bot"
)

// Escalator hands a conversation to a human on the platform. It returns nil
// only when the platform accepted the handover.
type Escalator interface {
	Adapter
	Escalate(ctx context.Context, acct *Account, conv Conversation, req HandoverRequest) error
}

// TeamChecker answers isTeamOnline from the platform or the tenant.
type TeamChecker interface {
	Adapter
	TeamOnline(ctx context.Context, acct *Account, teamID string) (bool, error)
}

// ActionRequest is an action call routed to the conversation's adapter.
type ActionRequest struct {
	AgentID string
	Name    string // the action's name as the AI agent calls it
	Builtin string // which built-in action (e.g. addTags, getUserInfo)
	Params  []ultimate.ActionParam
	// Attrs is what the adapter kept on the conversation (Event.Attrs).
	Attrs map[string]string
}

// Builtins serves built-in actions through the platform.
type Builtins interface {
	Adapter
	Builtin(ctx context.Context, acct *Account, conv Conversation, req ActionRequest) ([]ultimate.ActionResult, error)
}

// Desk receives widget escalations: the AI agent's own web widget hands a
// conversation to the tenant's desk, and the visitor's messages follow.
type Desk interface {
	Adapter
	WidgetEscalate(ctx context.Context, acct *Account, conv Conversation, escalateTo string) error
	WidgetMessage(ctx context.Context, acct *Account, conv Conversation, text string) error
	WidgetEndSession(ctx context.Context, acct *Account, conv Conversation) error
}

// Closer closes the platform conversation when the AI agent's session ends,
// for platforms that want it (LivePerson).
type Closer interface {
	Adapter
	Close(ctx context.Context, acct *Account, conv Conversation) error
}
