package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/dynamodblocal"
	"github.com/crmbridge/crmbridge/shared/motoserver"
	"github.com/crmbridge/crmbridge/shared/route"
)

// emulatorStep runs the DynamoDB synthetic against moto_server and DynamoDB
// Local in this run, the measurement that chose the load run's emulator.
func emulatorStep(ctx context.Context, r *report) error {
	const messages, concurrency, conversations = 2000, 32, 200
	fmt.Println("DynamoDB emulators: the synthetic against moto_server and DynamoDB Local")
	type emu struct {
		name string
		url  string
		stop func()
	}
	moto, err := motoserver.Start(ctx)
	if err != nil {
		return err
	}
	defer moto.Stop()
	local, err := dynamodblocal.Start(ctx)
	if err != nil {
		return err
	}
	defer local.Stop()
	var b strings.Builder
	fmt.Fprintf(&b, "The calls the durable delivery path makes per visitor message, without transactions: a conditional claim (PutItem attribute_not_exists with ReturnValuesOnConditionCheckFailure; every tenth repeated, which must fail and return the item), a strongly consistent GetItem of the conversation, a conditional UpdateItem of the claim; %d messages over %d conversations at concurrency %d, on the State table as provisioned (with its index), after an uncounted warm-up of 300; both emulators in this run. The load run needs ≥ %.0f messages/s of these.\n\n", messages, conversations, concurrency, loadRateGoal)
	b.WriteString("| emulator | messages/s | calls/s | p50 ms | p99 ms | failed conditions without the item |\n|---|---|---|---|---|---|\n")
	results := map[string]synthResult{}
	for _, e := range []emu{{"moto_server 5.2.1", moto.URL, moto.Stop}, {"DynamoDB Local " + dynamodblocal.Jar, local.URL, local.Stop}} {
		if _, err := synthetic(ctx, e.url, 300, concurrency, conversations); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		res, err := synthetic(ctx, e.url, messages, concurrency, conversations)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		results[e.name] = res
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.1f | %.1f | %d |\n", e.name, res.perSecond(), float64(res.calls)/res.elapsed.Seconds(), ms(res.p50), ms(res.p99), res.noItem)
		e.stop() // free the CPU for the next one
	}
	b.WriteString("\nDynamoDB Local also agrees with the in-memory fake on every case of shared/dynamotest's conformance table, one more than moto (moto stores a wrong index key type). dynalite 4.0.0 (npm) was measured too and refused: it returns no item with ReturnValuesOnConditionCheckFailure, has no UpdateTimeToLive, and sends CRC32 headers the SDK rejects.\n")
	r.section("DynamoDB emulator for the load run", b.String())
	for name, res := range results {
		r.goal("DynamoDB synthetic on "+name, fmt.Sprintf("%.0f messages/s", res.perSecond()), fmt.Sprintf("≥ %.0f for the load run", loadRateGoal), res.perSecond() >= loadRateGoal)
	}
	return nil
}

// stackSteps run the AWS calls count, the load run and the cost table on
// one local stack with the load run's DynamoDB emulator; the cost table
// needs both.
func stackSteps(ctx context.Context, o options, r *report) error {
	fmt.Printf("local stack (DynamoDB on %s)\n", o.loadDynamo)
	b, err := startStack(ctx, o.loadDynamo)
	if err != nil {
		return err
	}
	defer b.close()
	var kinds []perMessage // bot, visitor, new conversation: one at a time
	if o.step("calls") || o.step("cost") {
		if kinds, err = callsStep(ctx, b, 20); err != nil {
			return fmt.Errorf("calls: %w", err)
		}
		var s strings.Builder
		fmt.Fprintf(&s, "Counted with shared/awscount around every AWS client of the local stack (the four handlers in-process, DynamoDB on %s, which sizes its consumed capacity, Secrets Manager on moto_server, the queues on fauxqs), warm, averaged over %d messages of each kind sent one at a time, each delivered before the next. Every call is counted to the function that made it: its HTTP invocations (the request's context names the route's function), its event source mapping's invocations (their lambdacontext) and that mapping's own receives and deletes (by queue); so a visitor message is source-inbound's and its queue's calls, and the AI agent's answer to it (a bot message) is webhook-message's, apart. Units follow DynamoDB's pricing: 1 WRU per KB written, a failed condition charged the item's size, transactions ×2.\n\n", o.loadDynamo, kinds[0].n)
		s.WriteString(perMessageTable(kinds))
		r.section("AWS calls and capacity units per message", s.String())
		r.goal("write units per visitor message (known conversation)", fmt.Sprintf("%.2f WRU, %.2f Secrets Manager calls", kinds[1].wru, kinds[1].sm), "≤ 2 WRU, 0 Secrets Manager", kinds[1].wru <= visitorWRUGoal && kinds[1].sm == 0)
		r.goal("write units per bot message", fmt.Sprintf("%.2f WRU, %.2f Secrets Manager calls", kinds[0].wru, kinds[0].sm), "≤ 1 WRU, 0 Secrets Manager", kinds[0].wru <= botWRUGoal && kinds[0].sm == 0)
	}
	var atLoad []perMessage // bot (the echoes), visitor
	if o.step("load") || o.step("cost") {
		fmt.Printf("load run: %d visitor messages over %d conversations at concurrency %d\n", o.loadMessages, o.loadConversations, o.loadConcurrency)
		lctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		res, err := loadRun(lctx, b, o.loadMessages, o.loadConversations, o.loadConcurrency, func(n int) { fmt.Printf("  %d sent\n", n) })
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		atLoad, err = loadPerMessage(res, kinds)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		var s strings.Builder
		fmt.Fprintf(&s, "%d visitor messages over %d conversations (known: started first), %d senders at once, each conversation's next message sent when the last was answered, signed, through the local HTTP API (DynamoDB on %s) through source-inbound's queue (fauxqs) to the fake AI agent, whose echo of each comes back through webhook-message and its queue to the demo desk. Sustained rate: messages ÷ (first send → last echo at the desk).\n\n", res.messages, res.conversations, res.concurrency, o.loadDynamo)
		s.WriteString("| messages/s | lost | duplicated | out of order | answer p50 ms | answer p99 ms | echo at the desk p50 ms | p99 ms | took |\n|---|---|---|---|---|---|---|---|---|\n")
		fmt.Fprintf(&s, "| %.0f | %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %s |\n", res.rate(), res.check.lost, res.check.duplicated, res.check.outOfOrder, ms(res.ackP50), ms(res.ackP99), ms(res.e2eP50), ms(res.e2eP99), res.elapsed.Round(time.Millisecond))
		fmt.Fprintf(&s, "\nPer message during the load run, counted as in the AWS calls step (every call to the function that made it): the visitor messages are source-inbound's and its queue's, the AI agent's %d echoes webhook-message's. The event source mappings delivered the visitor messages in batches of %.2f records on average, the echoes in batches of %.2f.\n\n", atLoad[0].n, atLoad[1].records, atLoad[0].records)
		s.WriteString(perMessageTable(atLoad))
		r.section("Load run", s.String())
		r.goal("load: 0 lost, 0 duplicated, order per conversation", fmt.Sprintf("%d lost, %d duplicated, %d out of order", res.check.lost, res.check.duplicated, res.check.outOfOrder), "0, 0, 0", res.check.ok())
		r.goal("load: sustained rate", fmt.Sprintf("%.0f messages/s (p50 %.0f ms, p99 %.0f ms to the desk)", res.rate(), ms(res.e2eP50), ms(res.e2eP99)), fmt.Sprintf("≥ %.0f", loadRateGoal), res.rate() >= loadRateGoal)
	}
	if o.step("cost") {
		cols := []perMessage{kinds[0], atLoad[0], kinds[1], atLoad[1]}
		for _, c := range cols {
			if err := c.check(); err != nil {
				return fmt.Errorf("cost: %w", err)
			}
		}
		r.section("Cost per 1 M messages", costTable(cols, o.loadConcurrency))
		for _, c := range []perMessage{kinds[1], atLoad[1]} {
			t := total(costPerMillion(c))
			r.goal("cost per 1 M visitor messages, "+c.traffic, fmt.Sprintf("$%.2f", t), fmt.Sprintf("≤ $%.2f", costGoal), t <= costGoal)
		}
	}
	return nil
}

// loadPerMessage is the load run's figures per message: the AI agent's
// echoes (bot messages, one per webhook it sent) and the visitor messages.
// Their HTTP invocations are billed the one-at-a-time medians of oneByOne
// (bot, visitor; none without the calls step): a Lambda execution
// environment serves one invocation at a time, as the calls step does,
// while the load run's round trips are mostly this machine's 2 cores
// serving 32 requests beside the emulators (its answer p50).
func loadPerMessage(res loadResult, oneByOne []perMessage) ([]perMessage, error) {
	w := res.counts
	bot := perMessageOf("bot message", "", w.webhooks, route.WebhookMessage, w, nil)
	bot.traffic = fmt.Sprintf("at the load run's traffic (the echoes; mean %.2f records per batch)", bot.records)
	visitor := perMessageOf("visitor message (known conversation)", "", res.messages, route.SourceInbound, w, nil)
	visitor.traffic = fmt.Sprintf("at the load run's traffic (%.0f msg/s, mean %.2f records per batch)", res.rate(), visitor.records)
	out := []perMessage{bot, visitor}
	for i := range out {
		if out[i].n == 0 {
			return nil, fmt.Errorf("%s: none sent", out[i].kind)
		}
		if len(oneByOne) >= 2 {
			out[i].httpTook, out[i].httpTimed, out[i].httpOneByOne = oneByOne[i].httpTook, oneByOne[i].httpTimed, true
		}
	}
	return out, nil
}

// perMessageTable lists kinds' counts per message.
func perMessageTable(kinds []perMessage) string {
	var s strings.Builder
	s.WriteString("| kind | traffic | HTTP requests | batches (records each) | DynamoDB calls | WRU | RRU | Secrets Manager | SQS (+ idle polls) | median ms: HTTP, batch | calls |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	var other []string
	for _, k := range kinds {
		httpMS := "–"
		switch {
		case k.httpTimed > 0 && k.httpOneByOne:
			httpMS = fmt.Sprintf("%.1f (one at a time's)", ms(k.httpTook))
		case k.httpTimed > 0:
			httpMS = fmt.Sprintf("%.1f", ms(k.httpTook))
		}
		fmt.Fprintf(&s, "| %s | %s | %.2f | %.2f (%.2f) | %.2f | %.2f | %.2f | %.2f | %.2f (+ %.2f) | %s, %.1f | %s |\n", k.kind, k.traffic, k.http, k.batches, k.records, k.ddb, k.wru, k.rru, k.sm, k.sqs, k.idlePolls, httpMS, ms(k.batchTook), k.described)
		if k.unattributed != "" {
			other = append(other, k.kind+": "+k.unattributed)
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(&s, "\nCalls no function made (none expected): %s.\n", strings.Join(other, "; "))
	}
	return s.String()
}
