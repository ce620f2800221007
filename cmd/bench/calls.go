package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/awscount"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
)

// Goals of issue 12 per message.
const (
	visitorWRUGoal = 2.0
	botWRUGoal     = 1.0
)

// perMessage is what one message of a kind costs in AWS calls, units and
// invocations, over a window of n messages: every call of one function's
// invocations and of its queue's poller (attrib.go), divided by n.
type perMessage struct {
	kind    string // "visitor message (known conversation)"
	traffic string // "one at a time", "at the load run's traffic (…)"
	n       int
	calls   awscount.Counts
	// http is the HTTP API requests (each an invocation), batches the
	// event source mapping's invocations, records the mean records per
	// batch.
	http, batches, records float64
	ddb, sm                float64
	sqs                    float64 // requests that carry messages (empty receives are idle polling)
	idlePolls              float64 // empty receives during the measurement, for the record
	rru, wru               float64
	described              string
	// httpTook is the median round trip of the HTTP invocations as the
	// benchmark timed them (httpOneByOne: the same kind's one at a time,
	// see loadPerMessage), batchTook the median batch (receive → delete);
	// httpTimed and batchTimed how many were timed.
	httpTook, batchTook   time.Duration
	httpTimed, batchTimed int
	httpOneByOne          bool
	// unattributed lists the window's calls no function made (none is
	// expected: see attrib.go).
	unattributed string
}

func (p perMessage) String() string {
	return fmt.Sprintf("%s (%s): %.2f HTTP + %.2f batches (%.2f records each), %.2f DynamoDB calls (%.2f RRU, %.2f WRU), %.2f Secrets Manager, %.2f SQS; %s", p.kind, p.traffic, p.http, p.batches, p.records, p.ddb, p.rru, p.wru, p.sm, p.sqs, p.described)
}

// perMessageOf is one kind's figures per message over a window in which n
// messages of it were sent: fn's calls (its invocations' and its queue
// poller's), its HTTP requests and batches; httpTook are the HTTP
// invocations' round trips as their caller timed them.
func perMessageOf(kind, traffic string, n int, fn string, w window, httpTook []time.Duration) perMessage {
	f := float64(n)
	c := byFunction(w.scopes)[fn]
	poller := w.scopes[scopeName(fn, viaPoller)]
	batches := poller.Calls["SQS.ReceiveMessage"] // each receive that returned messages is one invocation (shared/esm)
	records := 0.0
	if batches > 0 {
		records = float64(poller.Received) / float64(batches)
	}
	empty := c.Calls[awscount.EmptyReceive]
	return perMessage{
		kind: kind, traffic: traffic, n: n, calls: c,
		http: float64(w.requests[fn]) / f, batches: float64(batches) / f, records: records,
		ddb: float64(c.Service("DynamoDB")) / f, sm: float64(c.Service("Secrets Manager")) / f,
		sqs: float64(c.Service("SQS")-empty) / f, idlePolls: float64(empty) / f, rru: c.RRU / f, wru: c.WRU / f,
		described: describe(w.scopes, fn, f),
		httpTook:  percentile(httpTook, 0.5), httpTimed: len(httpTook),
		batchTook: percentile(w.batchTook[fn], 0.5), batchTimed: len(w.batchTook[fn]),
		unattributed: w.unattributed(),
	}
}

// check refuses figures a cost cannot be computed from: invocations that
// were not timed.
func (p perMessage) check() error {
	if p.http > 0 && p.httpTimed == 0 {
		return fmt.Errorf("%s, %s: no HTTP invocation was timed", p.kind, p.traffic)
	}
	if p.batches > 0 && p.batchTimed == 0 {
		return fmt.Errorf("%s, %s: no batch was timed", p.kind, p.traffic)
	}
	return nil
}

const oneAtATime = "one at a time"

// describe lists fn's calls per message by what made them: its HTTP
// invocations (the benchmark's, then the AI agent's webhooks), its
// batches, its queue's poller.
func describe(scopes map[string]awscount.Counts, fn string, n float64) string {
	var parts []string
	for _, via := range []string{viaHTTP, stackServer, viaSQS, viaPoller} {
		s := scopeName(fn, via)
		if via == stackServer {
			if fn != route.WebhookMessage {
				continue
			}
			s = stackServer
		}
		c, ok := scopes[s]
		if !ok {
			continue
		}
		var ops []string
		for op, v := range c.Calls {
			ops = append(ops, fmt.Sprintf("%s %.2f", op, float64(v)/n))
		}
		parts = append(parts, viaLabel[via]+": "+strings.Join(sortStrings(ops), ", "))
	}
	return strings.Join(parts, "; ")
}

var viaLabel = map[string]string{viaHTTP: "HTTP", stackServer: "HTTP (the AI agent's)", viaSQS: "batches", viaPoller: "poller"}

// callsStep counts, on the warm local stack, one message at a time (each
// delivered before the next is sent), the AWS calls, capacity units and
// invocations of: a bot message (the AI agent's sendMessage to a known
// conversation, delivered to the tenant's callback); a visitor message on
// a known conversation; a new conversation (conversation.started). Each
// kind's figures are its own function's and queue's (attrib.go): the AI
// agent's answers to the visitor messages are webhook-message's, counted
// apart.
func callsStep(ctx context.Context, b *bench, n int) ([]perMessage, error) {
	conv := func(i int) string { return fmt.Sprintf("calls-%d", i) }
	// Warm: every conversation exists, config and secrets are cached.
	for i := range n {
		if _, err := b.visitor(ctx, generic.TypeConversationStarted, fmt.Sprintf("calls-start-%d", i), conv(i), ""); err != nil {
			return nil, err
		}
		if _, err := b.visitor(ctx, generic.TypeMessage, fmt.Sprintf("calls-warm-%d", i), conv(i), "warm up"); err != nil {
			return nil, err
		}
	}
	if err := b.idle(ctx); err != nil {
		return nil, err
	}
	var out []perMessage
	for _, k := range []struct {
		kind, function string
		send           func(i int) error
	}{
		{"bot message", route.WebhookMessage, func(i int) error {
			_, err := b.botMessage(ctx, conv(i), fmt.Sprintf("%024x", 0xb0700000+i), "a reply")
			return err
		}},
		{"visitor message (known conversation)", route.SourceInbound, func(i int) error {
			_, err := b.visitor(ctx, generic.TypeMessage, fmt.Sprintf("calls-msg-%d", i), conv(i), "Where is my order?")
			return err
		}},
		{"new conversation (conversation.started)", route.SourceInbound, func(i int) error {
			_, err := b.visitor(ctx, generic.TypeConversationStarted, fmt.Sprintf("calls-new-%d", i), fmt.Sprintf("calls-new-%d", i), "")
			return err
		}},
	} {
		var took []time.Duration
		m := b.mark()
		for i := range n {
			t0 := time.Now()
			if err := k.send(i); err != nil {
				return nil, err
			}
			took = append(took, time.Since(t0))
			// One at a time: this message and the AI agent's answer to it
			// are delivered before the next is sent.
			if err := b.idle(ctx); err != nil {
				return nil, err
			}
		}
		w, err := b.since(m)
		if err != nil {
			return nil, err
		}
		p := perMessageOf(k.kind, oneAtATime, n, k.function, w, took)
		if err := p.check(); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
