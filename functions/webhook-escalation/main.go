// Command webhook-escalation serves the AI agent's escalate, widgetEscalate
// and isTeamOnline webhooks. All logic lives in shared/escalation.
package main

import (
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/route"
)

func main() { app.Main(route.WebhookEscalation) }
