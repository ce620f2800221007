// Command webhook-action serves the AI agent's action webhooks. All logic
// lives in shared/action.
package main

import (
	"context"

	"github.com/crmbridge/crmbridge/shared/app"
)

func main() {
	app.Main(app.FnWebhookAction, func(_ context.Context, d *app.Deps) (any, error) {
		return d.Action().Handle, nil
	})
}
