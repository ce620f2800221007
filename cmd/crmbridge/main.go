// Command crmbridge is the operator's tool: the local stack (`local`), a
// signed test message sender (`send`), tenant items (`tenants`), secrets
// (`secrets`), dead letters (`deadletters`), a deployment check (`doctor`)
// and sample events (`events`).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes: 0 done, 1 failed (a refused request, a problem found, an
// unreachable service), 2 the command line was wrong.
const (
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, connect: connectAWS}
	if err := c.run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "crmbridge:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(exitUsage)
		}
		os.Exit(exitFailed)
	}
}

// cli is one run of the tool: where it writes, and how it reaches AWS.
type cli struct {
	stdout, stderr io.Writer
	connect        connector
}

func (c *cli) run(ctx context.Context, args []string) error {
	return dispatch(ctx, c, commands(), args)
}

// commands is the tool's command tree. Every command and subcommand
// answers -h/--help (anywhere before --) with its help on stdout, exit 0,
// having called nothing.
func commands() *command {
	return &command{
		name: "crmbridge",
		help: `crmbridge — chat platforms ↔ Zendesk AI agents, operator tool

AWS access uses the standard SDK environment (AWS_PROFILE or AWS_ACCESS_KEY_ID,
AWS_REGION) and the stack's tables (TENANTS_TABLE, STATE_TABLE: the stack's
outputs). Pointed at the local stack (AWS_ENDPOINT_URL on loopback), every
command needs the local stack's whole environment, so nothing falls back to a
production endpoint: eval "$(go run ./cmd/crmbridge local env)".

Exit codes: 0 done, 1 failed (a refused request, a problem found), 2 usage.`,
		subs: []*command{
			localCommand(),
			sendCommand(),
			tenantsCommand(),
			secretsCommand(),
			deadLettersCommand(),
			doctorCommand(),
			keysCommand(),
			eventsCommand(),
			invokeCommand(),
			versionCommand(),
		},
	}
}
