package accounts

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// Call is an admitted webhook of the AI agent.
type Call struct {
	Hook  *ultimate.Webhook
	Agent *tenant.Agent
	// Account and Conv are set when the webhook names a conversation.
	Account *source.Account
	Conv    source.Conversation
}

// ParseWebhook decodes an AI agent webhook and checks every ID in it
// against the input rules, before anything is looked up with one: the
// botId, the platformConversationId, the messageId, the action name, the
// team and the escalation target.
func ParseWebhook(body []byte) (*ultimate.Webhook, error) {
	w, err := ultimate.ParseWebhook(body)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusBadRequest, "invalid_payload", err.Error())
	}
	if err := ids.Agent("botId", w.BotID); err != nil {
		return nil, err
	}
	if pcid := PCID(w); pcid != "" {
		if _, err := source.ParsePCID(pcid); err != nil {
			return nil, err
		}
	}
	if a := w.Action; a != nil {
		return w, ids.Action("name", a.Name)
	}
	ev := w.Converse
	if ev.MessageID != "" {
		if err := ids.Event("data.messageId", ev.MessageID); err != nil {
			return nil, err
		}
	}
	if err := ids.Label("data.teamId", ev.TeamID); err != nil {
		return nil, err
	}
	return w, ids.Label("data.escalateTo", ev.EscalateTo)
}

// PCID returns the platformConversationId a webhook names, if any.
func PCID(w *ultimate.Webhook) string {
	if w.Converse != nil {
		return w.Converse.PlatformConversationID
	}
	if w.Action != nil {
		return w.Action.PlatformConversationID
	}
	return ""
}

// Admit is the front of a webhook function: POST only, the payload parsed
// and its IDs checked (ParseWebhook), the webhook served by function
// (route.Webhooks; another function's is a 400 naming its route), then
// AdmitWebhook. The request's log line gets the eventType, the agent and
// the conversation.
func (r *Resolver) Admit(ctx context.Context, req *apigw.Request, function string) (*Call, error) {
	w, err := ParseRequest(req)
	if err != nil {
		return nil, err
	}
	if err := route.Serves(function, w); err != nil {
		return nil, err
	}
	return r.AdmitWebhook(ctx, req, w)
}

// ParseRequest is the first half of Admit, for the single URL, which looks
// at the webhook before it decides who serves it.
func ParseRequest(req *apigw.Request) (*ultimate.Webhook, error) {
	if err := req.RequireMethod(http.MethodPost); err != nil {
		return nil, err
	}
	w, err := ParseWebhook(req.Body)
	if err != nil {
		return nil, err
	}
	req.Log.Set("eventType", route.Type(w))
	return w, nil
}

// AdmitWebhook authenticates a parsed webhook and, when it names a
// conversation, resolves that conversation's account for the calling agent,
// which must own it. A webhook type that must name a conversation
// (route.Webhooks) and does not is a 400.
func (r *Resolver) AdmitWebhook(ctx context.Context, req *apigw.Request, w *ultimate.Webhook) (*Call, error) {
	agent, err := r.Authenticate(ctx, req, w)
	if err != nil {
		return nil, err
	}
	req.Log.Set("agentId", agent.AgentID)
	call := &Call{Hook: w, Agent: agent}
	pcid := PCID(w)
	if pcid == "" {
		if route.Of(w).Conversation {
			return nil, apigw.Errorf(http.StatusBadRequest, "invalid_payload", "platformConversationId: required for %s", route.Type(w))
		}
		return call, nil
	}
	conv, err := source.ParsePCID(pcid)
	if err != nil {
		return nil, err
	}
	req.Log.Set("pcid", pcid)
	if call.Account, err = r.Account(ctx, conv.Source, conv.Account, agent.AgentID); err != nil {
		return nil, err
	}
	call.Conv = conv
	return call, nil
}

// Authenticate verifies that a webhook comes from the agent its botId
// names, with the scheme that agent's item sets, against its current and
// previous webhook secrets.
func (r *Resolver) Authenticate(ctx context.Context, req *apigw.Request, w *ultimate.Webhook) (*tenant.Agent, error) {
	agent, err := r.Agent(ctx, w.BotID, apigw.Errorf(http.StatusUnauthorized, "unknown_agent", "the calling AI agent is not configured"))
	if err != nil {
		return nil, err
	}
	scheme := agent.WebhookAuth
	if scheme.Kind == webhookauth.SchemeNone {
		if r.Log != nil {
			r.Log.WarnContext(ctx, "webhook authentication is disabled for this agent (webhookAuth.scheme none); anyone who knows the agent ID can call", slog.String("agentId", agent.AgentID))
		}
		return agent, nil
	}
	sec, err := r.AgentSecrets.AgentSecret(ctx, agent.AgentID)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the agent's secret could not be read; see logs")
	}
	err = webhookauth.Verify(scheme, sec.WebhookSecrets(), webhookauth.Request{Header: req.HeaderValue, Query: req.QueryValue, Body: req.Body})
	switch {
	case err == nil:
		return agent, nil
	case errors.Is(err, webhookauth.ErrNoSecret):
		return nil, apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the agent's secret has no webhookSecret; see logs")
	case errors.Is(err, webhookauth.ErrMissing):
		return nil, apigw.Wrap(err, http.StatusUnauthorized, "missing_credentials", err.Error())
	default:
		return nil, apigw.Wrap(err, http.StatusUnauthorized, "bad_credentials", "webhook authentication failed")
	}
}
