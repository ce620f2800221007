package generic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// ConversationRef names the conversation in outbound events.
type ConversationRef struct {
	ConversationID         string `json:"conversationId"`
	PlatformConversationID string `json:"platformConversationId"`
}

func ref(c source.Conversation) ConversationRef {
	return ConversationRef{ConversationID: c.ID, PlatformConversationID: c.PCID()}
}

// EscalationData is the data of escalation.requested and widget.escalation.
type EscalationData struct {
	ConversationRef
	EscalateTo string `json:"escalateTo,omitempty"`
}

// Escalate sends escalation.requested; any 2xx means the tenant took the
// conversation.
func (a *Adapter) Escalate(ctx context.Context, acct *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	_, err := a.call(ctx, acct, randomID(), OutEscalation, EscalationData{ConversationRef: ref(conv), EscalateTo: req.EscalateTo})
	return err
}

// TeamStatusData is the data of team.status.
type TeamStatusData struct {
	TeamID string `json:"teamId,omitempty"`
}

// TeamOnline sends team.status; the tenant answers {"isOnline": bool}.
func (a *Adapter) TeamOnline(ctx context.Context, acct *source.Account, teamID string) (bool, error) {
	body, err := a.call(ctx, acct, randomID(), OutTeamStatus, TeamStatusData{TeamID: teamID})
	if err != nil {
		return false, err
	}
	var st struct {
		IsOnline *bool `json:"isOnline"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.IsOnline == nil {
		return false, &egress.StatusError{Op: "team.status callback", Status: http.StatusOK, Reason: `answer must be {"isOnline": true|false}`}
	}
	return *st.IsOnline, nil
}

// ActionData is the data of an action event.
type ActionData struct {
	ConversationRef
	Name    string                 `json:"name"`
	Builtin string                 `json:"builtin"`
	Params  []ultimate.ActionParam `json:"params"`
}

// Builtin forwards the action to the tenant, which answers
// {"results": [{"key", "value", "sanitize"}]}.
func (a *Adapter) Builtin(ctx context.Context, acct *source.Account, conv source.Conversation, req source.ActionRequest) ([]ultimate.ActionResult, error) {
	params := req.Params
	if params == nil {
		params = []ultimate.ActionParam{}
	}
	body, err := a.call(ctx, acct, randomID(), OutAction, ActionData{ConversationRef: ref(conv), Name: req.Name, Builtin: req.Builtin, Params: params})
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return []ultimate.ActionResult{}, nil
	}
	var resp struct {
		Results []ultimate.ActionResult `json:"results"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, &egress.StatusError{Op: "action callback", Status: http.StatusOK, Reason: `answer must be {"results": [...]}`}
	}
	for i, r := range resp.Results {
		if r.Key == "" {
			return nil, &egress.StatusError{Op: "action callback", Status: http.StatusOK, Reason: fmt.Sprintf("results[%d].key is empty", i)}
		}
	}
	if resp.Results == nil {
		resp.Results = []ultimate.ActionResult{}
	}
	return resp.Results, nil
}

// WidgetMessageData is the data of widget.message.
type WidgetMessageData struct {
	ConversationRef
	Text string `json:"text"`
}

// WidgetEscalate hands a widget conversation to the tenant's desk.
func (a *Adapter) WidgetEscalate(ctx context.Context, acct *source.Account, conv source.Conversation, escalateTo string) error {
	_, err := a.call(ctx, acct, randomID(), OutWidgetEscalation, EscalationData{ConversationRef: ref(conv), EscalateTo: escalateTo})
	return err
}

// WidgetMessage passes the visitor's widget message to the desk.
func (a *Adapter) WidgetMessage(ctx context.Context, acct *source.Account, conv source.Conversation, text string) error {
	_, err := a.call(ctx, acct, randomID(), OutWidgetMessage, WidgetMessageData{ConversationRef: ref(conv), Text: text})
	return err
}

// WidgetEndSession tells the desk the visitor ended the widget session.
func (a *Adapter) WidgetEndSession(ctx context.Context, acct *source.Account, conv source.Conversation) error {
	_, err := a.call(ctx, acct, randomID(), OutWidgetSessionEnded, ref(conv))
	return err
}

var (
	_ source.Inbound     = (*Adapter)(nil)
	_ source.Router      = (*Adapter)(nil)
	_ source.Sender      = (*Adapter)(nil)
	_ source.Escalator   = (*Adapter)(nil)
	_ source.TeamChecker = (*Adapter)(nil)
	_ source.Builtins    = (*Adapter)(nil)
	_ source.Desk        = (*Adapter)(nil)
)
