// Command crmbridge is the operator's tool: the local stack (`local`), a
// signed test message sender (`send`), tenant items (`tenants`), dead
// letters (`deadletters`) and sample events (`events`).
package main

import (
	"context"
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
  crmbridge deadletters list [--kind K]   list dead letters (inbound|outbound)
  crmbridge deadletters show KEY          print one dead letter
  crmbridge deadletters replay KEY        deliver it again; marks it done on success
  crmbridge deadletters discard KEY       delete it without delivering
  crmbridge keys                          print new inboundSecret/callbackSecret keys for a generic account
  crmbridge events sign FILE              refresh the signature of a generic sample event (stdout)
  crmbridge invoke FUNCTION EVENT_FILE    run an event through the real bootstrap under the
                                          Lambda emulator against a throwaway local stack

AWS access uses the standard SDK environment (AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL for moto_server). Tables come from TENANTS_TABLE and
STATE_TABLE (defaults crmbridge-tenants, crmbridge-state, the local stack's).
Run 'crmbridge COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "crmbridge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "local":
		return runLocal(ctx, args[1:], stdout, stderr)
	case "send":
		return runSend(ctx, args[1:], stdout)
	case "tenants":
		return runTenants(ctx, args[1:], stdout)
	case "deadletters":
		return runDeadLetters(ctx, args[1:], stdout)
	case "events":
		return runEvents(args[1:], stdout)
	case "keys":
		return runKeys(stdout)
	case "invoke":
		return runInvoke(ctx, args[1:], stdout)
	default:
		return fmt.Errorf("unknown command %q (see crmbridge --help)", args[0])
	}
}
