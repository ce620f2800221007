package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/crmbridge/crmbridge/shared/localstack"
)

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "address of the local HTTP API")
	agentAddr := fs.String("agent-addr", "127.0.0.1:3001", "address of the fake AI agent")
	eventsDir := fs.String("events", "events", "the events directory (demo tenant in events/tenant)")
	logs := fs.String("logs", ".local/crmbridge.log", "file for the handlers' JSON logs ('-' for stderr)")
	level := fs.String("log-level", "INFO", "handler log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var out io.Writer = stderr
	if *logs != "-" {
		if err := os.MkdirAll(dirOf(*logs), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(*logs, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
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
	st, err := localstack.Start(ctx, localstack.Options{
		Addr: *addr, AgentAddr: *agentAddr, EventsDir: *eventsDir,
		Endpoint: os.Getenv("AWS_ENDPOINT_URL"), SQSEndpoint: os.Getenv("AWS_ENDPOINT_URL_SQS"), AgentBaseURL: os.Getenv("ULTIMATE_BASE_URL"),
		LogLevel: *level, Out: out, Print: print,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	agent := st.AgentURL + " (fake, agent " + localstack.DemoAgentID + ")"
	if st.AgentURL == "" {
		agent = os.Getenv("ULTIMATE_BASE_URL") + " (real)"
	}
	aws := "moto_server at " + os.Getenv("AWS_ENDPOINT_URL")
	if st.Moto != nil {
		aws = "moto_server at " + st.Moto.URL + " (started for you)"
	}
	queues := "fauxqs at " + st.SQSEndpoint
	if st.Fauxqs != nil {
		queues += " (started for you)"
	}
	queues += "; pollers deliver both queues into the handlers"
	print(`crmbridge local stack is up
  HTTP API       %s   (same routes as on AWS)
  AI agent       %s
  DynamoDB/SM    %s, tables %s and %s
  SQS queues     %s
  CLI env        AWS_ENDPOINT_URL=%s AWS_ENDPOINT_URL_SQS=%s INBOUND_QUEUE_URL=%s OUTBOUND_QUEUE_URL=%s
  demo tenant    generic account "demo" → agent %s; its desk is %s/demo/callback
  handler logs   %s

Try it (in another terminal):
  go run ./cmd/crmbridge send --api %s --conversation c-1 "hello"
      sends a signed message event as the demo tenant; the AI agent's welcome
      and echo arrive at the demo desk and are printed here (and by send).
  go run ./cmd/crmbridge send --api %s --conversation c-1 buttons     (also: link, carousel)
  go run ./cmd/crmbridge send --api %s --conversation c-1 "action lookupOrder orderId=123"
  go run ./cmd/crmbridge send --api %s --conversation c-1 human       (escalation to the demo desk)
  go run ./cmd/crmbridge send --api %s --conversation c-1 --type conversation.handedBack
  curl -s %s/demo/inbox?conversation=c-1
%s%sCtrl-C stops everything.
`, st.API, agent, aws, st.Opts.TenantsTable, st.Opts.StateTable, queues, st.Endpoint, st.SQSEndpoint, st.Queues.Inbound, st.Queues.Outbound, localstack.DemoAgentID, st.API, *logs,
		st.API, st.API, st.API, st.API, st.API, st.API, sunshineHelp(st), livePersonHelp(st))
	<-ctx.Done()
	print("stopping")
	return nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
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
