// Command source-inbound receives chat platform webhooks and sends them to
// the AI agent. All logic lives in shared/inbound; this only wires it.
package main

import (
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/route"
)

func main() { app.Main(route.SourceInbound) }
