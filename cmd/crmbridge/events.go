package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

func eventsCommand() *command {
	const path = "crmbridge events sign"
	return &command{
		name:    "events",
		summary: "the sample events in events/",
		subs: []*command{{
			name: "sign", args: "[--tenant-dir DIR] FILE", summary: "refresh the signature of a generic sample event (stdout)",
			setup: func(fs *flag.FlagSet) runFunc {
				dir := fs.String("tenant-dir", filepath.Join("events", "tenant"), "where the demo secret files are")
				return func(_ context.Context, c *cli, args []string) error {
					if err := nargs(path, "[--tenant-dir DIR] FILE", args, 1, 1); err != nil {
						return err
					}
					raw, err := os.ReadFile(args[0])
					if err != nil {
						return err
					}
					out, changed, err := localstack.RefreshSignature(raw, *dir, time.Now())
					if err != nil {
						return err
					}
					if !changed {
						fmt.Fprintln(c.stderr, "crmbridge: left as is (not a validly signed generic event)")
					}
					_, err = c.stdout.Write(out)
					return err
				}
			},
		}},
	}
}

func keysCommand() *command {
	return &command{
		name: "keys", summary: "print new inboundSecret/callbackSecret keys for a generic account",
		setup: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, c *cli, args []string) error {
				if err := nargs("crmbridge keys", "", args, 0, 0); err != nil {
					return err
				}
				return runKeys(c.stdout)
			}
		},
	}
}

// runKeys prints fresh Standard Webhooks keys for a generic account's secret.
func runKeys(stdout io.Writer) error {
	in, err := stdwebhook.NewSecret(nil)
	if err != nil {
		return err
	}
	cb, err := stdwebhook.NewSecret(nil)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "{\"inboundSecret\":%q,\"callbackSecret\":%q}\n", in, cb)
	return err
}
