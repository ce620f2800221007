package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/crmbridge/crmbridge/shared/deadletter"
	"github.com/crmbridge/crmbridge/shared/state"
)

func deadLettersCommand() *command {
	const path = "crmbridge deadletters"
	kinds := func(cmd, kind string) ([]string, error) {
		switch kind {
		case "":
			return []string{state.DeadInbound, state.DeadOutbound}, nil
		case state.DeadInbound, state.DeadOutbound:
			return []string{kind}, nil
		}
		return nil, usagef(path+" "+cmd, "--kind must be %s or %s", state.DeadInbound, state.DeadOutbound)
	}
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
			{name: "list", args: "[--kind K] [--limit N]", summary: "list dead letters (inbound|outbound), oldest first",
				setup: func(fs *flag.FlagSet) runFunc {
					kind := fs.String("kind", "", "inbound or outbound (default both)")
					limit := fs.Int("limit", 50, "at most this many per kind, oldest first (0: all)")
					return func(ctx context.Context, c *cli, args []string) error {
						if err := nargs(path+" list", "[--kind K] [--limit N]", args, 0, 0); err != nil {
							return err
						}
						ks, err := kinds("list", *kind)
						if err != nil {
							return err
						}
						b, err := c.connect(ctx, c.stderr)
						if err != nil {
							return err
						}
						for _, k := range ks {
							dls, err := b.Deps.State.DeadLetters(ctx, k, *limit)
							if err != nil {
								return explain(err, "list dead letters")
							}
							for _, dl := range dls {
								// tries: deliveries before the last give-up (older
								// dead letters did not record it).
								tries := dl.Ref["receives"]
								if tries == "" {
									tries = "-"
								}
								fmt.Fprintf(c.stdout, "%s\t%s\t%s\tattempts=%d\treplays=%d\ttries=%s\t%s\n", dl.DeadAt.Format("2006-01-02T15:04:05Z"), dl.Kind, dl.Key, dl.Attempts, dl.Replays, tries, dl.Reason)
							}
						}
						return nil
					}
				}},
			keyed("show", "print one dead letter"),
			{name: "replay", args: "KEY | --all [--kind K] [--conversation PCID]",
				summary: "put it back on its queue (today's tenant mapping, its conversation's order, a fresh retry horizon)",
				help: "--all replays every dead letter, oldest first, and records the attempts. Replays are refused\n" +
					"when a local table or queue would meet SQS calls to AWS (see `crmbridge local env`).",
				setup: func(fs *flag.FlagSet) runFunc {
					all := fs.Bool("all", false, "replay every dead letter, oldest first (with --kind, --conversation)")
					kind := fs.String("kind", "", "with --all: inbound or outbound (default both)")
					conv := fs.String("conversation", "", "with --all: only this platformConversationId's")
					return func(ctx context.Context, c *cli, args []string) error {
						if *all == (len(args) == 1) || len(args) > 1 || (!*all && (*kind != "" || *conv != "")) {
							return usagef(path+" replay", "usage: %s replay KEY | replay --all [--kind K] [--conversation PCID]", path)
						}
						ks, err := kinds("replay", *kind)
						if err != nil {
							return err
						}
						if err := localOnly(os.Getenv); err != nil {
							return err
						}
						b, err := c.connect(ctx, c.stderr)
						if err != nil {
							return err
						}
						r := b.Deps.Replayer()
						if !*all {
							dl, err := r.Replay(ctx, args[0])
							if err != nil {
								return explain(err, "replay "+args[0])
							}
							fmt.Fprintf(c.stdout, "queued %s for delivery (replay %d)\n", dl.Key, dl.Replays)
							return nil
						}
						failed := 0
						err = r.All(ctx, deadletter.Filter{Kinds: ks, PCID: *conv}, func(dl state.DeadLetter, err error) {
							if err != nil {
								failed++
								fmt.Fprintf(c.stdout, "failed %s: %v\n", dl.Key, err)
								return
							}
							fmt.Fprintf(c.stdout, "queued %s for delivery (replay %d)\n", dl.Key, dl.Replays)
						})
						if err == nil && failed > 0 {
							err = fmt.Errorf("%d dead letters were not replayed", failed)
						}
						return err
					}
				}},
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
			return explain(err, "discard "+key)
		}
		fmt.Fprintf(c.stdout, "discarded %s\n", key)
		return nil
	}
	dl, err := d.State.DeadLetter(ctx, key)
	if err != nil {
		return explain(err, "read "+key)
	}
	out, _ := json.MarshalIndent(dl, "", "  ")
	_, err = fmt.Fprintln(c.stdout, string(out))
	return err
}
