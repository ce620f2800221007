package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

func runEvents(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "sign" {
		return errors.New("usage: crmbridge events sign [--tenant-dir DIR] FILE")
	}
	fs := flag.NewFlagSet("events sign", flag.ContinueOnError)
	dir := fs.String("tenant-dir", filepath.Join("events", "tenant"), "where the demo secret files are")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: crmbridge events sign [--tenant-dir DIR] FILE")
	}
	raw, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	out, changed, err := localstack.RefreshSignature(raw, *dir, time.Now())
	if err != nil {
		return err
	}
	if !changed {
		fmt.Fprintln(stderr, "crmbridge: left as is (not a validly signed generic event)")
	}
	_, err = stdout.Write(out)
	return err
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
