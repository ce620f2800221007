// Command webhook-escalation serves the AI agent's escalate, widgetEscalate
// and isTeamOnline webhooks. All logic lives in shared/escalation.
package main

import (
	"context"

	"github.com/crmbridge/crmbridge/shared/app"
)

func main() {
	app.Main(app.FnWebhookEscalation, func(_ context.Context, d *app.Deps) (any, error) {
		return d.Escalation().Handle, nil
	})
}
