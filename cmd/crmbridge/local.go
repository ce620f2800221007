package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/localstack"
)

func localCommand() *command {
	const path = "crmbridge local"
	return &command{
		name: "local", args: "[flags]",
		summary: "run the local stack (what make run starts); 'local env' prints the CLI's environment for it",
		help: `Every server takes a flag; an address with port 0 takes a free port. moto_server
always takes a free port (or AWS_ENDPOINT_URL names a running emulator on loopback),
and ULTIMATE_BASE_URL points at a real AI agent instead of the fake one. The banner
lists every server, and the stack's CLI environment is written to --env-file for
'crmbridge local env'.`,
		setup: func(fs *flag.FlagSet) runFunc {
			o := localOpts{}
			fs.StringVar(&o.addr, "addr", "127.0.0.1:3000", "address of the local HTTP API")
			fs.StringVar(&o.agentAddr, "agent-addr", "127.0.0.1:3001", "address of the fake AI agent")
			fs.StringVar(&o.sunshineAddr, "sunshine-addr", "127.0.0.1:3100", "address of the fake Sunshine Conversations API")
			fs.StringVar(&o.livePersonAddr, "liveperson-addr", "127.0.0.1:8095", "address of the fake LivePerson Public API")
			fs.StringVar(&o.eventsDir, "events", "events", "the events directory (demo tenant in events/tenant)")
			fs.StringVar(&o.logs, "logs", ".local/crmbridge.log", "file for the handlers' JSON logs ('-' for stderr)")
			fs.StringVar(&o.level, "log-level", "INFO", "handler log level")
			fs.StringVar(&o.envFile, "env-file", defaultEnvFile, "where the CLI's environment for this stack is written")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := nargs(path, "[flags]", args, 0, 0); err != nil {
					return err
				}
				return runLocal(ctx, o, c.stdout, c.stderr)
			}
		},
		subs: []*command{{
			name: "env", args: "[--env-file FILE]",
			summary: "print the environment the CLI needs for the running local stack (eval \"$(crmbridge local env)\")",
			setup: func(fs *flag.FlagSet) runFunc {
				file := fs.String("env-file", defaultEnvFile, "the file `crmbridge local` wrote")
				return func(ctx context.Context, c *cli, args []string) error {
					if err := nargs(path+" env", "[--env-file FILE]", args, 0, 0); err != nil {
						return err
					}
					return printLocalEnv(ctx, *file, c.stdout)
				}
			},
		}},
	}
}

const defaultEnvFile = ".local/env"

type localOpts struct {
	addr, agentAddr, sunshineAddr, livePersonAddr string
	eventsDir, logs, level, envFile               string
}

func runLocal(ctx context.Context, o localOpts, stdout, stderr io.Writer) error {
	started := time.Now()
	var out io.Writer = stderr
	if o.logs != "-" {
		if err := os.MkdirAll(filepath.Dir(o.logs), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(o.logs, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	var mu sync.Mutex
	print := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, format+"\n", a...)
	}
	progress := func(step string) { print("[%5.1fs] %s", time.Since(started).Seconds(), step) }
	progress("starting the local stack (ports: API " + o.addr + ", AI agent " + o.agentAddr + ", Sunshine " + o.sunshineAddr + ", LivePerson " + o.livePersonAddr + ")")
	st, err := localstack.Start(ctx, localstack.Options{
		Addr: o.addr, AgentAddr: o.agentAddr, SunshineAddr: o.sunshineAddr, LivePersonAddr: o.livePersonAddr, EventsDir: o.eventsDir,
		Endpoint: os.Getenv("AWS_ENDPOINT_URL"), SQSEndpoint: os.Getenv("AWS_ENDPOINT_URL_SQS"), AgentBaseURL: os.Getenv("ULTIMATE_BASE_URL"),
		LogLevel: o.level, Out: out, Print: print, Progress: progress,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	env := shellEnv(st)
	if err := writeEnvFile(o.envFile, env); err != nil {
		return err
	}
	defer os.Remove(o.envFile)
	var servers strings.Builder
	for _, s := range st.Servers() {
		fmt.Fprintf(&servers, "  %-15s %-34s %s\n", s.Name, s.URL, s.Note)
	}
	print(`crmbridge local stack is up in %.1fs
%s  tables         %s and %s
  demo tenant    generic account "demo" → agent %s; its desk is %s/demo/callback
  handler logs   %s

The CLI's environment for this stack (also: eval "$(go run ./cmd/crmbridge local env)"):
%s
Try it in a browser: open %s
Or in another terminal:
  go run ./cmd/crmbridge send --api %s --conversation c-1 "hello"
      sends a signed message event as the demo tenant; the AI agent's welcome
      and echo arrive at the demo desk and are printed here (and by send).
  go run ./cmd/crmbridge send --api %s --conversation c-1 buttons     (also: link, carousel)
  go run ./cmd/crmbridge send --api %s --conversation c-1 "action lookupOrder orderId=123"
  go run ./cmd/crmbridge send --api %s --conversation c-1 human       (escalation to the demo desk)
  go run ./cmd/crmbridge send --api %s --conversation c-1 --type conversation.handedBack
  curl -s %s/demo/inbox?conversation=c-1
  eval "$(go run ./cmd/crmbridge local env)"; go run ./cmd/crmbridge doctor --api %s
%s%s%sCtrl-C stops everything.
`, time.Since(started).Seconds(), servers.String(), st.Opts.TenantsTable, st.Opts.StateTable, localstack.DemoAgentID, st.API, o.logs,
		indent(env), st.API+localstack.PlaygroundPath, st.API, st.API, st.API, st.API, st.API, st.API, st.API, sunshineHelp(st), livePersonHelp(st), twilioHelp(st))
	<-ctx.Done()
	print("stopping")
	return nil
}

// shellEnv is the stack's CLI environment as shell lines for eval.
func shellEnv(st *localstack.Stack) string {
	var b strings.Builder
	fmt.Fprintf(&b, "unset %s\n", strings.Join(localstack.CLIUnset, " "))
	for _, v := range st.CLIEnv() {
		fmt.Fprintf(&b, "export %s=%s\n", v.Key, shellQuote(v.Value))
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

func writeEnvFile(path, env string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	head := fmt.Sprintf("# the CLI's environment for the local stack of pid %d: eval \"$(go run ./cmd/crmbridge local env)\"\n", os.Getpid())
	return os.WriteFile(path, []byte(head+env), 0o600)
}

// printLocalEnv prints the running stack's environment, once its API
// answers: a file left by a stack that died names nothing useful.
func printLocalEnv(ctx context.Context, file string, stdout io.Writer) error {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no local stack is running (%s is missing): start one with make run", file)
	}
	if err != nil {
		return err
	}
	api := ""
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "export CRMBRIDGE_API="); ok {
			api = strings.Trim(v, "'")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/demo/inbox", nil)
	if err != nil {
		return fmt.Errorf("%s names no API (%q): start the stack again with make run", file, api)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the local stack of %s does not answer at %s (stopped?): start one with make run", file, api)
	}
	resp.Body.Close()
	_, err = stdout.Write(b)
	return err
}

func sunshineHelp(st *localstack.Stack) string {
	if st.Sunshine == nil {
		return ""
	}
	f := st.Sunshine.URL() + "/_fake/conversations/demo-1"
	return fmt.Sprintf(`
Sunshine Conversations (demo app %s, fake API at %s):
  curl -s -XPOST %s/visitor -d '{"text":"hello"}'     a visitor writes
  curl -s %s                                      what the bridge posted back, and who has control
`, localstack.DemoSunshineApp, st.Sunshine.URL(), f, f)
}

func livePersonHelp(st *localstack.Stack) string {
	if st.LivePerson == nil {
		return ""
	}
	c := st.API + "/demo/liveperson/lp-1"
	return fmt.Sprintf(`
LivePerson (demo account 90412077, fake Public API at %s):
  curl -s -XPOST %s/create -d '{"name":"Ada","email":"ada@example.com"}'   PUT conversation, signed App-JWT
  curl -s -XPOST %s/text -d '{"text":"buttons"}'                           a consumer message
  curl -s %s                                                               what the bridge sent to the Public API
`, st.LivePersonURL, c, c, c)
}

func twilioHelp(st *localstack.Stack) string {
	if st.Twilio == nil {
		return ""
	}
	v := st.API + "/demo/twilio/15005550101"
	return fmt.Sprintf(`
Twilio (demo account %s on %s, fake Twilio API at %s):
  curl -s -XPOST %s/sms -d '{"text":"buttons"}'                    an SMS visitor writes (signed like Twilio)
  curl -s -XPOST %s/sms -d '{"text":"2"}'                          answers the numbered list: the AI agent gets "No"
  curl -s -XPOST %s/whatsapp -d '{"text":"buttons","name":"Ada"}'  on WhatsApp: quick replies
  curl -s -XPOST %s/tap -d '{"id":"o1","text":"Yes"}'              taps one
  curl -s %s                                                       what the visitor received
`, localstack.DemoTwilioAccount, localstack.DemoTwilioNumber, st.TwilioURL, v, v, v, v, v)
}
