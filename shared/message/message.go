// Package message is the webhook-message function: the AI agent's replies
// (sendMessage) rendered and delivered to the conversation's platform, once
// and in order, and the widget messages handed to the tenant's desk. It also
// serves the single webhook URL, passing escalation and action calls to
// their own functions.
package message

import (
	"context"
	"encoding/json"
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
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhook"
)

// Gate admits webhook calls.
type Gate interface {
	Admit(ctx context.Context, req *apigw.Request, requirePCID bool) (*webhook.Call, error)
}

// State records delivered messages and keeps failed ones.
type State interface {
	MarkOnce(ctx context.Context, key string) (*state.Lease, bool, error)
	Bury(ctx context.Context, l *state.Lease, dl state.DeadLetter) error
	Keep(ctx context.Context, key string, dl state.DeadLetter) error
	Resolve(ctx context.Context, key string) error
}

// Forwarder passes a webhook to another function (escalation, action) and
// returns that function's answer unchanged.
type Forwarder interface {
	Forward(ctx context.Context, function string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

// Functions the single URL forwards to.
const (
	FunctionEscalation = "escalation"
	FunctionAction     = "action"
)

// Handler serves POST /webhooks/message and POST /webhooks.
type Handler struct {
	Gate      Gate
	State     State
	Sources   *source.Registry
	Forward   Forwarder // nil: the single URL answers 501 for forwarded kinds
	Retry     retry.Policy
	Log       *slog.Logger
	Metrics   *obs.Metrics
	Now       func() time.Time
	BodyLimit int
	// Budget bounds one delivery including retries; default 10 s.
	Budget time.Duration
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

type result struct {
	agentID, pcid, eventType, outcome string
}

// Handle is the Lambda handler.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.now()
	res := &result{}
	req, err := apigw.FromEvent(ev, h.BodyLimit)
	var resp events.APIGatewayV2HTTPResponse
	if err == nil {
		resp, err = h.serve(ctx, ev, req, res)
	}
	if err != nil {
		resp = apigw.Fail(err, ev.RequestContext.RequestID)
	}
	h.logRequest(ctx, ev, res, resp.StatusCode, err, start)
	return resp, nil
}

// ownTypes are the converse events this function serves.
var ownTypes = map[string]bool{
	ultimate.EventSendMessage: true, ultimate.EventWidgetMessage: true, ultimate.EventWidgetEndSession: true,
}

func (h *Handler) serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest, req *apigw.Request, res *result) (events.APIGatewayV2HTTPResponse, error) {
	if err := req.RequireMethod(http.MethodPost); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	kind, eventType, err := ultimate.PeekKind(req.Body)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, apigw.Wrap(err, http.StatusBadRequest, "invalid_payload", err.Error())
	}
	res.eventType = eventType
	if kind == ultimate.KindAction {
		res.eventType = "action"
	}
	single := req.Path == "/webhooks" || ev.RouteKey == "POST /webhooks"
	if kind == ultimate.KindAction || !ownTypes[eventType] {
		target := FunctionAction
		if kind == ultimate.KindConverse {
			target = FunctionEscalation
		}
		if kind == ultimate.KindConverse && eventType != ultimate.EventEscalate && eventType != ultimate.EventIsTeamOnline && eventType != ultimate.EventWidgetEscalate {
			// Unknown eventType: let the gate name the problem after auth.
			target = ""
		}
		if target != "" {
			if !single {
				return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusBadRequest, "wrong_route",
					"%s events go to POST /webhooks/%s (or the single URL POST /webhooks)", res.eventType, target)
			}
			if h.Forward == nil {
				return events.APIGatewayV2HTTPResponse{}, apigw.Errorf(http.StatusNotImplemented, "not_forwarded",
					"this deployment does not forward %s events from the single URL; configure POST /webhooks/%s", res.eventType, target)
			}
			res.outcome = "forwarded:" + target
			return h.Forward.Forward(ctx, target, ev)
		}
	}

	call, err := h.Gate.Admit(ctx, req, true)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	res.agentID, res.pcid = call.Agent.AgentID, call.Conv.PCID()
	switch call.Hook.Converse.EventType {
	case ultimate.EventSendMessage:
		res.outcome, err = h.sendMessage(ctx, call)
	case ultimate.EventWidgetMessage, ultimate.EventWidgetEndSession:
		res.outcome, err = h.widget(ctx, call)
	default:
		err = apigw.Errorf(http.StatusBadRequest, "wrong_route", "eventType %s is not served here", call.Hook.Converse.EventType)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return apigw.JSON(http.StatusOK, map[string]string{"status": res.outcome}), nil
}

// Outcomes.
const (
	OutcomeDelivered = "delivered"
	OutcomeDuplicate = "duplicate"
)

func (h *Handler) sendMessage(ctx context.Context, call *webhook.Call) (string, error) {
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

	budget := h.Budget
	if budget <= 0 {
		budget = 10 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, budget)
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
func (h *Handler) keep(ctx context.Context, lease *state.Lease, call *webhook.Call, cause error) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	payload, _ := json.Marshal(DeadMessage{AgentID: call.Agent.AgentID, PCID: call.Conv.PCID(), Event: call.Hook.Converse})
	dl := state.DeadLetter{Kind: state.DeadOutbound, Reason: egress.Reason(cause), Payload: string(payload),
		Ref: map[string]string{"source": call.Conv.Source, "account": call.Conv.Account, "agentId": call.Agent.AgentID, "pcid": call.Conv.PCID()}}
	var err error
	if lease != nil {
		err = h.State.Bury(cctx, lease, dl)
	} else {
		err = h.State.Keep(cctx, state.BotMessageKey(call.Agent.AgentID, "nomsgid-"+fmt.Sprint(h.now().UnixNano())), dl)
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

func (h *Handler) widget(ctx context.Context, call *webhook.Call) (string, error) {
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

func (h *Handler) logRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest, res *result, status int, err error, start time.Time) {
	apigw.LogRequest(ctx, h.Log, "webhook-message", ev, status, err, h.now().Sub(start),
		slog.String("agentId", res.agentID), slog.String("pcid", res.pcid),
		slog.String("eventType", res.eventType), slog.String("outcome", res.outcome))
}
