package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/crmbridge/crmbridge/shared/state"
)

func (c *cli) deadLetters(ctx context.Context, args []string) error {
	stdout := c.stdout
	if len(args) == 0 {
		return errors.New("usage: crmbridge deadletters list|show|replay|discard [args]")
	}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("deadletters list", flag.ContinueOnError)
		fs.SetOutput(c.stderr)
		kind := fs.String("kind", "", "inbound or outbound (default both)")
		limit := fs.Int("limit", 50, "at most this many per kind")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		kinds := []string{state.DeadInbound, state.DeadOutbound}
		switch *kind {
		case "":
		case state.DeadInbound, state.DeadOutbound:
			kinds = []string{*kind}
		default:
			return fmt.Errorf("--kind must be %s or %s", state.DeadInbound, state.DeadOutbound)
		}
		d, _, err := c.connect(ctx, c.stderr)
		if err != nil {
			return err
		}
		for _, k := range kinds {
			dls, err := d.State.DeadLetters(ctx, k, int32(*limit))
			if err != nil {
				return err
			}
			for _, dl := range dls {
				fmt.Fprintf(stdout, "%s\t%s\t%s\tattempts=%d\t%s\n", dl.DeadAt.Format("2006-01-02T15:04:05Z"), dl.Kind, dl.Key, dl.Attempts, dl.Reason)
			}
		}
		return nil
	case "show", "replay", "discard":
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
		if args[0] == "show" {
			b, _ := json.MarshalIndent(dl, "", "  ")
			_, err := fmt.Fprintln(stdout, string(b))
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
		fmt.Fprintf(stdout, "replayed %s\n", key)
		return nil
	default:
		return fmt.Errorf("unknown deadletters command %q", args[0])
	}
}
