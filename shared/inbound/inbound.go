// Package inbound is the source-inbound function: platform webhooks in,
// delivered to the AI agent that serves the account, once and in order per
// conversation.
//
// The function has two event sources. On the HTTP side (Serve) it verifies
// and parses the platform's request, claims each event (one conditional
// write), writes the conversation state later requests depend on, puts the
// event on the inbound SQS FIFO queue (one message group per conversation)
// and answers the platform at once. On the queue side (Deliver, run by a
// queue.Consumer) it sends each event to the Chat API with today's tenant
// mapping, unless the conversation is with a human by then; failures come
// back from the queue with growing delays until the account's maximum age.
package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/queue"
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

// State is the claims and conversations store (state.Store).
type State interface {
	Accept(ctx context.Context, key, hash string) (*state.Lease, error)
	Release(ctx context.Context, l *state.Lease) error
	ChangeConversation(ctx context.Context, c state.ConvChange) error
	Conversation(ctx context.Context, pcid string) (*state.Conversation, error)
	Touch(ctx context.Context, pcid string) error
	Stale(c *state.Conversation) bool
}

// Agent is the AI agent's API.
type Agent interface {
	Chat(ctx context.Context, t ultimate.Target, ev ultimate.ChatEvent) error
	Widget(ctx context.Context, t ultimate.Target, ev ultimate.WidgetEvent) error
}

// Queue records accepted events (queue.Producer).
type Queue interface {
	Send(ctx context.Context, e queue.Envelope, dedupe string) error
}

// Fallback hands a conversation to a human when its visitor's events could
// not reach the AI agent for the account's fallback.afterSeconds: it claims
// the handover, may tell the visitor, hands over with reason
// agent_unavailable and the held events, and sets the conversation
// escalated. nil is returned only when the handover happened; the
// handover helper (shared/handover) implements it.
type Fallback interface {
	AgentUnavailable(ctx context.Context, acct *source.Account, conv source.Conversation, held []source.Event) error
}

// Transcript keeps a conversation's last turns for the human who takes
// over (shared/handover implements it; a no-op unless the account keeps a
// transcript).
type Transcript interface {
	Append(ctx context.Context, acct *source.Account, pcid string, t source.Turn) error
	// Forget drops the transcript at once: the conversation ended or was
	// handed back, and its turns are nobody's business any more.
	Forget(ctx context.Context, acct *source.Account, pcid string) error
}

// Handler serves the source-inbound routes and its queue.
type Handler struct {
	Accounts Accounts
	State    State
	Agent    Agent
	Queue    Queue
	Sources  *source.Registry
	Log      *slog.Logger
	Metrics  *obs.Metrics
	Now      func() time.Time
	// Fallback and Transcript are optional.
	Fallback   Fallback
	Transcript Transcript
	// AttemptTimeouts bound the Chat API call of a record's first, second…
	// delivery (the last repeats): one generous attempt, longer the next
	// time, so an AI agent slower than the first gets each event at most
	// twice. Default 6 s, then 9 s: within the egress client's 10 s wait
	// for an answer's headers and the function's 20 s.
	AttemptTimeouts []time.Duration
}

// Outcomes of one event on the HTTP side.
const (
	OutcomeQueued    = "queued"
	OutcomeDuplicate = "duplicate"
	OutcomeInvalid   = "invalid" // skipped: a malformed ID (logged)
)

// Serve is the function's apigw.Func for the platforms' webhooks.
func (h *Handler) Serve(ctx context.Context, req *apigw.Request) (events.APIGatewayV2HTTPResponse, error) {
	start := h.Now()
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

	outcomes := map[string]int{}
	if skipped := len(batch.Events) - len(evs) + batch.Skipped; skipped > 0 {
		outcomes[OutcomeInvalid] = skipped
	}
	defer func() { req.Log.SetValue("events", slog.AnyValue(outcomes)) }()
	a := acceptor{h: h, acct: acct, requestID: req.RequestID}
	for i, ev := range evs {
		outcome, err := a.accept(ctx, i, ev)
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
	return apigw.Raw(http.StatusOK, "application/json", acceptedBody(outcomes)), nil
}

// acceptedBody is json.Marshal(map[string]any{"status": "ok", "events":
// outcomes}) written without reflection: keys sorted, each outcome name
// one that needs no escaping (encoding/json writes any other).
func acceptedBody(outcomes map[string]int) []byte {
	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		if !plainKey(k) {
			b, _ := json.Marshal(map[string]any{"status": "ok", "events": outcomes})
			return b
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 32+24*len(keys))
	b = append(b, `{"events":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, int64(outcomes[k]), 10)
	}
	return append(b, `},"status":"ok"}`...)
}

func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':' || c == '.') {
			return false
		}
	}
	return true
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
