// Package inbound is the source-inbound function: platform webhooks in,
// verified, deduplicated and turned into Chat API events for the AI agent
// that serves the account.
package inbound

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Tenants looks up configuration (cached by the implementation).
type Tenants interface {
	Source(ctx context.Context, source, account string) (*tenant.Source, error)
	Agent(ctx context.Context, agentID string) (*tenant.Agent, error)
}

// Secrets returns secret values (cached by the implementation).
type Secrets interface {
	Get(ctx context.Context, name string) ([]byte, error)
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
	Tenants Tenants
	Secrets Secrets
	State   State
	Agent   Agent
	Sources *source.Registry
	Log     *slog.Logger
	Metrics *obs.Metrics
	Now     func() time.Time
	// Routes is the API's route table, used to answer unmatched requests
	// (the $default route) with a 404 or 405.
	Routes    []apigw.Route
	BodyLimit int
	// Lease is how long a claim holds; default 30 s.
	Lease time.Duration
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// result is what one request did, for the log line and the answer.
type result struct {
	source, account, agentID string
	outcomes                 map[string]int
}

// Handle is the Lambda handler. It never returns an error: every failure is
// an HTTP answer with a JSON body.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.now()
	res := &result{outcomes: map[string]int{}}
	req, err := apigw.FromEvent(ev, h.BodyLimit)
	var resp events.APIGatewayV2HTTPResponse
	if err == nil {
		resp, err = h.serve(ctx, req, res, start)
	}
	if err != nil {
		resp = apigw.Fail(err, ev.RequestContext.RequestID)
	}
	h.logRequest(ctx, ev, res, resp.StatusCode, err, start)
	return resp, nil
}

func (h *Handler) serve(ctx context.Context, req *apigw.Request, res *result, start time.Time) (events.APIGatewayV2HTTPResponse, error) {
	if req.RouteKey == "$default" {
		// A named stage prefixes the raw path (/prod/...); routes do not.
		path := req.Path
		if req.Stage != "" && req.Stage != "$default" {
			path = strings.TrimPrefix(path, "/"+req.Stage)
		}
		_, _, err := apigw.Match(h.Routes, req.Method, path)
		if err == nil {
			err = apigw.Errorf(http.StatusNotFound, "route_not_found", "no route for %s %s", req.Method, req.Path)
		}
		return events.APIGatewayV2HTTPResponse{}, err
	}
	res.source, res.account = req.Params["source"], req.Params["account"]
	in, err := source.Capability[source.Inbound](h.Sources, res.source)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusNotFound, "unknown_source", "unknown source %q", res.source)
	}
	if !tenant.ValidAccount(res.account) {
		return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusNotFound, "unknown_account", "unknown account")
	}
	if r, ok := in.(interface{ Route(*apigw.Request) error }); ok {
		if err := r.Route(req); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	cfg, err := h.Tenants.Source(ctx, res.source, res.account)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, configError(err, "unknown_account", "account is not configured")
	}
	res.agentID = cfg.AgentID
	if !cfg.Enabled {
		return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusForbidden, "account_disabled", "account is disabled")
	}
	acct := &source.Account{Source: cfg}
	if cfg.CredentialsSecret != "" {
		if acct.Credentials, err = h.Secrets.Get(ctx, cfg.CredentialsSecret); err != nil {
			return events.APIGatewayV2HTTPResponse{}, apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the account's credentials could not be read; see logs")
		}
	}
	if err := in.Authenticate(req, acct, h.now()); err != nil {
		h.Metrics.Count("InboundRejected", 1, map[string]string{"Source": res.source, "Reason": "auth"})
		return events.APIGatewayV2HTTPResponse{}, err
	}
	batch, err := in.Parse(req, acct)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	agent, err := h.Tenants.Agent(ctx, cfg.AgentID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, configError(err, "agent_not_configured", "the account's AI agent is not configured")
	}

	// Answer within the platform's timeout, and inside the Lambda's.
	ctx, cancel := context.WithDeadline(ctx, start.Add(in.Budget()-time.Second))
	defer cancel()
	w := worker{h: h, acct: acct, target: ultimate.Target{AgentID: agent.AgentID, BaseURL: agent.BaseURL}, body: req.Body}
	for _, ev := range batch.Events {
		outcome, err := w.process(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		res.outcomes[outcome]++
		h.Metrics.Count("InboundEvents", 1, map[string]string{"Source": res.source, "Outcome": outcome})
	}
	if batch.Reply != nil {
		ct := batch.Reply.ContentType
		if ct == "" {
			ct = "application/json"
		}
		return apigw.Raw(batch.Reply.Status, ct, batch.Reply.Body), nil
	}
	return apigw.JSON(http.StatusOK, map[string]any{"status": "ok", "events": res.outcomes}), nil
}

// configError maps a tenant lookup error: not found is the caller's 404,
// anything else (a bad item, DynamoDB down) is ours.
func configError(err error, code, msg string) error {
	if errors.Is(err, tenant.ErrNotFound) {
		return apigw.Wrap(err, http.StatusNotFound, code, msg)
	}
	var te *tenant.Error
	if errors.As(err, &te) {
		return apigw.Wrap(err, http.StatusInternalServerError, "config_invalid", "a configuration item is invalid; see logs")
	}
	return apigw.Wrap(err, http.StatusServiceUnavailable, "config_unavailable", "configuration could not be read; retry later")
}

func (h *Handler) logRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest, res *result, status int, err error, start time.Time) {
	elapsed := h.now().Sub(start)
	apigw.LogRequest(ctx, h.Log, "inbound", ev, status, err, elapsed,
		slog.String("source", res.source), slog.String("account", res.account),
		slog.String("agentId", res.agentID), slog.Any("events", res.outcomes))
	h.Metrics.Millis("InboundLatency", elapsed, map[string]string{"Source": res.source})
}
