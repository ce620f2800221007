package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one command of the tool: a group of subcommands, a leaf that
// runs, or both (a leaf whose first argument may name a subcommand).
type command struct {
	name    string
	args    string // what follows the name and flags in the usage line
	summary string // one line, for the parent's list
	help    string // more, for the command's own help
	// setup defines the command's flags on fs and returns what runs it
	// with the positional arguments. It must do nothing else: help calls
	// it too, to print the flags.
	setup func(fs *flag.FlagSet) runFunc
	subs  []*command
}

type runFunc func(ctx context.Context, c *cli, args []string) error

// usageError is a wrong command line (exit 2).
type usageError struct {
	path string
	msg  string
}

func (e *usageError) Error() string {
	return fmt.Sprintf("%s (see '%s -h')", e.msg, e.path)
}

func usagef(path, format string, a ...any) error {
	return &usageError{path: path, msg: fmt.Sprintf(format, a...)}
}

// dispatch finds the command args name and runs it.
func dispatch(ctx context.Context, c *cli, root *command, args []string) error {
	cmd, path := root, root.name
	for {
		if len(args) > 0 && isHelp(args[0]) {
			printHelp(c.stdout, cmd, path)
			return nil
		}
		if cmd == root && len(args) > 0 && args[0] == "--version" {
			args[0] = "version"
		}
		if len(cmd.subs) == 0 || len(args) == 0 {
			break
		}
		sub := cmd.sub(args[0])
		if sub == nil {
			if cmd.setup != nil {
				break // the leaf takes it as an argument
			}
			if wantsHelp(args) {
				printHelp(c.stdout, cmd, path)
				return nil
			}
			return usagef(path, "unknown command %q; commands: %s", args[0], strings.Join(cmd.subNames(), ", "))
		}
		cmd, path, args = sub, path+" "+sub.name, args[1:]
	}
	if cmd.setup == nil {
		if cmd == root {
			printHelp(c.stdout, cmd, path) // the tool alone: its help
			return nil
		}
		printHelp(c.stderr, cmd, path)
		return usagef(path, "%s needs a command: %s", path, strings.Join(cmd.subNames(), ", "))
	}
	if wantsHelp(args) {
		printHelp(c.stdout, cmd, path)
		return nil
	}
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := cmd.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usagef(path, "%v", err)
	}
	return run(ctx, c, pos)
}

// isHelp is a request for help where a command name may stand; a leaf's
// arguments take only the flag forms (isHelpFlag), "help" may be a text.
func isHelp(a string) bool { return a == "help" || isHelpFlag(a) }

// wantsHelp reports a help flag among args, before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

func isHelpFlag(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

// parseInterspersed parses flags before and after the positional
// arguments (the flag package stops at the first one); after "--"
// everything is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (cmd *command) sub(name string) *command {
	for _, s := range cmd.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (cmd *command) subNames() []string {
	names := make([]string, len(cmd.subs))
	for i, s := range cmd.subs {
		names[i] = s.name
	}
	return names
}

// printHelp writes a command's help: usage, text, flags, subcommands.
func printHelp(w io.Writer, cmd *command, path string) {
	if cmd.setup != nil {
		fs := flag.NewFlagSet(path, flag.ContinueOnError)
		cmd.setup(fs)
		flags := false
		fs.VisitAll(func(*flag.Flag) { flags = true })
		fmt.Fprintf(w, "Usage: %s\n", strings.TrimSpace(path+" "+cmd.args))
		if cmd.summary != "" {
			fmt.Fprintf(w, "\n%s\n", cmd.summary)
		}
		if cmd.help != "" {
			fmt.Fprintf(w, "\n%s\n", cmd.help)
		}
		if flags {
			fmt.Fprintln(w, "\nFlags (-name or --name):")
			fs.SetOutput(w)
			fs.PrintDefaults()
		}
	} else {
		if cmd.help != "" {
			fmt.Fprintf(w, "%s\n\n", cmd.help)
		} else if cmd.summary != "" {
			fmt.Fprintf(w, "%s\n\n", cmd.summary)
		}
		fmt.Fprintln(w, "Usage:")
	}
	if len(cmd.subs) > 0 {
		if cmd.setup != nil {
			fmt.Fprintln(w, "\nCommands:")
		}
		var lines [][2]string
		width := 0
		var walk func(prefix string, subs []*command)
		walk = func(prefix string, subs []*command) {
			for _, s := range subs {
				if s.setup != nil || len(s.subs) == 0 {
					l := strings.TrimSpace(prefix + s.name + " " + s.args)
					lines = append(lines, [2]string{l, s.summary})
					width = max(width, len(l))
				}
				walk(prefix+s.name+" ", s.subs)
			}
		}
		walk(path+" ", cmd.subs)
		width = min(width, 44)
		for _, l := range lines {
			if len(l[0]) > width {
				fmt.Fprintf(w, "  %s\n  %-*s  %s\n", l[0], width, "", l[1])
				continue
			}
			fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
		}
		fmt.Fprintf(w, "\nRun '%s COMMAND -h' for a command's flags.\n", path)
	}
}

// nargs checks the count of positional arguments (max < 0: no limit).
func nargs(path, usage string, args []string, min, max int) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		return usagef(path, "usage: %s %s", path, usage)
	}
	return nil
}
