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
	"github.com/crmbridge/crmbridge/shared/handover"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/teams"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Accounts admits webhooks and resolves accounts (accounts.Resolver).
type Accounts interface {
	Admit(ctx context.Context, req *apigw.Request, function string) (*accounts.Call, error)
	Account(ctx context.Context, source, account, owner string) (*source.Account, error)
}

// Handover hands a conversation to a human once (handover.Handover).
type Handover interface {
	Escalate(ctx context.Context, r handover.Request) (string, error)
}

// Handler serves POST /webhooks/escalation (and forwarded calls from the
// single URL).
type Handler struct {
	Accounts Accounts
	Handover Handover
	Sources  *source.Registry
	Retry    retry.Policy
	Log      *slog.Logger
	Metrics  *obs.Metrics
	Now      func() time.Time
	// Budget bounds a handover (its barrier wait included) or a team check,
	// retries included; default 8 s.
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
		return events.APIGatewayV2HTTPResponse{}, err
	}
	req.Log.Set("outcome", outcome)
	return apigw.JSON(http.StatusOK, map[string]string{"status": outcome}), nil
}

// escalate hands the conversation over through the one handover path:
// once however many calls arrive, after the bot messages queued before it.
// A conversation already with a human answers 200 without a second
// handover (the AI agent may retry).
func (h *Handler) escalate(ctx context.Context, call *accounts.Call, widget bool) (string, error) {
	outcome, err := h.Handover.Escalate(ctx, handover.Request{
		Account: call.Account, Conv: call.Conv, AgentID: call.Agent.AgentID,
		EscalateTo: call.Hook.Converse.EscalateTo, Reason: source.ReasonEscalate, Widget: widget,
	})
	var f *handover.Failure
	if errors.As(err, &f) {
		return "", apigw.Wrap(f, f.Status, f.Code, f.Message)
	}
	return outcome, err
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
	q := source.TeamQuery{ID: source.NewID(), TeamID: teamID}
	err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		var err error
		online, err = tc.TeamOnline(ctx, acct, q)
		return err
	})
	if err != nil {
		return false, apigw.Wrap(err, http.StatusBadGateway, "team_check_failed", "the tenant did not answer the team status")
	}
	return online, nil
}
