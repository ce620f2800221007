package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/crmbridge/crmbridge/shared/state"
)

func deadLettersCommand() *command {
	const path = "crmbridge deadletters"
	keyed := func(name, summary string) *command {
		return &command{name: name, args: "KEY", summary: summary,
			setup: func(*flag.FlagSet) runFunc {
				return func(ctx context.Context, c *cli, args []string) error {
					if err := nargs(path+" "+name, "KEY", args, 1, 1); err != nil {
						return err
					}
					return c.deadLetter(ctx, name, args[0])
				}
			}}
	}
	return &command{
		name:    "deadletters",
		summary: "deliveries that failed after all retries, kept for replay",
		subs: []*command{
			{name: "list", args: "[--kind K] [--limit N]", summary: "list dead letters (inbound|outbound)",
				setup: func(fs *flag.FlagSet) runFunc {
					kind := fs.String("kind", "", "inbound or outbound (default both)")
					limit := fs.Int("limit", 50, "at most this many per kind")
					return func(ctx context.Context, c *cli, args []string) error {
						if err := nargs(path+" list", "[--kind K] [--limit N]", args, 0, 0); err != nil {
							return err
						}
						kinds := []string{state.DeadInbound, state.DeadOutbound}
						switch *kind {
						case "":
						case state.DeadInbound, state.DeadOutbound:
							kinds = []string{*kind}
						default:
							return usagef(path+" list", "--kind must be %s or %s", state.DeadInbound, state.DeadOutbound)
						}
						b, err := c.connect(ctx, c.stderr)
						if err != nil {
							return err
						}
						for _, k := range kinds {
							dls, err := b.Deps.State.DeadLetters(ctx, k, int32(*limit))
							if err != nil {
								return explain(err, "list dead letters")
							}
							for _, dl := range dls {
								fmt.Fprintf(c.stdout, "%s\t%s\t%s\tattempts=%d\t%s\n", dl.DeadAt.Format("2006-01-02T15:04:05Z"), dl.Kind, dl.Key, dl.Attempts, dl.Reason)
							}
						}
						return nil
					}
				}},
			keyed("show", "print one dead letter"),
			keyed("replay", "deliver it again; marks it done on success"),
			keyed("discard", "delete it without delivering"),
		},
	}
}

func (c *cli) deadLetter(ctx context.Context, verb, key string) error {
	b, err := c.connect(ctx, c.stderr)
	if err != nil {
		return err
	}
	d := b.Deps
	if verb == "discard" {
		if err := d.State.Discard(ctx, key); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "discarded %s\n", key)
		return nil
	}
	dl, err := d.State.DeadLetter(ctx, key)
	if err != nil {
		return err
	}
	if verb == "show" {
		out, _ := json.MarshalIndent(dl, "", "  ")
		_, err := fmt.Fprintln(c.stdout, string(out))
		return err
	}
	switch dl.Kind {
	case state.DeadInbound:
		err = d.Inbound().Replay(ctx, *dl, d.State)
	case state.DeadOutbound:
		err = d.Message(nil).Replay(ctx, *dl)
	default:
		err = fmt.Errorf("dead letter %s has unknown kind %q", key, dl.Kind)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "replayed %s\n", key)
	return nil
}
