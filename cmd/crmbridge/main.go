// Command crmbridge is the operator's tool: the local stack (`local`), a
// signed test message sender (`send`), tenant items (`tenants`), dead
// letters (`deadletters`) and sample events (`events`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `crmbridge — chat platforms ↔ Zendesk AI agents, operator tool

Usage:
  crmbridge local [flags]                 run the local stack (what make run starts)
  crmbridge send [flags] TEXT             send a signed visitor event to the generic source
  crmbridge tenants validate FILE...      check tenant items and secret files offline
  crmbridge tenants put FILE...           validate, then write items to the Tenants table
  crmbridge tenants get PK [SK]           print one item (SK defaults to CONFIG)
  crmbridge tenants list                  list items (pk, sk)
  crmbridge deadletters list [--kind K]   list dead letters (inbound|outbound), oldest first
  crmbridge deadletters show KEY          print one dead letter
  crmbridge deadletters replay KEY        put it back on its queue (today's tenant mapping, its
                                          conversation's order, a fresh retry horizon)
  crmbridge deadletters replay --all [--kind K] [--conversation PCID]
                                          replay every one, oldest first, attempts recorded
  crmbridge deadletters discard KEY       delete it without delivering
  crmbridge keys                          print new inboundSecret/callbackSecret keys for a generic account
  crmbridge events sign FILE              refresh the signature of a generic sample event (stdout)
  crmbridge invoke FUNCTION EVENT_FILE    run an event through the real bootstrap under the
                                          Lambda emulator against a throwaway local stack

AWS access uses the standard SDK environment (AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL for moto_server, AWS_ENDPOINT_URL_SQS for the local queue
emulator). Tables come from TENANTS_TABLE and STATE_TABLE (defaults
crmbridge-tenants, crmbridge-state, the local stack's); replays go to
INBOUND_QUEUE_URL and OUTBOUND_QUEUE_URL (the stack's outputs), and are
refused when a local table or queue would meet SQS calls to AWS.
Run 'crmbridge COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, connect: connectAWS}
	if err := c.run(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // a command's -h printed its flags
		}
		fmt.Fprintln(os.Stderr, "crmbridge:", err)
		os.Exit(1)
	}
}

// cli is one run of the tool: where it writes, and how it reaches AWS.
type cli struct {
	stdout, stderr io.Writer
	connect        connector
}

func (c *cli) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stdout, usage)
		return nil
	}
	switch args[0] {
	case "local":
		return runLocal(ctx, args[1:], c.stdout, c.stderr)
	case "send":
		return runSend(ctx, args[1:], c.stdout)
	case "tenants":
		return c.tenants(ctx, args[1:])
	case "deadletters":
		return c.deadLetters(ctx, args[1:])
	case "events":
		return runEvents(args[1:], c.stdout, c.stderr)
	case "keys":
		return runKeys(c.stdout)
	case "invoke":
		return runInvoke(ctx, args[1:], c.stdout)
	default:
		return fmt.Errorf("unknown command %q (see crmbridge --help)", args[0])
	}
}
