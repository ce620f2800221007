// Package message is the webhook-message function: the AI agent's replies
// (sendMessage) rendered and delivered to the conversation's platform, once
// and in order, and the widget messages handed to the tenant's desk. It also
// serves the single webhook URL, passing the webhooks other functions own
// (route.Webhooks) to them.
package message

import (
	"cmp"
	"context"
	"encoding/json"
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
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Accounts admits webhooks and resolves accounts (accounts.Resolver).
type Accounts interface {
	Authenticate(ctx context.Context, req *apigw.Request, w *ultimate.Webhook) (*tenant.Agent, error)
	AdmitWebhook(ctx context.Context, req *apigw.Request, w *ultimate.Webhook) (*accounts.Call, error)
	Account(ctx context.Context, source, account, owner string) (*source.Account, error)
}

// State records delivered messages and keeps failed ones.
type State interface {
	MarkOnce(ctx context.Context, key string) (*state.Lease, bool, error)
	Bury(ctx context.Context, l *state.Lease, dl state.DeadLetter) error
	Keep(ctx context.Context, key string, dl state.DeadLetter) error
	Resolve(ctx context.Context, key string) error
}

// Forwarder passes a webhook to the function that owns it and returns that
// function's answer unchanged.
type Forwarder interface {
	Forward(ctx context.Context, function string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

// Handler serves POST /webhooks/message and POST /webhooks.
type Handler struct {
	Accounts Accounts
	State    State
	Sources  *source.Registry
	Forward  Forwarder // nil: the single URL answers 501 for other functions' webhooks
	Retry    retry.Policy
	Log      *slog.Logger
	Metrics  *obs.Metrics
	Now      func() time.Time
	// Budget bounds one delivery including retries; default 10 s.
	Budget time.Duration
}

// Outcomes.
const (
	OutcomeDelivered = "delivered"
	OutcomeDuplicate = "duplicate"
)

// Serve is the function's apigw.Func.
func (h *Handler) Serve(ctx context.Context, req *apigw.Request) (events.APIGatewayV2HTTPResponse, error) {
	w, err := accounts.ParseRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if owner := route.Of(w).Function; owner != route.WebhookMessage {
		if req.RouteKey != route.SingleURL {
			return events.APIGatewayV2HTTPResponse{}, route.Serves(route.WebhookMessage, w)
		}
		return h.forward(ctx, req, w, owner)
	}
	call, err := h.Accounts.AdmitWebhook(ctx, req, w)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var outcome string
	if w.Converse.EventType == ultimate.EventSendMessage {
		outcome, err = h.sendMessage(ctx, call)
	} else {
		outcome, err = h.widget(ctx, call)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	req.Log.Set("outcome", outcome)
	return apigw.JSON(http.StatusOK, map[string]string{"status": outcome}), nil
}

// forward passes another function's webhook on from the single URL, once
// its caller is authenticated: an unauthenticated flood costs no
// invocation of another function.
func (h *Handler) forward(ctx context.Context, req *apigw.Request, w *ultimate.Webhook, owner string) (events.APIGatewayV2HTTPResponse, error) {
	if h.Forward == nil {
		return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusNotImplemented, "not_forwarded",
			"this deployment does not forward %s webhooks from the single URL; post them to the function's own route", route.Type(w))
	}
	agent, err := h.Accounts.Authenticate(ctx, req, w)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	req.Log.Set("agentId", agent.AgentID)
	req.Log.Set("outcome", "forwarded:"+owner)
	return h.Forward.Forward(ctx, owner, req.Event)
}

func (h *Handler) sendMessage(ctx context.Context, call *accounts.Call) (string, error) {
	sender, err := source.Capability[source.Sender](h.Sources, call.Conv.Source)
	if err != nil {
		return "", apigw.Wrap(err, http.StatusUnprocessableEntity, "unsupported_source", fmt.Sprintf("source %q cannot deliver messages", call.Conv.Source))
	}
	msg := call.Hook.Converse.Message()
	var lease *state.Lease
	if msg.MessageID != "" {
		key := state.BotMessageKey(call.Agent.AgentID, msg.MessageID)
		l, replacedDead, err := h.State.MarkOnce(ctx, key)
		if _, dup := state.IsDuplicate(err); dup {
			return OutcomeDuplicate, nil
		}
		if err != nil {
			return "", apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not record the message; retry later")
		}
		if replacedDead {
			h.Log.InfoContext(ctx, "retrying a message kept as a dead letter", slog.String("key", key))
		}
		lease = l
	}

	dctx, cancel := context.WithTimeout(ctx, cmp.Or(h.Budget, 10*time.Second))
	defer cancel()
	var p source.Progress
	err = h.Retry.Do(dctx, func(ctx context.Context, _ int) error {
		return sender.Send(ctx, call.Account, call.Conv, msg, &p)
	})
	if err == nil {
		h.Metrics.Count("MessagesDelivered", 1, map[string]string{"Source": call.Conv.Source})
		return OutcomeDelivered, nil
	}
	return "", h.keep(ctx, lease, call, err)
}

// keep stores a message that could not be delivered and answers 502.
func (h *Handler) keep(ctx context.Context, lease *state.Lease, call *accounts.Call, cause error) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	payload, _ := json.Marshal(DeadMessage{AgentID: call.Agent.AgentID, PCID: call.Conv.PCID(), Event: call.Hook.Converse})
	dl := state.DeadLetter{Kind: state.DeadOutbound, Reason: egress.Reason(cause), Payload: string(payload),
		Ref: map[string]string{"source": call.Conv.Source, "account": call.Conv.Account, "agentId": call.Agent.AgentID, "pcid": call.Conv.PCID()}}
	var err error
	if lease != nil {
		err = h.State.Bury(cctx, lease, dl)
	} else {
		err = h.State.Keep(cctx, state.BotMessageKey(call.Agent.AgentID, "nomsgid-"+fmt.Sprint(h.Now().UnixNano())), dl)
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "could not keep dead letter", slog.String("pcid", call.Conv.PCID()), slog.String("error", err.Error()))
	} else {
		h.Metrics.Count("DeadLetters", 1, map[string]string{"Kind": state.DeadOutbound})
	}
	var he *egress.StatusError
	msg := "the platform did not accept the message; it was kept as a dead letter"
	if errors.As(cause, &he) {
		msg = fmt.Sprintf("the platform answered %d; the message was kept as a dead letter", he.Status)
	}
	return apigw.Wrap(cause, http.StatusBadGateway, "delivery_failed", msg)
}

// DeadMessage is an outbound dead letter's payload.
type DeadMessage struct {
	AgentID string                  `json:"agentId"`
	PCID    string                  `json:"pcid"`
	Event   *ultimate.ConverseEvent `json:"event"`
}

func (h *Handler) widget(ctx context.Context, call *accounts.Call) (string, error) {
	desk, err := source.Capability[source.Desk](h.Sources, call.Conv.Source)
	if err != nil {
		return "", apigw.Wrap(err, http.StatusUnprocessableEntity, "unsupported_source", fmt.Sprintf("source %q has no desk for widget escalations", call.Conv.Source))
	}
	ev := call.Hook.Converse
	err = h.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		if ev.EventType == ultimate.EventWidgetMessage {
			return desk.WidgetMessage(ctx, call.Account, call.Conv, ev.Text)
		}
		return desk.WidgetEndSession(ctx, call.Account, call.Conv)
	})
	if err != nil {
		return "", apigw.Wrap(err, http.StatusBadGateway, "delivery_failed", "the desk did not accept the event")
	}
	return OutcomeDelivered, nil
}
