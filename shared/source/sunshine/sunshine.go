// Package sunshine is the Sunshine Conversations v2 (SunCo, Zendesk
// messaging) source. The account is the SunCo app ID; a conversation is a
// SunCo conversation, so its platformConversationId is
// sunshine:{appId}:{conversationId}.
//
// Inbound, SunCo's custom-integration webhook posts to
// POST /sources/sunshine/{appId} with the webhook secret in X-API-Key; each
// event in the envelope's events[] becomes one neutral event, deduplicated
// on the SunCo event ID. Outbound, bot messages, typing, passControl and
// conversation/user reads go to the SunCo REST API with Basic auth.
//
// Button clicks come back without any stored state: the payload of every
// reply and postback action we send is compact JSON {"t":"<button text>"},
// plus "c":<cardIndex> for carousel buttons, and is decoded back into the
// AI agent's text and cardIndex. A payload we did not write is treated as
// plain text.
package sunshine

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
)

// Name is the source name in URLs and items.
const Name = "sunshine"

// Adapter implements source.Inbound, source.Sender, source.Escalator and
// source.Builtins for Sunshine Conversations.
type Adapter struct {
	HTTP *egress.Client
	Now  func() time.Time
	// Log receives what the bridge cannot answer to anyone (a failed
	// handover reported by webhook); nil uses slog.Default().
	Log *slog.Logger
}

// The capabilities the handlers look up by interface.
var (
	_ source.Inbound   = (*Adapter)(nil)
	_ source.Router    = (*Adapter)(nil)
	_ source.Sender    = (*Adapter)(nil)
	_ source.Escalator = (*Adapter)(nil)
	_ source.Builtins  = (*Adapter)(nil)
)

// New returns the adapter.
func New(hc *egress.Client) *Adapter { return &Adapter{HTTP: hc} }

// Name implements source.Adapter.
func (a *Adapter) Name() string { return Name }

// Budget implements source.Inbound: SunCo gives up on a webhook call after
// 20 s and retries it; 3 s are kept for the network and the answer.
func (a *Adapter) Budget() time.Duration { return 17 * time.Second }

// Route implements source.Router: SunCo only
// POSTs, and only to the account's URL itself.
func (a *Adapter) Route(req *apigw.Request) error {
	if p := req.Params["proxy"]; p != "" {
		return apigw.Errorf(http.StatusNotFound, "route_not_found", "sunshine webhooks go to /sources/sunshine/{appId}, without a sub-path")
	}
	return req.RequireMethod(http.MethodPost)
}

func (a *Adapter) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}
