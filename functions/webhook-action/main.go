// Command webhook-action serves the AI agent's action webhooks. All logic
// lives in shared/action.
package main

import (
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/route"
)

func main() { app.Main(route.WebhookAction) }
