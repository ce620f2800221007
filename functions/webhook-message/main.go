// Command webhook-message delivers the AI agent's replies to the platforms
// and serves the single webhook URL, forwarding escalation and action calls
// to their functions with a SigV4-signed Lambda invoke (shared/forward). All
// logic lives in shared/message.
package main

import (
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/forward"
	"github.com/crmbridge/crmbridge/shared/route"
)

func main() { app.Main(route.WebhookMessage, app.WithForwarder(forward.New)) }
