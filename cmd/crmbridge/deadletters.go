package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/crmbridge/crmbridge/shared/deadletter"
	"github.com/crmbridge/crmbridge/shared/state"
)

const deadLettersUsage = "usage: crmbridge deadletters list|show|replay|discard [args]"

func (c *cli) deadLetters(ctx context.Context, args []string) error {
	stdout := c.stdout
	if len(args) == 0 {
		return errors.New(deadLettersUsage)
	}
	kindFlag := func(fs *flag.FlagSet) *string {
		return fs.String("kind", "", "inbound or outbound (default both)")
	}
	kinds := func(kind string) ([]string, error) {
		switch kind {
		case "":
			return []string{state.DeadInbound, state.DeadOutbound}, nil
		case state.DeadInbound, state.DeadOutbound:
			return []string{kind}, nil
		}
		return nil, fmt.Errorf("--kind must be %s or %s", state.DeadInbound, state.DeadOutbound)
	}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("deadletters list", flag.ContinueOnError)
		fs.SetOutput(c.stderr)
		kind := kindFlag(fs)
		limit := fs.Int("limit", 50, "at most this many per kind, oldest first (0: all)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		ks, err := kinds(*kind)
		if err != nil {
			return err
		}
		d, _, err := c.connect(ctx, c.stderr)
		if err != nil {
			return err
		}
		for _, k := range ks {
			dls, err := d.State.DeadLetters(ctx, k, *limit)
			if err != nil {
				return err
			}
			for _, dl := range dls {
				fmt.Fprintf(stdout, "%s\t%s\t%s\tattempts=%d\treplays=%d\t%s\n", dl.DeadAt.Format("2006-01-02T15:04:05Z"), dl.Kind, dl.Key, dl.Attempts, dl.Replays, dl.Reason)
			}
		}
		return nil
	case "replay":
		fs := flag.NewFlagSet("deadletters replay", flag.ContinueOnError)
		fs.SetOutput(c.stderr)
		all := fs.Bool("all", false, "replay every dead letter, oldest first (with --kind, --conversation)")
		kind := kindFlag(fs)
		conv := fs.String("conversation", "", "with --all: only this platformConversationId's")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *all == (fs.NArg() == 1) || fs.NArg() > 1 || (!*all && (*kind != "" || *conv != "")) {
			return errors.New("usage: crmbridge deadletters replay KEY | replay --all [--kind K] [--conversation PCID]")
		}
		ks, err := kinds(*kind)
		if err != nil {
			return err
		}
		if err := localOnly(os.Getenv); err != nil {
			return err
		}
		d, _, err := c.connect(ctx, c.stderr)
		if err != nil {
			return err
		}
		r := d.Replayer()
		if !*all {
			dl, err := r.Replay(ctx, fs.Arg(0))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "queued %s for delivery (replay %d)\n", dl.Key, dl.Replays)
			return nil
		}
		failed := 0
		err = r.All(ctx, deadletter.Filter{Kinds: ks, PCID: *conv}, func(dl state.DeadLetter, err error) {
			if err != nil {
				failed++
				fmt.Fprintf(stdout, "failed %s: %v\n", dl.Key, err)
				return
			}
			fmt.Fprintf(stdout, "queued %s for delivery (replay %d)\n", dl.Key, dl.Replays)
		})
		if err == nil && failed > 0 {
			err = fmt.Errorf("%d dead letters were not replayed", failed)
		}
		return err
	case "show", "discard":
		if len(args) != 2 {
			return fmt.Errorf("usage: crmbridge deadletters %s KEY", args[0])
		}
		key := args[1]
		d, _, err := c.connect(ctx, c.stderr)
		if err != nil {
			return err
		}
		if args[0] == "discard" {
			if err := d.State.Discard(ctx, key); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "discarded %s\n", key)
			return nil
		}
		dl, err := d.State.DeadLetter(ctx, key)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(dl, "", "  ")
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	default:
		return fmt.Errorf("unknown deadletters command %q", args[0])
	}
}
