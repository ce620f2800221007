// Package route says which function serves what: the list of functions,
// the HTTP API's route table (with the catch-all $default route), and the
// ownership table of the AI agent's webhooks (which function serves which
// eventType, and which of them must name a conversation). The mains, the
// handlers, the local stack and the tests all read these; template.yaml and
// the Makefile repeat them, and tests hold them equal.
package route

import (
	"net/http"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// The functions, as named in functions/ and template.yaml.
const (
	SourceInbound     = "source-inbound"
	WebhookMessage    = "webhook-message"
	WebhookEscalation = "webhook-escalation"
	WebhookAction     = "webhook-action"
)

// Functions lists them, in the template's order.
var Functions = []string{SourceInbound, WebhookMessage, WebhookEscalation, WebhookAction}

// SingleURL is the route key of the single webhook URL, which
// webhook-message serves and forwards from.
const SingleURL = "POST /webhooks"

// Table is the HTTP API's route table. Requests no route matches go to the
// $default route, whose function answers them with a JSON 404 or 405.
var Table = apigw.Routes{
	{Method: "ANY", Pattern: "/sources/{source}/{account}", Target: SourceInbound},
	{Method: "ANY", Pattern: "/sources/{source}/{account}/{proxy+}", Target: SourceInbound},
	{Method: "POST", Pattern: "/webhooks/message", Target: WebhookMessage},
	{Method: "POST", Pattern: "/webhooks", Target: WebhookMessage},
	{Method: "POST", Pattern: "/webhooks/escalation", Target: WebhookEscalation},
	{Method: "POST", Pattern: "/webhooks/action", Target: WebhookAction},
	{Method: apigw.DefaultRoute, Target: SourceInbound},
}

// Webhook is how the bridge serves one type of the AI agent's webhooks.
type Webhook struct {
	Function string // the function that serves it
	// Conversation means it must name a platformConversationId.
	Conversation bool
}

// Action is the ownership table's key of action webhooks (they carry a
// name instead of an eventType).
const Action = "action"

// Webhooks is the ownership table, by eventType.
var Webhooks = map[string]Webhook{
	ultimate.EventSendMessage:      {Function: WebhookMessage, Conversation: true},
	ultimate.EventWidgetMessage:    {Function: WebhookMessage, Conversation: true},
	ultimate.EventWidgetEndSession: {Function: WebhookMessage, Conversation: true},
	ultimate.EventEscalate:         {Function: WebhookEscalation, Conversation: true},
	ultimate.EventWidgetEscalate:   {Function: WebhookEscalation, Conversation: true},
	ultimate.EventIsTeamOnline:     {Function: WebhookEscalation},
	Action:                         {Function: WebhookAction},
}

// Type is a parsed webhook's key in Webhooks.
func Type(w *ultimate.Webhook) string {
	if w.Kind == ultimate.KindAction {
		return Action
	}
	return w.Converse.EventType
}

// Of returns the table's entry for a parsed webhook.
func Of(w *ultimate.Webhook) Webhook { return Webhooks[Type(w)] }

// Serves checks that function serves w: nil, or a 400 naming the route
// that does.
func Serves(function string, w *ultimate.Webhook) error {
	owner := Of(w).Function
	if owner == function {
		return nil
	}
	return apigw.Errorf(http.StatusBadRequest, "wrong_route", "%s webhooks go to %s (or the single URL %s)", Type(w), routeOf(owner), SingleURL)
}

// routeOf is the route key of a function's own webhook route.
func routeOf(function string) string {
	for _, r := range Table {
		if r.Target == function && r.Key() != SingleURL {
			return r.Key()
		}
	}
	return SingleURL
}
