// Package message is the webhook-message function: the AI agent's replies
// (sendMessage) rendered and delivered to the conversation's platform, once
// and in order, and the widget messages handed to the tenant's desk. It also
// serves the single webhook URL, passing the webhooks other functions own
// (route.Webhooks) to them.
//
// Like source-inbound it has two event sources. The HTTP side (Serve)
// admits the webhook, claims the message (one conditional write), puts it
// on the outbound SQS FIFO queue (one message group per conversation) and
// answers 200. The queue side (Deliver) renders and sends it with the
// platform's adapter, in order, retrying from the queue through a platform
// outage until the account's maximum age; it also acknowledges the
// handover barriers queued behind a conversation's messages.
package message

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/queue"
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

// State is the claims store (state.Store).
type State interface {
	Accept(ctx context.Context, key, hash string) (*state.Lease, error)
	Release(ctx context.Context, l *state.Lease) error
	SaveProgress(ctx context.Context, key string, sent int, id string) error
	Progress(ctx context.Context, key string) (sent int, id string, err error)
}

// Queue records accepted messages (queue.Producer).
type Queue interface {
	Send(ctx context.Context, e queue.Envelope, dedupe string) error
}

// Barriers learns that a handover's barrier reached the head of its
// conversation: every bot message queued before the escalate was delivered
// (or kept as a dead letter). shared/handover implements it.
type Barriers interface {
	BarrierReached(ctx context.Context, pcid, token string) error
}

// Transcript keeps a conversation's last turns for the human who takes
// over (shared/handover implements it; a no-op unless the account keeps a
// transcript).
type Transcript interface {
	Append(ctx context.Context, acct *source.Account, pcid string, t source.Turn) error
}

// Forwarder passes a webhook to the function that owns it and returns that
// function's answer unchanged.
type Forwarder interface {
	Forward(ctx context.Context, function string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

// Handler serves POST /webhooks/message and POST /webhooks, and the
// outbound queue.
type Handler struct {
	Accounts Accounts
	State    State
	Queue    Queue
	Sources  *source.Registry
	Forward  Forwarder // nil: the single URL answers 501 for other functions' webhooks
	Retry    retry.Policy
	Log      *slog.Logger
	Metrics  *obs.Metrics
	Now      func() time.Time
	// Barriers and Transcript are optional.
	Barriers   Barriers
	Transcript Transcript
	// Budget bounds one delivery attempt including the adapter's immediate
	// retries; default 10 s.
	Budget time.Duration
}

// Outcomes.
const (
	OutcomeQueued    = "queued"
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
		outcome, err = h.sendMessage(ctx, req.RequestID, call)
	} else {
		outcome, err = h.widget(ctx, req.RequestID, call)
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

// Data is the data of an outbound queue record: the AI agent's webhook
// event as it came, and the agent that sent it.
type Data struct {
	AgentID string                  `json:"agentId"`
	Event   *ultimate.ConverseEvent `json:"event"`
}

// sendMessage and the widget events are accepted the same way: the
// platform's capability checked (a source that cannot deliver it is a 422
// now, not a dead letter later), the message claimed when it has an ID,
// then queued.
func (h *Handler) sendMessage(ctx context.Context, requestID string, call *accounts.Call) (string, error) {
	if _, err := source.Capability[source.Sender](h.Sources, call.Conv.Source); err != nil {
		return "", apigw.Wrap(err, http.StatusUnprocessableEntity, "unsupported_source", fmt.Sprintf("source %q cannot deliver messages", call.Conv.Source))
	}
	return h.accept(ctx, requestID, call)
}

func (h *Handler) widget(ctx context.Context, requestID string, call *accounts.Call) (string, error) {
	if _, err := source.Capability[source.Desk](h.Sources, call.Conv.Source); err != nil {
		return "", apigw.Wrap(err, http.StatusUnprocessableEntity, "unsupported_source", fmt.Sprintf("source %q has no desk for widget escalations", call.Conv.Source))
	}
	return h.accept(ctx, requestID, call)
}

// resendWindow: see the inbound package's; a retry of the AI agent within
// it sends the message to the queue again, harmless if the first send
// arrived (SQS drops the repeated deduplication ID), a repair if the bridge
// died between the claim and the send.
const resendWindow = 4 * time.Minute

func (h *Handler) accept(ctx context.Context, requestID string, call *accounts.Call) (string, error) {
	ev := call.Hook.Converse
	pcid := call.Conv.PCID()
	data, err := json.Marshal(Data{AgentID: call.Agent.AgentID, Event: ev})
	if err != nil {
		return "", fmt.Errorf("encode the message: %w", err)
	}
	env := queue.Envelope{Kind: queue.KindOutbound, PCID: pcid, Data: data}
	var lease *state.Lease
	var dedupe string
	if ev.MessageID != "" {
		env.Key = state.BotMessageKey(call.Agent.AgentID, ev.MessageID)
		dedupe = env.Key
		l, err := h.State.Accept(ctx, env.Key, "")
		if d, dup := state.IsDuplicate(err); dup {
			if d.Status == state.StatusQueued && h.Now().Sub(d.At) < resendWindow {
				if err := h.Queue.Send(ctx, env, dedupe); err != nil {
					h.Log.WarnContext(ctx, "could not resend a redelivered message", slog.String("key", env.Key), slog.String("error", err.Error()))
				}
			}
			return OutcomeDuplicate, nil
		}
		if err != nil {
			return "", apigw.Wrap(err, http.StatusServiceUnavailable, "state_unavailable", "could not record the message; retry later")
		}
		lease = l
	} else {
		// No messageId: two identical messages may be meant, so only this
		// request's own resends (the SDK's) may collapse.
		sum := sha256.Sum256(data)
		dedupe = fmt.Sprintf("%s#%s#%x", pcid, requestID, sum[:12])
	}
	if err := h.Queue.Send(ctx, env, dedupe); err != nil {
		if lease != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if rerr := h.State.Release(cctx, lease); rerr != nil {
				h.Log.ErrorContext(ctx, "release failed", slog.String("key", lease.Key), slog.String("error", rerr.Error()))
			}
			cancel()
		}
		h.Metrics.Count("EnqueueFailed", 1, map[string]string{"Queue": queue.KindOutbound})
		return "", &apigw.Error{Status: http.StatusServiceUnavailable, Code: "queue_unavailable", Message: "the message could not be recorded for delivery; retry later", RetryAfter: 5 * time.Second, Err: err}
	}
	return OutcomeQueued, nil
}
