package source

import (
	"context"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// HandoverRequest is the AI agent's escalate request.
type HandoverRequest struct {
	AgentID    string
	EscalateTo string // optional target named in the AI agent's dashboard
}

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
