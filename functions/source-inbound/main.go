// Command source-inbound receives chat platform webhooks and sends them to
// the AI agent. All logic lives in shared/inbound; this only wires it.
package main

import (
	"context"

	"github.com/crmbridge/crmbridge/shared/app"
)

func main() {
	app.Main(app.FnSourceInbound, func(_ context.Context, d *app.Deps) (any, error) {
		return d.Inbound().Handle, nil
	})
}
