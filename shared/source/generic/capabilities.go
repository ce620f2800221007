package generic

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmbridge/crmbridge/shared/apigw"
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
	// Reason is why the conversation comes to you: escalate (the AI agent
	// asked) or agent_unavailable (the AI agent could not be reached for the
	// account's fallback.afterSeconds: the bridge's fallback).
	Reason  string          `json:"reason"`
	Context HandoverContext `json:"context"`
}

// HandoverContext is what the bridge knows of the conversation, for the
// human who takes over.
type HandoverContext struct {
	// Parameters are the session parameters the bridge passed to the AI
	// agent; the values of sanitized ones are "***".
	Parameters map[string]string `json:"parameters,omitempty"`
	// Transcript is the conversation's last turns, oldest first, when the
	// account keeps one (transcript setting).
	Transcript []source.Turn `json:"transcript,omitempty"`
	// Held are visitor messages the AI agent never got (agent_unavailable).
	Held []string `json:"held,omitempty"`
}

func escalationData(conv source.Conversation, req source.HandoverRequest) EscalationData {
	c := req.Context
	return EscalationData{
		ConversationRef: ref(conv), EscalateTo: req.EscalateTo, Reason: cmp.Or(c.Reason, source.ReasonEscalate),
		Context: HandoverContext{Parameters: c.Params, Transcript: c.Transcript, Held: c.Held},
	}
}

// Escalate sends escalation.requested; any 2xx means the tenant took the
// conversation. Its webhook-id is the handover's ID, the same on every
// retry and on a later attempt of the same handover, so the tenant can
// dedupe.
func (a *Adapter) Escalate(ctx context.Context, acct *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	_, err := a.call(ctx, acct, webhookID(req.ID), OutEscalation, escalationData(conv, req))
	return err
}

// TeamStatusData is the data of team.status.
type TeamStatusData struct {
	TeamID string `json:"teamId,omitempty"`
}

// TeamOnline sends team.status; the tenant answers {"isOnline": bool}.
func (a *Adapter) TeamOnline(ctx context.Context, acct *source.Account, q source.TeamQuery) (bool, error) {
	body, err := a.call(ctx, acct, webhookID(q.ID), OutTeamStatus, TeamStatusData{TeamID: q.TeamID})
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
// {"results": [{"key", "value", "sanitize"}]}. The AI agent takes string
// values only, so the tenant's answer is checked and coerced here (numbers
// and booleans become their JSON text); anything else is refused with an
// error naming the result, for the tenant to fix.
func (a *Adapter) Builtin(ctx context.Context, acct *source.Account, conv source.Conversation, req source.ActionRequest) ([]ultimate.ActionResult, error) {
	params := req.Params
	if params == nil {
		params = []ultimate.ActionParam{}
	}
	body, err := a.call(ctx, acct, webhookID(req.ID), OutAction, ActionData{ConversationRef: ref(conv), Name: req.Name, Builtin: req.Builtin, Params: params})
	if err != nil {
		return nil, err
	}
	results, err := parseResults(body)
	if err != nil {
		return nil, &apigw.Error{Status: http.StatusBadGateway, Code: "invalid_action_answer",
			Message: "the tenant's answer to the action event is not valid: " + err.Error(), Err: err}
	}
	return results, nil
}

// maxResultValue bounds one result value, as for http call-outs.
const maxResultValue = 1024

// parseResults reads a tenant's action answer: an empty body or no results
// is none; each result needs a non-empty key and a value that is a
// non-empty string, a number or a boolean; sanitize is a boolean.
func parseResults(body []byte) ([]ultimate.ActionResult, error) {
	out := []ultimate.ActionResult{}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, nil
	}
	var resp struct {
		Results json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, errors.New(`answer must be {"results": [...]}`)
	}
	var items []map[string]json.RawMessage
	if r := bytes.TrimSpace(resp.Results); len(r) == 0 || string(r) == "null" {
		return out, nil
	} else if err := json.Unmarshal(r, &items); err != nil {
		return nil, errors.New(`answer must be {"results": [...]}, an array of {key, value, sanitize?}`)
	}
	for i, it := range items {
		var r ultimate.ActionResult
		if err := json.Unmarshal(it["key"], &r.Key); err != nil || r.Key == "" {
			return nil, fmt.Errorf("results[%d].key: required, a non-empty string", i)
		}
		v, ok := resultValue(it["value"])
		switch {
		case !ok:
			return nil, fmt.Errorf("results[%d].value: must be a non-empty string, a number or a boolean", i)
		case len(v) > maxResultValue:
			return nil, fmt.Errorf("results[%d].value: longer than %d bytes", i, maxResultValue)
		}
		r.Value = v
		if raw, set := it["sanitize"]; set && string(bytes.TrimSpace(raw)) != "null" {
			if err := json.Unmarshal(raw, &r.Sanitize); err != nil {
				return nil, fmt.Errorf("results[%d].sanitize: must be a boolean", i)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// resultValue coerces a JSON scalar to the non-empty string the AI agent
// stores.
func resultValue(raw json.RawMessage) (string, bool) {
	v, ok := ultimate.Scalar(raw)
	return v, ok && v != ""
}

// WidgetMessageData is the data of widget.message.
type WidgetMessageData struct {
	ConversationRef
	Text string `json:"text"`
}

// WidgetEscalate hands a widget conversation to the tenant's desk, with the
// same data and webhook-id rule as escalation.requested.
func (a *Adapter) WidgetEscalate(ctx context.Context, acct *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	_, err := a.call(ctx, acct, webhookID(req.ID), OutWidgetEscalation, escalationData(conv, req))
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
