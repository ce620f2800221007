package main

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/awscount"
	"github.com/crmbridge/crmbridge/shared/source/generic"
)

// Goals of issue 12 per message.
const (
	visitorWRUGoal = 2.0
	botWRUGoal     = 1.0
)

// perMessage is what one message of a kind costs in AWS calls and units,
// the average of the counted messages.
type perMessage struct {
	kind      string
	n         int
	calls     awscount.Counts
	ddb, sm   float64
	sqs       float64 // requests that carry messages (empty receives are idle polling)
	idlePolls float64 // empty receives during the measurement, for the record
	rru, wru  float64
	described string
	// took is the median wall time of the function's invocation (the
	// local HTTP API's answer), for its Lambda duration.
	took time.Duration
}

func (p perMessage) String() string {
	return fmt.Sprintf("%s: %.2f DynamoDB calls (%.2f RRU, %.2f WRU), %.2f Secrets Manager, %.2f SQS; %s", p.kind, p.ddb, p.rru, p.wru, p.sm, p.sqs, p.described)
}

func average(kind string, n int, c awscount.Counts, took []time.Duration) perMessage {
	f := float64(n)
	// The benchmark's own waits (the local stack's Drain counts the
	// queues' messages) are not the bridge's calls.
	c.Calls = maps.Clone(c.Calls)
	delete(c.Calls, "SQS.GetQueueAttributes")
	var ops []string
	for op, v := range c.Calls {
		ops = append(ops, fmt.Sprintf("%s %.2f", op, float64(v)/f))
	}
	return perMessage{
		kind: kind, n: n, calls: c, ddb: float64(c.Service("DynamoDB")) / f, sm: float64(c.Service("Secrets Manager")) / f,
		sqs: float64(c.Service("SQS")-c.Calls[awscount.EmptyReceive]) / f, idlePolls: float64(c.Calls[awscount.EmptyReceive]) / f, rru: c.RRU / f, wru: c.WRU / f, described: strings.Join(sortStrings(ops), ", "),
		took: percentile(took, 0.5),
	}
}

// callsStep counts, on the warm local stack, the AWS calls and capacity
// units of: a bot message (the AI agent's sendMessage to a known
// conversation, delivered to the tenant's callback); a visitor message on
// a known conversation, the AI agent's echo of it subtracted (the fake
// agent answers every text with one bot message); a new conversation
// (conversation.started, the agent's welcome subtracted).
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
	var took []time.Duration
	measure := func(send func(i int) error) (awscount.Counts, error) {
		took = nil
		before := b.count.Snapshot()
		for i := range n {
			t0 := time.Now()
			if err := send(i); err != nil {
				return awscount.Counts{}, err
			}
			took = append(took, time.Since(t0))
			// One at a time: the AI agent's answer to this message is
			// delivered before the next is sent, so the answers' calls
			// never overlap the timing.
			if err := b.idle(ctx); err != nil {
				return awscount.Counts{}, err
			}
		}
		return b.count.Snapshot().Sub(before), nil
	}
	bot, err := measure(func(i int) error {
		_, err := b.botMessage(ctx, conv(i), fmt.Sprintf("%024x", 0xb0700000+i), "a reply")
		return err
	})
	if err != nil {
		return nil, err
	}
	botTook := took
	withEcho, err := measure(func(i int) error {
		_, err := b.visitor(ctx, generic.TypeMessage, fmt.Sprintf("calls-msg-%d", i), conv(i), "Where is my order?")
		return err
	})
	if err != nil {
		return nil, err
	}
	msgTook := took
	started, err := measure(func(i int) error {
		_, err := b.visitor(ctx, generic.TypeConversationStarted, fmt.Sprintf("calls-new-%d", i), fmt.Sprintf("calls-new-%d", i), "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return []perMessage{
		average("bot message", n, bot, botTook),
		average("visitor message (known conversation)", n, subtract(withEcho, bot), msgTook),
		average("new conversation (conversation.started)", n, subtract(started, bot), took),
	}, nil
}

// subtract takes the bot messages' counts (the AI agent's answers) out of
// a measurement.
func subtract(total, bot awscount.Counts) awscount.Counts {
	out := awscount.Counts{Calls: map[string]int{}, RRU: total.RRU - bot.RRU, WRU: total.WRU - bot.WRU}
	for k, v := range total.Calls {
		if d := v - bot.Calls[k]; d != 0 {
			out.Calls[k] = d
		}
	}
	for k, v := range bot.Calls {
		if _, ok := total.Calls[k]; !ok {
			out.Calls[k] = -v
		}
	}
	return out
}
