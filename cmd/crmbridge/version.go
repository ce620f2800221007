package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

func versionCommand() *command {
	return &command{
		name: "version", summary: "print the tool's version (also --version)",
		setup: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, c *cli, args []string) error {
				if err := nargs("crmbridge version", "", args, 0, 0); err != nil {
					return err
				}
				_, err := fmt.Fprintln(c.stdout, version())
				return err
			}
		},
	}
}

// version is the module version and the commit the binary was built from
// (go build and go run stamp both from the repository).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "crmbridge (no build information)"
	}
	v, rev, dirty := bi.Main.Version, "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	out := "crmbridge " + v
	if rev != "" {
		out += " commit " + rev[:min(12, len(rev))]
		if dirty {
			out += " (modified)"
		}
	}
	return out + " " + bi.GoVersion
}
