// Package escalation is the webhook-escalation function: handing a
// conversation to a human (escalate, widgetEscalate) and answering whether a
// team is online (isTeamOnline). Unlike replies, these answers matter to the
// AI agent: escalate answers 200 only when the handover succeeded, so the
// bot can run its fallback otherwise.
package escalation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/teams"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhook"
)

// Gate admits webhook calls.
type Gate interface {
	Admit(ctx context.Context, req *apigw.Request, requirePCID bool) (*webhook.Call, error)
}

// State records the conversation's status.
type State interface {
	Conversation(ctx context.Context, pcid string) (*state.Conversation, error)
	SetStatus(ctx context.Context, pcid, agentID, status, handoverTo string) error
}

// Tenants reads source accounts (for team callbacks).
type Tenants interface {
	Source(ctx context.Context, source, account string) (*tenant.Source, error)
}

// Secrets returns secret values.
type Secrets interface {
	Get(ctx context.Context, name string) ([]byte, error)
}

// Handler serves POST /webhooks/escalation (and forwarded calls from the
// single URL).
type Handler struct {
	Gate      Gate
	State     State
	Tenants   Tenants
	Secrets   Secrets
	Sources   *source.Registry
	Retry     retry.Policy
	Log       *slog.Logger
	Metrics   *obs.Metrics
	Now       func() time.Time
	BodyLimit int
	// Budget bounds a handover or team check including retries; default 8 s.
	Budget time.Duration
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Handle is the Lambda handler.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.now()
	var res struct{ agentID, pcid, eventType, outcome string }
	req, err := apigw.FromEvent(ev, h.BodyLimit)
	var resp events.APIGatewayV2HTTPResponse
	if err == nil {
		resp, err = h.serve(ctx, req, &res.agentID, &res.pcid, &res.eventType, &res.outcome)
	}
	if err != nil {
		resp = apigw.Fail(err, ev.RequestContext.RequestID)
	}
	apigw.LogRequest(ctx, h.Log, "webhook-escalation", ev, resp.StatusCode, err, h.now().Sub(start),
		slog.String("agentId", res.agentID), slog.String("pcid", res.pcid),
		slog.String("eventType", res.eventType), slog.String("outcome", res.outcome))
	return resp, nil
}

func (h *Handler) serve(ctx context.Context, req *apigw.Request, agentID, pcid, eventType, outcome *string) (events.APIGatewayV2HTTPResponse, error) {
	if err := req.RequireMethod(http.MethodPost); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	kind, et, err := ultimate.PeekKind(req.Body)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, apigw.Wrap(err, http.StatusBadRequest, "invalid_payload", err.Error())
	}
	*eventType = et
	switch {
	case kind == ultimate.KindAction:
		return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusBadRequest, "wrong_route", "action calls go to POST /webhooks/action")
	case et == ultimate.EventSendMessage || et == ultimate.EventWidgetMessage || et == ultimate.EventWidgetEndSession:
		return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusBadRequest, "wrong_route", "%s events go to POST /webhooks/message", et)
	}
	call, err := h.Gate.Admit(ctx, req, et != ultimate.EventIsTeamOnline)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	*agentID, *pcid = call.Agent.AgentID, call.Conv.PCID()
	if call.Account == nil {
		*pcid = ""
	}
	budget := h.Budget
	if budget <= 0 {
		budget = 8 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	switch call.Hook.Converse.EventType {
	case ultimate.EventEscalate:
		*outcome, err = h.escalate(ctx, call, false)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return apigw.JSON(http.StatusOK, map[string]string{"status": *outcome}), nil
	case ultimate.EventWidgetEscalate:
		*outcome, err = h.escalate(ctx, call, true)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return apigw.JSON(http.StatusOK, map[string]string{"status": *outcome}), nil
	case ultimate.EventIsTeamOnline:
		online, err := h.teamOnline(ctx, call)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		*outcome = fmt.Sprintf("online=%v", online)
		return apigw.JSON(http.StatusOK, ultimate.TeamStatus{IsOnline: online}), nil
	default:
		return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusBadRequest, "wrong_route", "eventType %s is not served here", call.Hook.Converse.EventType)
	}
}

// Outcomes of an escalation.
const (
	OutcomeEscalated        = "escalated"
	OutcomeAlreadyEscalated = "already_escalated"
)

// escalate hands the conversation over. A conversation already with a human
// answers 200 without a second handover (the AI agent may retry).
func (h *Handler) escalate(ctx context.Context, call *webhook.Call, widget bool) (string, error) {
	pcid := call.Conv.PCID()
	conv, err := h.State.Conversation(ctx, pcid)
	if err != nil && !errors.Is(err, state.ErrNoConversation) {
		return "", apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not read the conversation; retry")
	}
	if conv != nil && conv.Status == state.ConvEscalated {
		return OutcomeAlreadyEscalated, nil
	}
	target := call.Hook.Converse.EscalateTo
	if widget {
		desk, err := source.Capability[source.Desk](h.Sources, call.Conv.Source)
		if err != nil {
			return "", apigw.Wrap(err, http.StatusUnprocessableEntity, "handover_unsupported", fmt.Sprintf("source %q has no desk for widget escalations", call.Conv.Source))
		}
		err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
			return desk.WidgetEscalate(ctx, call.Account, call.Conv, target)
		})
		if err != nil {
			return "", handoverError(err)
		}
		target = "widget:" + target
	} else {
		esc, err := source.Capability[source.Escalator](h.Sources, call.Conv.Source)
		if err != nil {
			return "", apigw.Wrap(err, http.StatusUnprocessableEntity, "handover_unsupported", fmt.Sprintf("source %q cannot hand over to a human", call.Conv.Source))
		}
		err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
			return esc.Escalate(ctx, call.Account, call.Conv, source.HandoverRequest{AgentID: call.Agent.AgentID, EscalateTo: target})
		})
		if err != nil {
			return "", handoverError(err)
		}
	}
	h.Metrics.Count("Escalations", 1, map[string]string{"Source": call.Conv.Source})
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := h.State.SetStatus(cctx, pcid, call.Agent.AgentID, state.ConvEscalated, target); err != nil {
		// The human has it; failing now would make the bot run its fallback
		// on a conversation that was handed over. Log loudly instead.
		h.Log.ErrorContext(ctx, "handover succeeded but the conversation status was not saved; visitor messages may still reach the AI agent",
			slog.String("pcid", pcid), slog.String("error", err.Error()))
	}
	return OutcomeEscalated, nil
}

// handoverError tells the AI agent why the handover failed: the platform's
// refusal is a 409 (no point retrying as is), its unavailability a 503/504.
func handoverError(err error) error {
	var he *egress.StatusError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, retry.ErrBudget):
		return apigw.Wrap(err, http.StatusGatewayTimeout, "handover_timeout", "the platform did not confirm the handover in time")
	case errors.As(err, &he) && egress.RetryableStatus(he.Status):
		return apigw.Wrap(err, http.StatusServiceUnavailable, "handover_unavailable", fmt.Sprintf("the platform is unavailable (HTTP %d)", he.Status))
	case errors.As(err, &he):
		return apigw.Wrap(err, http.StatusConflict, "handover_rejected", fmt.Sprintf("the platform refused the handover (HTTP %d): %s", he.Status, short(cmp.Or(he.Reason, he.Code))))
	case retry.IsRetryable(err):
		return apigw.Wrap(err, http.StatusServiceUnavailable, "handover_unavailable", "the platform could not be reached")
	default:
		return apigw.Wrap(err, http.StatusBadGateway, "handover_failed", "the handover failed; see logs")
	}
}

func short(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// teamOnline answers isTeamOnline from the agent's team configuration.
func (h *Handler) teamOnline(ctx context.Context, call *webhook.Call) (bool, error) {
	cfg, err := teams.Of(call.Agent.Teams)
	if err != nil {
		return false, apigw.Wrap(err, http.StatusInternalServerError, "config_invalid", "the agent's teams configuration is invalid; see logs")
	}
	teamID := call.Hook.Converse.TeamID
	team, _, ok := cfg.Lookup(teamID)
	if !ok {
		return false, apigw.Errorf(http.StatusNotFound, "unknown_team", "no team %q and no default team configured for agent %s", teamID, call.Agent.AgentID)
	}
	if team.Mode != teams.ModeCallback {
		return team.OpenAt(h.now()), nil
	}
	acct := call.Account
	if acct == nil || acct.Source.Source != team.Source || acct.Account != team.Account {
		cfgSrc, err := h.Tenants.Source(ctx, team.Source, team.Account)
		if err != nil {
			return false, apigw.Wrap(err, http.StatusInternalServerError, "config_invalid", "the team's callback account is not configured; see logs")
		}
		if cfgSrc.AgentID != call.Agent.AgentID {
			return false, apigw.Errorf(http.StatusForbidden, "not_owner", "the team's callback account belongs to another agent")
		}
		acct = &source.Account{Source: cfgSrc}
		if cfgSrc.CredentialsSecret != "" {
			if acct.Credentials, err = h.Secrets.Get(ctx, cfgSrc.CredentialsSecret); err != nil {
				return false, apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the callback account's credentials could not be read")
			}
		}
	}
	tc, err := source.Capability[source.TeamChecker](h.Sources, team.Source)
	if err != nil {
		return false, apigw.Wrap(err, http.StatusUnprocessableEntity, "team_check_unsupported", fmt.Sprintf("source %q cannot answer team status", team.Source))
	}
	var online bool
	err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		var err error
		online, err = tc.TeamOnline(ctx, acct, teamID)
		return err
	})
	if err != nil {
		return false, apigw.Wrap(err, http.StatusBadGateway, "team_check_failed", "the tenant did not answer the team status")
	}
	return online, nil
}
