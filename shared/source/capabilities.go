package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// Errors an adapter wraps to say how a handover ended, when the platform's
// answer was no HTTP error: ErrPending, accepted but not confirmed carried
// out in the time given; ErrRefused, the platform reported it failed.
var (
	ErrPending = errors.New("the platform did not confirm the handover in time")
	ErrRefused = errors.New("the platform refused the handover")
)

// Escalator hands a conversation to a human on the platform. It returns nil
// only when the platform accepted the handover.
type Escalator interface {
	Adapter
	Escalate(ctx context.Context, acct *Account, conv Conversation, req HandoverRequest) error
}

// TeamQuery asks whether a team is online.
type TeamQuery struct {
	// ID identifies the question across retries (the platform's dedupe key
	// where it has one).
	ID     string
	TeamID string
}

// TeamChecker answers isTeamOnline from the platform or the tenant.
type TeamChecker interface {
	Adapter
	TeamOnline(ctx context.Context, acct *Account, q TeamQuery) (bool, error)
}

// NewID returns a random ID for a request that keeps it across its retries
// (HandoverRequest.ID, TeamQuery.ID, ActionRequest.ID): 32 hex digits.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ActionRequest is an action call routed to the conversation's adapter.
type ActionRequest struct {
	// ID identifies the call across retries (the platform's dedupe key
	// where it has one).
	ID      string
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
	// WidgetEscalate hands a widget conversation to the desk with what the
	// bridge knows of it (req.Context).
	WidgetEscalate(ctx context.Context, acct *Account, conv Conversation, req HandoverRequest) error
	WidgetMessage(ctx context.Context, acct *Account, conv Conversation, text string) error
	WidgetEndSession(ctx context.Context, acct *Account, conv Conversation) error
}

// Closer closes the platform conversation when the AI agent's session ends,
// for platforms that want it (LivePerson).
type Closer interface {
	Adapter
	Close(ctx context.Context, acct *Account, conv Conversation) error
}
