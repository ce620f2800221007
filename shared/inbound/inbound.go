// Package inbound is the source-inbound function: platform webhooks in,
// verified, deduplicated and turned into Chat API events for the AI agent
// that serves the account.
package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Accounts resolves accounts and agents (accounts.Resolver).
type Accounts interface {
	Account(ctx context.Context, source, account, owner string) (*source.Account, error)
	Agent(ctx context.Context, agentID string, notFound *apigw.Error) (*tenant.Agent, error)
}

// State is the idempotency and conversation store.
type State interface {
	Begin(ctx context.Context, c state.Claim) (*state.Lease, error)
	Done(ctx context.Context, l *state.Lease) error
	Release(ctx context.Context, l *state.Lease) error
	Bury(ctx context.Context, l *state.Lease, dl state.DeadLetter) error
	Conversation(ctx context.Context, pcid string) (*state.Conversation, error)
	SetDeskAgent(ctx context.Context, pcid, name string) error
	SetStatus(ctx context.Context, pcid, agentID, status, handoverTo string) error
}

// Agent is the AI agent's API.
type Agent interface {
	Chat(ctx context.Context, t ultimate.Target, ev ultimate.ChatEvent) error
	Widget(ctx context.Context, t ultimate.Target, ev ultimate.WidgetEvent) error
}

// Handler serves the source-inbound routes.
type Handler struct {
	Accounts Accounts
	State    State
	Agent    Agent
	Sources  *source.Registry
	Log      *slog.Logger
	Metrics  *obs.Metrics
	Now      func() time.Time
	// Lease is how long a claim holds; default 30 s.
	Lease time.Duration
}

// Serve is the function's apigw.Func.
func (h *Handler) Serve(ctx context.Context, req *apigw.Request) (events.APIGatewayV2HTTPResponse, error) {
	start, received := h.Now(), time.Now()
	metricSource := "unknown" // a dimension: only the name of a registered adapter
	defer func() {
		h.Metrics.Millis("InboundLatency", h.Now().Sub(start), map[string]string{"Source": metricSource})
	}()
	srcName, acctID := req.Params["source"], req.Params["account"]
	if err := ids.Source("source", srcName); err != nil {
		return events.APIGatewayV2HTTPResponse{}, apigw.Wrap(err, http.StatusNotFound, "unknown_source", apigw.AsError(err).Message)
	}
	in, err := source.Capability[source.Inbound](h.Sources, srcName)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusNotFound, "unknown_source", "unknown source %q", srcName)
	}
	metricSource = srcName
	req.Log.Set("source", srcName)
	if err := ids.Account("account", acctID); err != nil {
		return events.APIGatewayV2HTTPResponse{}, apigw.Wrap(err, http.StatusNotFound, "unknown_account", apigw.AsError(err).Message)
	}
	req.Log.Set("account", acctID)
	if r, ok := in.(source.Router); ok {
		if err := r.Route(req); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	acct, err := h.Accounts.Account(ctx, srcName, acctID, "")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	req.Log.Set("agentId", acct.AgentID)
	if err := in.Authenticate(req, acct, h.Now()); err != nil {
		h.Metrics.Count("InboundRejected", 1, map[string]string{"Source": srcName, "Reason": "auth"})
		return events.APIGatewayV2HTTPResponse{}, err
	}
	batch, err := in.Parse(req, acct)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if batch.MustExist != "" {
		if err := h.mustExist(ctx, acct, batch.MustExist); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	evs, err := h.checkIDs(ctx, batch.Events)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	agent, err := h.Accounts.Agent(ctx, acct.AgentID, apigw.Errorf(http.StatusNotFound, "agent_not_configured", "the account's AI agent is not configured"))
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}

	// Answer within the platform's timeout, and inside the Lambda's. A
	// context deadline is real time, whatever clock the handler is given.
	ctx, cancel := context.WithDeadline(ctx, received.Add(in.Budget()-time.Second))
	defer cancel()
	outcomes := map[string]int{}
	if skipped := len(batch.Events) - len(evs) + batch.Skipped; skipped > 0 {
		outcomes[OutcomeInvalid] = skipped
	}
	defer req.Log.Set("events", outcomes)
	w := worker{h: h, acct: acct, target: ultimate.Target{AgentID: agent.AgentID, BaseURL: agent.BaseURL}}
	for _, ev := range evs {
		outcome, err := w.process(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		outcomes[outcome]++
		h.Metrics.Count("InboundEvents", 1, map[string]string{"Source": srcName, "Outcome": outcome})
	}
	if batch.Reply != nil {
		ct := batch.Reply.ContentType
		if ct == "" {
			ct = "application/json"
		}
		return apigw.Raw(batch.Reply.Status, ct, batch.Reply.Body), nil
	}
	return apigw.JSON(http.StatusOK, map[string]any{"status": "ok", "events": outcomes}), nil
}

// mustExist answers 404 for a conversation the platform should have created
// before sending this request (source.Batch.MustExist).
func (h *Handler) mustExist(ctx context.Context, acct *source.Account, conv string) error {
	if err := ids.Conversation("conversation", conv); err != nil {
		return err
	}
	_, err := h.State.Conversation(ctx, acct.Conversation(conv).PCID())
	switch {
	case errors.Is(err, state.ErrNoConversation):
		return apigw.Errorf(http.StatusNotFound, "unknown_conversation", "conversation %s was never created here; create it first", conv)
	case err != nil:
		return apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not read the conversation; retry later")
	}
	return nil
}

// checkIDs holds the events an adapter parsed to the input rules before any
// is claimed: a malformed event ID or conversation skips that event (logged,
// counted as invalid) when the delivery carries others, and refuses the
// delivery with a 400 when nothing valid is left.
func (h *Handler) checkIDs(ctx context.Context, evs []source.Event) ([]source.Event, error) {
	valid := make([]source.Event, 0, len(evs))
	var first error
	for i, ev := range evs {
		err := ids.Conversation(fmt.Sprintf("events[%d].conversation", i), ev.Conversation)
		if err == nil && ev.ID != "" {
			err = ids.Event(fmt.Sprintf("events[%d].id", i), ev.ID)
		}
		if err != nil {
			h.Log.WarnContext(ctx, "event skipped", slog.String("problem", apigw.AsError(err).Message))
			if first == nil {
				first = err
			}
			continue
		}
		valid = append(valid, ev)
	}
	if len(valid) == 0 && first != nil {
		return nil, first
	}
	return valid, nil
}
