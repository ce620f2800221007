package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/doctor"
	"github.com/crmbridge/crmbridge/shared/egress"
)

func doctorCommand() *command {
	return &command{
		name: "doctor", args: "[--api URL] [--skip-agents]",
		summary: "check a deployment without changing it, and say what to fix",
		help: `Checks, reading only: the tables (as the template defines them), every tenant
item (with the functions' own parsers), that every secret the items name exists and
is shaped as the functions read it, each AI agent's bot ID and API key (one Chat API
request with an empty body, which the API refuses with 400 once the credentials
passed: nothing is created), and that the bridge's webhook URL and each account's
source URL reach the bridge (unsigned GETs, which every route refuses). Exits 1
when anything failed.`,
		setup: func(fs *flag.FlagSet) runFunc {
			api := fs.String("api", os.Getenv("CRMBRIDGE_API"), "the bridge's base URL, the stack's ApiUrl output (env CRMBRIDGE_API); empty skips the URL checks")
			skipAgents := fs.Bool("skip-agents", false, "do not call the AI agents")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := nargs("crmbridge doctor", "[--api URL] [--skip-agents]", args, 0, 0); err != nil {
					return err
				}
				b, err := c.connect(ctx, c.stderr)
				if err != nil {
					return err
				}
				if b.Tables == nil {
					return errors.New("doctor needs DynamoDB itself (DescribeTable), not a fake")
				}
				d := b.Deps
				eg := egress.New(egress.Options{Local: d.Config.LocalEgress})
				ch := &doctor.Checker{
					Tables: b.Tables, Items: b.DB, Secrets: b.SM,
					Hooks: app.Hooks(d.Sources, eg), Sources: d.Sources, HTTP: eg,
					TenantsTable: d.Config.TenantsTable, StateTable: d.Config.StateTable, API: *api,
				}
				if !*skipAgents {
					ch.Agent = d.Agent
				}
				ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				defer cancel()
				fs := ch.Run(ctx)
				for _, f := range fs {
					mark := "ok  "
					switch {
					case f.Skipped:
						mark = "skip"
					case !f.OK:
						mark = "FAIL"
					}
					fmt.Fprintf(c.stdout, "%s  %s: %s\n", mark, f.Check, f.Detail)
					if !f.OK && !f.Skipped && f.Fix != "" {
						fmt.Fprintf(c.stdout, "      fix: %s\n", f.Fix)
					}
				}
				if n := fs.Failed(); n > 0 {
					word := "problems"
					if n == 1 {
						word = "problem"
					}
					return fmt.Errorf("%d %s", n, word)
				}
				fmt.Fprintln(c.stdout, "no problems found")
				return nil
			}
		},
	}
}
