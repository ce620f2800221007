// Package twilio is the Twilio Programmable Messaging source: SMS and
// WhatsApp conversations with the AI agent. The account is the Twilio
// Account SID; Twilio posts each visitor message to
// POST /sources/twilio/{accountSid} (the number's or Messaging Service's
// incoming-message webhook), signed with X-Twilio-Signature, and the bridge
// answers with empty TwiML at once. The AI agent's replies go out through
// the Messages API, rendered to what the channel can show: numbered options
// on SMS, quick replies on WhatsApp where Twilio's content rules allow.
//
// Routes below the account's URL:
//
//	POST /sources/twilio/{accountSid}          incoming messages (form, or JSON with bodySHA256)
//	POST /sources/twilio/{accountSid}/status   status callbacks of the bridge's own messages
//	POST /sources/twilio/{accountSid}/desk     the tenant's desk during a handover (Standard Webhooks)
//
// A conversation is the pair (the number the visitor wrote to, the visitor's
// number): personal data, so its platformConversationId is
// twilio:{accountSid}:{opaque ID} and the mapping lives in the State table
// (state.Address). No phone number goes into a key, a log line, a metric or
// an error.
package twilio

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
)

// Name is the source name in URLs and items.
const Name = "twilio"

// Store is what the adapter keeps in the State table (state.Store).
type Store interface {
	OpenAddress(ctx context.Context, source, account, hash, value string, newID func() string) (*state.Address, error)
	Address(ctx context.Context, source, account, id string) (*state.Address, error)
	NoteBotMessage(ctx context.Context, a *state.Address, options, sending string) error
	NoteVisitor(ctx context.Context, a *state.Address) error
	SetOptOut(ctx context.Context, a *state.Address, out bool) error
	CloseAddress(ctx context.Context, a *state.Address) error
	MarkSeen(ctx context.Context, key string, ttl time.Duration) (bool, error)
	ForgetSeen(ctx context.Context, key string) error
	Conversation(ctx context.Context, pcid string) (*state.Conversation, error)
	SetStatus(ctx context.Context, pcid, agentID, status, handoverTo string) error
	Keep(ctx context.Context, dl state.DeadLetter) error
}

// Adapter implements the Twilio source.
type Adapter struct {
	HTTP  *egress.Client
	Now   func() time.Time // required: the bridge's clock
	State Store            // required for everything but ParseSettings
	// Log receives what no caller can be told (a failed typing indicator,
	// a status callback for a message the bridge does not know); nil is
	// slog.Default().
	Log *slog.Logger
}

var (
	_ source.Inbound   = (*Adapter)(nil)
	_ source.Router    = (*Adapter)(nil)
	_ source.Sender    = (*Adapter)(nil)
	_ source.Escalator = (*Adapter)(nil)
	_ source.Builtins  = (*Adapter)(nil)
	_ source.Closer    = (*Adapter)(nil)
)

// New returns the adapter over the bridge's HTTP client, clock and State
// table. st may be nil where only settings are parsed (the CLI).
func New(hc *egress.Client, now func() time.Time, st Store, log *slog.Logger) *Adapter {
	return &Adapter{HTTP: hc, Now: now, State: st, Log: log}
}

// Name implements source.Adapter.
func (a *Adapter) Name() string { return Name }

// Budget implements source.Inbound: Twilio waits about 15 s for the
// webhook's answer (its default read timeout); 2 s are kept for the network.
func (a *Adapter) Budget() time.Duration { return 13 * time.Second }

func (a *Adapter) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Sub-routes below the account's URL.
const (
	routeMessages = ""
	routeStatus   = "status"
	routeDesk     = "desk"
)

// Route implements source.Router: POST only, to the three routes, for an
// Account SID-shaped account, before the account is looked up.
func (a *Adapter) Route(req *apigw.Request) error {
	if !validSid(req.Params["account"], "AC") {
		return apigw.Errorf(http.StatusNotFound, "unknown_account", "a Twilio account is its Account SID: AC followed by 32 hex digits")
	}
	switch req.Params["proxy"] {
	case routeMessages, routeStatus, routeDesk:
	default:
		return apigw.Errorf(http.StatusNotFound, "route_not_found", "Twilio routes are /sources/twilio/{accountSid}, .../status and .../desk")
	}
	if req.Method == http.MethodGet {
		return &apigw.Error{
			Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: "configure the webhook with HTTP POST (GET webhooks are not served)", Headers: map[string]string{"Allow": http.MethodPost},
		}
	}
	return req.RequireMethod(http.MethodPost)
}

// misconfigured is the answer for an account whose settings or secret
// cannot work; the cause is logged, never sent.
func misconfigured(err error) error {
	return apigw.Wrap(err, http.StatusInternalServerError, "account_misconfigured", "the account's settings or credentials are invalid; see logs")
}
