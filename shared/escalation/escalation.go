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

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/teams"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Accounts admits webhooks and resolves accounts (accounts.Resolver).
type Accounts interface {
	Admit(ctx context.Context, req *apigw.Request, function string) (*accounts.Call, error)
	Account(ctx context.Context, source, account, owner string) (*source.Account, error)
}

// State records the conversation's status.
type State interface {
	Conversation(ctx context.Context, pcid string) (*state.Conversation, error)
	SetStatus(ctx context.Context, pcid, agentID, status, handoverTo string) error
}

// Handler serves POST /webhooks/escalation (and forwarded calls from the
// single URL).
type Handler struct {
	Accounts Accounts
	State    State
	Sources  *source.Registry
	Retry    retry.Policy
	Log      *slog.Logger
	Metrics  *obs.Metrics
	Now      func() time.Time
	// Budget bounds a handover or team check including retries; default 8 s.
	Budget time.Duration
}

// Serve is the function's apigw.Func.
func (h *Handler) Serve(ctx context.Context, req *apigw.Request) (events.APIGatewayV2HTTPResponse, error) {
	call, err := h.Accounts.Admit(ctx, req, route.WebhookEscalation)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	w := call.Hook
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(h.Budget, 8*time.Second))
	defer cancel()
	if w.Converse.EventType == ultimate.EventIsTeamOnline {
		online, err := h.teamOnline(ctx, call)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		req.Log.Set("outcome", fmt.Sprintf("online=%v", online))
		return apigw.JSON(http.StatusOK, ultimate.TeamStatus{IsOnline: online}), nil
	}
	outcome, err := h.escalate(ctx, call, w.Converse.EventType == ultimate.EventWidgetEscalate)
	if err != nil {
		// The template's handover alarm watches this.
		h.Metrics.Count("HandoverFailures", 1, map[string]string{"Source": call.Conv.Source})
		return events.APIGatewayV2HTTPResponse{}, err
	}
	req.Log.Set("outcome", outcome)
	return apigw.JSON(http.StatusOK, map[string]string{"status": outcome}), nil
}

// Outcomes of an escalation.
const (
	OutcomeEscalated        = "escalated"
	OutcomeAlreadyEscalated = "already_escalated"
)

// escalate hands the conversation over. A conversation already with a human
// answers 200 without a second handover (the AI agent may retry).
func (h *Handler) escalate(ctx context.Context, call *accounts.Call, widget bool) (string, error) {
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
func (h *Handler) teamOnline(ctx context.Context, call *accounts.Call) (bool, error) {
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
		return team.OpenAt(h.Now()), nil
	}
	acct := call.Account
	if acct == nil || acct.Source.Source != team.Source || acct.Account != team.Account {
		// The team's callback account must be the calling agent's own.
		if acct, err = h.Accounts.Account(ctx, team.Source, team.Account, call.Agent.AgentID); err != nil {
			return false, err
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
