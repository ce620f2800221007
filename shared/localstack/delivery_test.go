package localstack_test

// The durable-delivery guarantees (issue 10), proven through the real
// parts: moto_server, fauxqs's FIFO queues, the Lambda-like pollers, the
// fake AI agent and platforms. Long outages are simulated on the queue
// consumers' clock (records days old, no one waits days); retry delays
// are the queue's smallest (a second). Every wait is for an event.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// withMaxAge sets an account's delivery.maxAgeSeconds for the test.
func withMaxAge(t *testing.T, source, account string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	key := map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: tenant.SourceKey(source, account)}, "sk": &ddbtypes.AttributeValueMemberS{Value: tenant.ConfigSK},
	}
	out, err := stack.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &stack.Opts.TenantsTable, Key: key})
	if err != nil || len(out.Item) == 0 {
		t.Fatalf("account %s/%s: %v", source, account, err)
	}
	orig := out.Item
	it := map[string]ddbtypes.AttributeValue{}
	for k, v := range orig {
		it[k] = v
	}
	it["delivery"] = &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
		"maxAgeSeconds": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(int(d.Seconds()))},
	}}
	if _, err := stack.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &stack.Opts.TenantsTable, Item: it}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = stack.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &stack.Opts.TenantsTable, Item: orig})
	})
}

// sunshineEvent is a signed SunCo webhook delivery of one user text, as
// the function receives it.
func sunshineEvent(conv, user, text string) events.APIGatewayV2HTTPRequest {
	body, _ := json.Marshal(stack.Sunshine.Envelope(stack.Sunshine.UserText(conv, user, text)))
	path := "/sources/sunshine/" + localstack.DemoSunshineApp
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY /sources/{source}/{account}", RawPath: path, Body: string(body),
		Headers:        map[string]string{"content-type": "application/json", "x-api-key": sunshineSecret},
		PathParameters: map[string]string{"source": "sunshine", "account": localstack.DemoSunshineApp},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "sc-" + conv + "-" + text, HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path}},
	}
}

var sunshineSecret string

func lpEndpoint(t *testing.T) lptest.Endpoint {
	t.Helper()
	s, err := lptest.DemoSentinel()
	if err != nil {
		t.Fatal(err)
	}
	bearer, err := s.Bearer(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return lptest.Endpoint{Account: lptest.DemoAccount, BotID: lptest.DemoBotID, Env: "production", Authorization: bearer}
}

// received is what the AI agent accepted for a conversation, as
// eventType:text.
func received(p string) []string {
	var out []string
	for _, r := range chats(p) {
		if r.Chat != nil {
			out = append(out, r.Chat.EventType+":"+r.Chat.Text)
		}
	}
	return out
}

// The AI agent down for four (simulated) days, longer than every
// platform's retry window (Standard Webhooks ~75 h, Sunshine 15 min,
// LivePerson about a minute), then back: every platform was answered at
// once, while the AI agent took nothing; nothing was lost; each
// conversation's order was kept.
func TestAgentDownLongerThanEveryPlatformsRetryWindow(t *testing.T) {
	sunshineSecret = sunshineWebhookSecret(t)
	for _, a := range [][2]string{{"generic", localstack.DemoAccount}, {"sunshine", localstack.DemoSunshineApp}, {"liveperson", lptest.DemoAccount}} {
		withMaxAge(t, a[0], a[1], 5*24*time.Hour)
	}
	td := newDeps(t, nil)
	in := td.h[route.SourceInbound]
	td.ai.down.Store(true)
	gconv, sconv, lconv := newConv("down-g"), fmt.Sprintf("%024x", convSeq.Add(1)+0xdd0000), newConv("down-lp")
	pcids := map[string][]string{ // conversation → what the AI agent must get, in order
		pcid(gconv): {"message:g1", "message:g2", "message:g3"},
		"sunshine:" + localstack.DemoSunshineApp + ":" + sconv: {"message:s1", "message:s2", "message:s3"},
		"liveperson:" + lptest.DemoAccount + ":" + lconv:       {"startSession:", "message:l1", "message:l2", "message:l3"},
	}
	ep := lpEndpoint(t)
	var sends []events.APIGatewayV2HTTPRequest
	sends = append(sends, ep.CreateConversation(lconv, lptest.ConversationBody(lptest.MessagingSDES(lptest.Person{FirstName: "Ada", CustomerID: "c-1"}, true), "MESSAGING")).Event("lp-create", time.Now()))
	for i := 1; i <= 3; i++ {
		sends = append(sends,
			inboundEvent(t, fmt.Sprintf("evt-%s-%d", gconv, i), generic.TypeMessage, generic.InboundData{ConversationID: gconv, Text: fmt.Sprintf("g%d", i)}),
			sunshineEvent(sconv, "u-"+sconv[:8], fmt.Sprintf("s%d", i)),
			ep.Text(lconv, i, fmt.Sprintf("l%d", i)).Event(fmt.Sprintf("lp-%d", i), time.Now()))
	}
	var slowest time.Duration
	for _, ev := range sends {
		start := time.Now()
		resp, err := in(context.Background(), ev)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s %v", ev.RawPath, resp.StatusCode, resp.Body, err)
		}
		slowest = max(slowest, time.Since(start))
	}
	td.ai.mu.Lock()
	for p := range pcids {
		if count(td.ai.log, p, "passed") > 0 {
			t.Errorf("%s reached the AI agent while it was down", p)
		}
	}
	td.ai.mu.Unlock()
	heads := func(n int) func([]fault) bool {
		return func(log []fault) bool {
			for p := range pcids {
				if count(log, p, "down") < n {
					return false
				}
			}
			return true
		}
	}
	td.ai.await(t, "two failed attempts per conversation", heads(2))
	td.clock.advance(4 * 24 * time.Hour)
	td.ai.await(t, "attempts four days later", heads(4))
	td.ai.down.Store(false)
	drain(t)
	for p, want := range pcids {
		if got := received(p); !slices.Equal(got, want) {
			t.Errorf("%s: the AI agent got %q, want %q", p, got, want)
		}
	}
	if dls, _ := td.d.State.DeadLetters(context.Background(), state.DeadInbound, 0); slices.ContainsFunc(dls, func(d state.DeadLetter) bool { _, ok := pcids[d.Ref["pcid"]]; return ok }) {
		t.Error("a dead letter was kept for an event that should have waited")
	}
	t.Logf("figures: agent down 4 days (simulated): 3 platforms, 10 events, 0 lost, order kept; slowest platform answer %s, the AI agent having taken nothing", slowest.Round(time.Millisecond))
}

// A platform down for an hour (simulated), then back: the bot's messages
// wait on the queue, none is lost, the order is kept, and the AI agent was
// answered at once.
func TestPlatformDownForAnHour(t *testing.T) {
	f := newFlakyTenant(t)
	f.answer(503)
	td := newDeps(t, nil)
	pc := "generic:" + f.account + ":c-down"
	for i := 1; i <= 3; i++ {
		msg := converse(map[string]any{"platformConversationId": pc, "eventType": "sendMessage", "text": fmt.Sprintf("bot %d", i), "messageId": fmt.Sprintf("down-%s-%d", f.account, i)})
		resp, _ := td.h[route.WebhookMessage](context.Background(), webhookEvent("/webhooks/message", msg, nil))
		if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"queued"`) {
			t.Fatalf("message %d: %d %s", i, resp.StatusCode, resp.Body)
		}
	}
	f.await(t, 6) // two deliveries of the head, three attempts each
	td.clock.advance(time.Hour)
	f.mu.Lock()
	seen := f.attempts
	f.mu.Unlock()
	f.await(t, seen+3) // and another an hour later
	f.answer(0)
	drain(t)
	got, _ := f.received()
	var texts []string
	for _, b := range got {
		var ev struct {
			Data generic.MessageData `json:"data"`
		}
		_ = json.Unmarshal([]byte(b), &ev)
		texts = append(texts, ev.Data.Message.Text)
	}
	if want := []string{"bot 1", "bot 2", "bot 3"}; !slices.Equal(texts, want) {
		t.Fatalf("the tenant got %q, want %q", texts, want)
	}
	t.Logf("figures: platform down 1 h (simulated): 3 bot messages, 0 lost, order kept, %d failed platform calls before", seen)
}

// killSwitch is a consumer's SQS client that dies with it: after kill,
// every call fails, so the consumer neither deletes nor delays anything,
// as a process that is gone.
type killSwitch struct {
	localstack.QueueAPI
	notify app.SQS
	dead   atomic.Bool
}

var errKilled = errors.New("the bridge was killed")

func (k *killSwitch) SendMessage(ctx context.Context, in queue.SendRequest) error {
	if k.dead.Load() {
		return errKilled
	}
	return k.notify.SendMessage(ctx, in)
}

func (k *killSwitch) ChangeMessageVisibility(ctx context.Context, in queue.VisibilityRequest) error {
	if k.dead.Load() {
		return errKilled
	}
	return k.notify.ChangeMessageVisibility(ctx, in)
}

func (k *killSwitch) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, o ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if k.dead.Load() {
		return nil, errKilled
	}
	out, err := k.QueueAPI.ReceiveMessage(ctx, in, o...)
	if k.dead.Load() {
		// A long poll that was waiting when the process died: what it
		// took is invisible for the visibility timeout, then back.
		return nil, errKilled
	}
	return out, err
}

func (k *killSwitch) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, o ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	if k.dead.Load() {
		return nil, errKilled
	}
	return k.QueueAPI.DeleteMessageBatch(ctx, in, o...)
}

// The bridge killed mid-delivery, in each direction: a consumer has sent
// the record (the far side got it) and dies before deleting it; a fresh
// consumer takes it over after the queue's visibility timeout. Nothing is
// lost; the far side gets it twice (the at-least-once window), a generic
// tenant with the same webhook-id both times, so it can dedupe.
func TestBridgeKilledMidDelivery(t *testing.T) {
	// Short visibility and invocations: the takeover comes after 3 s.
	short := func(k *killSwitch, q *localstack.Queues) depsOptions {
		o := depsOptions{
			delivery:   &app.Delivery{Backoff: fastDelivery.Backoff, Reserve: 200 * time.Millisecond},
			visibility: 3 * time.Second, queues: q,
			run: localstack.RunOptions{Timeout: 2 * time.Second},
		}
		if k != nil {
			o.sqs, o.run.SQS = k, k
		}
		return o
	}
	t.Run("inbound", func(t *testing.T) {
		k := &killSwitch{QueueAPI: stack.SQS, notify: stack.QueueClient()}
		a := newDepsWith(t, short(k, nil))
		a.ai.hold.Store(1)
		conv := newConv("killed-in")
		resp, _ := a.h[route.SourceInbound](context.Background(), inboundEvent(t, "evt-"+conv, generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "survive"}))
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		a.ai.await(t, "the AI agent taking the event", func(log []fault) bool { return count(log, pcid(conv), "held") == 1 })
		k.dead.Store(true) // killed before its answer and its delete
		newDepsWith(t, short(nil, &a.queues))
		drain(t)
		if got := received(pcid(conv)); len(got) != 2 || got[0] != "message:survive" || got[1] != got[0] {
			t.Fatalf("the AI agent got %q: want the event, and once more from the consumer that took over", got)
		}
	})
	t.Run("outbound", func(t *testing.T) {
		f := newFlakyTenant(t)
		f.mu.Lock()
		f.hold = 1
		f.mu.Unlock()
		k := &killSwitch{QueueAPI: stack.SQS, notify: stack.QueueClient()}
		a := newDepsWith(t, short(k, nil))
		pc := "generic:" + f.account + ":killed"
		msg := converse(map[string]any{"platformConversationId": pc, "eventType": "sendMessage", "text": "survive", "messageId": "killed-" + f.account})
		if resp, _ := a.h[route.WebhookMessage](context.Background(), webhookEvent("/webhooks/message", msg, nil)); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		f.await(t, 1) // the tenant has it; its answer never reaches the bridge
		k.dead.Store(true)
		newDepsWith(t, short(nil, &a.queues))
		drain(t)
		got, ids := f.received()
		if len(got) != 2 || !strings.Contains(got[1], `"text":"survive"`) || ids[0] != ids[1] || ids[0] == "" {
			t.Fatalf("the tenant got %d copies with webhook-ids %q: want two with one id", len(got), ids)
		}
	})
}

// An AI agent slower than the first attempt's timeout gets an event twice
// (the second attempt waits longer), not more; at normal speed once.
func TestSlowAgentGetsEachEventAtMostTwice(t *testing.T) {
	td := newDepsWith(t, depsOptions{delivery: &app.Delivery{Backoff: fastDelivery.Backoff, AttemptTimeouts: []time.Duration{time.Second, time.Minute}}})
	td.ai.hold.Store(2) // both attempts reach the agent; answers wait
	slow, normal := newConv("slow"), newConv("normal")
	for _, c := range []string{slow, normal} {
		resp, _ := td.h[route.SourceInbound](context.Background(), inboundEvent(t, "evt-"+c, generic.TypeMessage, generic.InboundData{ConversationID: c, Text: "think"}))
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if c == slow {
			// The second attempt, after the first timed out, is held too.
			td.ai.await(t, "a second attempt", func(log []fault) bool { return count(log, pcid(slow), "held") == 2 })
			close(td.ai.release) // the agent answers it in time
		}
	}
	drain(t)
	if got := received(pcid(slow)); len(got) != 2 {
		t.Fatalf("the slow AI agent got %q: want twice", got)
	}
	if got := received(pcid(normal)); len(got) != 1 {
		t.Fatalf("at normal speed the AI agent got %q: want once", got)
	}
}

// countingPoller counts the event source mapping's calls that carry
// records.
type countingPoller struct {
	localstack.QueueAPI
	receives, deletes atomic.Int64
}

func (c *countingPoller) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, o ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := c.QueueAPI.ReceiveMessage(ctx, in, o...)
	if err == nil && len(out.Messages) > 0 {
		c.receives.Add(1)
	}
	return out, err
}

func (c *countingPoller) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, o ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	c.deletes.Add(1)
	return c.QueueAPI.DeleteMessageBatch(ctx, in, o...)
}

// writeUnits are the write units of writes: each a write of one item,
// rounded up to whole kilobytes of the item written.
func writeUnits(t *testing.T, ws []write) (units int, keys []string) {
	t.Helper()
	for _, w := range ws {
		out, err := stack.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(w.table), Key: w.key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		units += max(1, int(math.Ceil(float64(dynamotest.ItemSize(out.Item))/1024)))
		keys = append(keys, w.op+" "+w.key["pk"].(*ddbtypes.AttributeValueMemberS).Value)
	}
	return units, keys
}

// The budget: a visitor message on a known conversation and a bot message
// each cost at most 1 DynamoDB write unit and no Secrets Manager call
// warm, through the whole pipeline (the HTTP side and the queue side).
func TestWriteUnitsPerMessage(t *testing.T) {
	poller := &countingPoller{QueueAPI: stack.SQS}
	td := newDepsWith(t, depsOptions{run: localstack.RunOptions{SQS: poller}})
	in, out := td.h[route.SourceInbound], td.h[route.WebhookMessage]
	conv := newConv("budget")
	ctx := context.Background()
	ok := func(resp events.APIGatewayV2HTTPResponse, err error) {
		t.Helper()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
		}
	}
	// A known conversation, caches warm.
	ok(in(ctx, inboundEvent(t, "evt-"+conv+"-start", generic.TypeConversationStarted, generic.InboundData{ConversationID: conv})))
	ok(out(ctx, webhookEvent("/webhooks/message", converse(map[string]any{"platformConversationId": pcid(conv), "eventType": "sendMessage", "text": "warm", "messageId": "budget-warm-" + conv}), nil)))
	drain(t)
	const n = 10
	type figures struct{ ddb, sm, sends, vis, receives, deletes int64 }
	snap := func() figures {
		return figures{td.db.n.Load(), td.sm.n.Load(), td.sqs.sends.Load(), td.sqs.visibility.Load(), poller.receives.Load(), poller.deletes.Load()}
	}
	measure := func(name string, one func(i int)) {
		t.Helper()
		w0, f0 := td.db.count(), snap()
		for i := 0; i < n; i++ {
			one(i)
			drain(t) // one at a time: the queue side's calls per message
		}
		f := snap()
		units, keys := writeUnits(t, td.db.since(w0))
		t.Logf("figures: %s: %.1f WRU, %.1f DynamoDB calls, %d Secrets Manager calls, %.1f SendMessage, %.1f ChangeMessageVisibility, %.1f receives and %.1f deletes with records, per message (over %d)",
			name, float64(units)/n, float64(f.ddb-f0.ddb)/n, f.sm-f0.sm, float64(f.sends-f0.sends)/n, float64(f.vis-f0.vis)/n, float64(f.receives-f0.receives)/n, float64(f.deletes-f0.deletes)/n, n)
		if units > n || f.sm != f0.sm {
			t.Errorf("%s: %d write units and %d Secrets Manager calls for %d messages; budget %d and 0 (writes %q)", name, units, f.sm-f0.sm, n, n, keys)
		}
	}
	var answers, toAgent []time.Duration
	measure("visitor message", func(i int) {
		start := time.Now()
		ok(in(ctx, inboundEvent(t, fmt.Sprintf("evt-%s-%d", conv, i), generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: fmt.Sprint("hi ", i)})))
		answered := time.Now()
		answers = append(answers, answered.Sub(start))
		drain(t)
		for _, r := range chats(pcid(conv)) {
			if r.Chat.Text == fmt.Sprint("hi ", i) {
				toAgent = append(toAgent, r.At.Sub(answered))
			}
		}
	})
	slices.Sort(answers)
	slices.Sort(toAgent)
	if len(toAgent) == n {
		t.Logf("figures (local, moto and fauxqs on loopback): platform answered in a median %s; the AI agent had the event a median %s after that answer",
			answers[n/2].Round(100*time.Microsecond), toAgent[n/2].Round(100*time.Microsecond))
	}
	measure("bot message", func(i int) {
		ok(out(ctx, webhookEvent("/webhooks/message", converse(map[string]any{
			"platformConversationId": pcid(conv), "eventType": "sendMessage", "text": "reply", "messageId": fmt.Sprintf("budget-%s-%d", conv, i),
		}), nil)))
	})
}

// The envelope on the queue is what the HTTP side accepted, grouped by
// conversation and deduplicated on the claim.
func TestQueuedRecordsAreGroupedAndDeduplicated(t *testing.T) {
	// Queues of its own that Drain does not wait for: nobody consumes them.
	q, err := localstack.CreateQueues(context.Background(), stack.SQS, fmt.Sprintf("grouped%d", time.Now().UnixNano()%1e9), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	td := newDepsWith(t, depsOptions{noPollers: true, queues: &q})
	conv := newConv("grouped")
	for i := 0; i < 2; i++ { // the platform's redelivery resends; SQS keeps one
		resp, _ := td.h[route.SourceInbound](context.Background(), inboundEvent(t, "evt-"+conv, generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "one"}))
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	}
	outp, err := stack.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: &td.queues.Inbound, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil || len(outp.Messages) != 1 {
		t.Fatalf("%d messages, %v; want one", len(outp.Messages), err)
	}
	m := outp.Messages[0]
	env, err := queue.Decode(aws.ToString(m.Body))
	if err != nil || env.PCID != pcid(conv) || env.Key != state.EventKey("generic", "demo", "evt-"+conv) || m.Attributes["MessageGroupId"] != queue.GroupID(pcid(conv)) {
		t.Fatalf("queued %+v %v %v", env, m.Attributes, err)
	}
}
