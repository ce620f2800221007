package main

import (
	"context"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/crmbridge/crmbridge/shared/awscount"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
)

func TestCheckLoad(t *testing.T) {
	perConv := []int{3, 2}
	for _, tc := range []struct {
		name     string
		received []string
		want     loadCheck
	}{
		{"all, in order, interleaved", []string{"msg-0-0", "msg-1-0", "msg-0-1", "msg-1-1", "msg-0-2"}, loadCheck{}},
		{"one lost", []string{"msg-0-0", "msg-0-2", "msg-1-0", "msg-1-1"}, loadCheck{lost: 1}},
		{"one twice", []string{"msg-0-0", "msg-0-1", "msg-0-1", "msg-0-2", "msg-1-0", "msg-1-1"}, loadCheck{duplicated: 1}},
		{"one late", []string{"msg-0-1", "msg-0-0", "msg-0-2", "msg-1-0", "msg-1-1"}, loadCheck{outOfOrder: 1}},
		{"strangers ignored", []string{"You said: hi", "msg-9-0", "msg-0-7", "msg-0-0", "msg-0-1", "msg-0-2", "msg-1-0", "msg-1-1"}, loadCheck{}},
		{"nothing", nil, loadCheck{lost: 5}},
	} {
		if got := checkLoad(perConv, tc.received); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestScope(t *testing.T) {
	a := &attribution{}
	a.setQueues(localstack.Queues{Inbound: "http://q/in.fifo", Outbound: "http://q/out.fifo"})
	bg := context.Background()
	front := func(fn string) context.Context { return context.WithValue(bg, frontKey{}, fn) }
	batch := func(fn string) context.Context {
		return lambdacontext.NewContext(bg, &lambdacontext.LambdaContext{InvokedFunctionArn: functionPrefix + fn})
	}
	served := context.WithValue(bg, http.ServerContextKey, &http.Server{})
	in, out := aws.String("http://q/in.fifo"), aws.String("http://q/out.fifo")
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		params any
		want   string
	}{
		{"the benchmark's visitor request", front(route.SourceInbound), &dynamodb.GetItemInput{}, "source-inbound/http"},
		{"the benchmark's bot request sending to its queue", front(route.WebhookMessage), &sqs.SendMessageInput{QueueUrl: out}, "webhook-message/http"},
		{"a batch of source-inbound", batch(route.SourceInbound), &dynamodb.UpdateItemInput{}, "source-inbound/sqs"},
		{"a batch changing a record's visibility", batch(route.WebhookMessage), &sqs.ChangeMessageVisibilityInput{QueueUrl: out}, "webhook-message/sqs"},
		{"the AI agent's webhook, on the stack's server", served, &dynamodb.UpdateItemInput{}, stackServer},
		{"the inbound poller's receive", bg, &sqs.ReceiveMessageInput{QueueUrl: in}, "source-inbound/poller"},
		{"the outbound poller's delete", bg, &sqs.DeleteMessageBatchInput{QueueUrl: out}, "webhook-message/poller"},
		{"the benchmark's drain", bg, &sqs.GetQueueAttributesInput{QueueUrl: in}, ""},
		{"a receive on a queue no mapping polls", bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String("http://q/other.fifo")}, ""},
		{"setup", bg, &dynamodb.CreateTableInput{}, ""},
	} {
		if got := a.scope(tc.ctx, tc.params); got != tc.want {
			t.Errorf("%s: scope %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := (&attribution{}).scope(bg, &sqs.ReceiveMessageInput{QueueUrl: in}); got != "" {
		t.Errorf("before the queues are known: scope %q, want none", got)
	}
}

func TestPerMessageOf(t *testing.T) {
	c := func(rru, wru float64, received int, calls map[string]int) awscount.Counts {
		return awscount.Counts{Calls: calls, RRU: rru, WRU: wru, Received: received}
	}
	// Ten visitor messages in three batches, and their ten echoes, two of
	// them retried by the AI agent; counted while both ran.
	w := window{
		scopes: map[string]awscount.Counts{
			"source-inbound/http":    c(0, 10, 0, map[string]int{"DynamoDB.UpdateItem": 10, "SQS.SendMessage": 10}),
			"source-inbound/sqs":     c(10, 0, 0, map[string]int{"DynamoDB.GetItem": 10, "SQS.ChangeMessageVisibility": 1}),
			"source-inbound/poller":  c(0, 0, 10, map[string]int{"SQS.ReceiveMessage": 3, "SQS.DeleteMessageBatch": 3, awscount.EmptyReceive: 4}),
			stackServer:              c(0.5, 10, 0, map[string]int{"DynamoDB.UpdateItem": 10, "DynamoDB.GetItem": 1, "SQS.SendMessage": 10}),
			"webhook-message/poller": c(0, 0, 10, map[string]int{"SQS.ReceiveMessage": 5, "SQS.DeleteMessageBatch": 5}),
			"":                       c(0, 0, 0, map[string]int{"SQS.GetQueueAttributes": 40}),
		},
		requests:  map[string]int{route.SourceInbound: 10, route.WebhookMessage: 12},
		webhooks:  10,
		batchTook: map[string][]time.Duration{route.SourceInbound: {3 * time.Millisecond, 9 * time.Millisecond, 5 * time.Millisecond}},
	}
	took := []time.Duration{7 * time.Millisecond, 8 * time.Millisecond, 6 * time.Millisecond}
	for _, tc := range []struct {
		name string
		got  perMessage
		want perMessage
	}{
		{"visitor", perMessageOf("visitor", "at load", 10, route.SourceInbound, w, took), perMessage{
			http: 1, batches: 0.3, records: 10.0 / 3, ddb: 2, sqs: 1.7, idlePolls: 0.4, rru: 1, wru: 1,
			httpTook: 7 * time.Millisecond, httpTimed: 3, batchTook: 5 * time.Millisecond, batchTimed: 3,
		}},
		{"bot: the AI agent's webhooks and their retries", perMessageOf("bot", "at load", w.webhooks, route.WebhookMessage, w, nil), perMessage{
			http: 1.2, batches: 0.5, records: 2, ddb: 1.1, sqs: 2, rru: 0.05, wru: 1,
		}},
	} {
		g, want := tc.got, tc.want
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"http", g.http, want.http}, {"batches", g.batches, want.batches}, {"records", g.records, want.records},
			{"ddb", g.ddb, want.ddb}, {"sm", g.sm, want.sm}, {"sqs", g.sqs, want.sqs}, {"idlePolls", g.idlePolls, want.idlePolls},
			{"rru", g.rru, want.rru}, {"wru", g.wru, want.wru},
		} {
			if math.Abs(f.got-f.want) > 1e-9 {
				t.Errorf("%s: %s = %v, want %v", tc.name, f.name, f.got, f.want)
			}
		}
		if g.httpTook != want.httpTook || g.httpTimed != want.httpTimed || g.batchTook != want.batchTook || g.batchTimed != want.batchTimed {
			t.Errorf("%s: timings %v (%d), %v (%d); want %v (%d), %v (%d)", tc.name, g.httpTook, g.httpTimed, g.batchTook, g.batchTimed, want.httpTook, want.httpTimed, want.batchTook, want.batchTimed)
		}
		if g.unattributed != "" {
			t.Errorf("%s: unattributed %q, want none (the drain's calls are the benchmark's)", tc.name, g.unattributed)
		}
	}
	if err := perMessageOf("bot", "at load", 10, route.WebhookMessage, w, nil).check(); err == nil {
		t.Error("check passed a kind whose invocations were not timed")
	}
	w.scopes[""] = c(0, 0, 0, map[string]int{"SQS.GetQueueAttributes": 1, "DynamoDB.GetItem": 2})
	if got := perMessageOf("visitor", "", 10, route.SourceInbound, w, took).unattributed; got != "DynamoDB.GetItem×2" {
		t.Errorf("unattributed %q, want DynamoDB.GetItem×2", got)
	}
	if got := describe(w.scopes, route.WebhookMessage, 10); got != "HTTP (the AI agent's): DynamoDB.GetItem 0.10, DynamoDB.UpdateItem 1.00, SQS.SendMessage 1.00; poller: SQS.DeleteMessageBatch 0.50, SQS.ReceiveMessage 0.50" {
		t.Errorf("describe: %s", got)
	}
}

func TestCostPerMillion(t *testing.T) {
	ms := time.Millisecond
	perMS := 1e6 / 1000 * 0.25 * 0.0000133334 // 1 ms at 256 MB, per 1 M invocations
	for _, tc := range []struct {
		name string
		m    perMessage
		want []float64 // API Gateway, Lambda requests, Lambda duration, writes, reads, SQS, Secrets Manager
	}{
		{"one at a time", perMessage{http: 1, batches: 1, wru: 1, rru: 1, sqs: 3, httpTook: 7200 * time.Microsecond, batchTook: 4 * ms},
			[]float64{1, 0.4, (8 + 4) * perMS, 0.625, 0.125, 1.5, 0}},
		{"full batches", perMessage{http: 1, batches: 0.1, wru: 1, rru: 1, sqs: 1.2, httpTook: 8 * ms, batchTook: 40 * ms},
			[]float64{1, 0.22, (8 + 0.1*40) * perMS, 0.625, 0.125, 0.6, 0}},
		{"retried webhooks, a secret read", perMessage{http: 1.2, batches: 0.5, wru: 2, sqs: 2.2, sm: 0.01, httpTook: 10 * ms, batchTook: 2500 * time.Microsecond},
			[]float64{1.2, 0.34, (1.2*10 + 0.5*3) * perMS, 1.25, 0, 1.1, 0.05}},
	} {
		lines := costPerMillion(tc.m)
		if len(lines) != len(tc.want) {
			t.Fatalf("%s: %d lines, want %d", tc.name, len(lines), len(tc.want))
		}
		sum := 0.0
		for i, l := range lines {
			sum += tc.want[i]
			if math.Abs(l.usd-tc.want[i]) > 1e-9 {
				t.Errorf("%s: %s = $%v (%s), want $%v", tc.name, l.name, l.usd, l.basis, tc.want[i])
			}
		}
		if math.Abs(total(lines)-sum) > 1e-9 {
			t.Errorf("%s: total $%v, want $%v", tc.name, total(lines), sum)
		}
	}
}

func TestFloor(t *testing.T) {
	for _, tc := range []struct {
		records, want float64
	}{
		{1, 1 + 0.4 + 1.5 + 0.625},
		{10, 1 + 0.22 + 0.6 + 0.625},
		{math.Inf(1), 1 + 0.2 + 0.5 + 0.625},
	} {
		if got := floorPerMillion(tc.records); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("floor at %v records per batch: $%v, want $%v", tc.records, got, tc.want)
		}
	}
	x := recordsForGoal(3)
	if math.Abs(x-1.2/0.675) > 1e-9 || math.Abs(floorPerMillion(x)-3) > 1e-9 {
		t.Errorf("records for $3.00: %v (floor there $%v), want %v", x, floorPerMillion(x), 1.2/0.675)
	}
	if !math.IsInf(recordsForGoal(2), 1) {
		t.Errorf("a goal under the fixed part is met by no batch, got %v records", recordsForGoal(2))
	}
}

func TestBatchClock(t *testing.T) {
	c := newBatchClock(nil)
	t0 := time.Now()
	c.received([]string{"a", "b"}, t0)
	m := c.mark() // drops a and b: nothing is in flight when a window starts
	c.received([]string{"c", "d", "e"}, t0)
	c.received([]string{"f"}, t0.Add(time.Millisecond))
	c.deleted("p", []string{"a", "b"}, t0.Add(time.Second)) // dropped at the mark: not timed
	c.deleted("p", []string{"c", "e"}, t0.Add(5*time.Millisecond))
	c.deleted("p", []string{"f"}, t0.Add(3*time.Millisecond))
	c.deleted("p", []string{"c"}, t0.Add(9*time.Millisecond)) // deleted twice: timed once
	got := c.since(m)["p"]
	if want := []time.Duration{5 * time.Millisecond, 2 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
	if again := c.since(c.mark()); len(again) != 0 {
		t.Errorf("a new window holds %v, want nothing", again)
	}
}

func TestWebhookRequests(t *testing.T) {
	d := func(url string, statuses ...int) ultimatetest.Delivery {
		var as []ultimatetest.Attempt
		for _, s := range statuses {
			as = append(as, ultimatetest.Attempt{Status: s})
		}
		return ultimatetest.Delivery{URL: url, Attempts: as}
	}
	for _, tc := range []struct {
		name    string
		ds      []ultimatetest.Delivery
		want    int
		wantErr bool
	}{
		{"one each", []ultimatetest.Delivery{d("http://127.0.0.1:1/webhooks", 200), d("http://127.0.0.1:1/webhooks/message?token=x", 200)}, 2, false},
		{"a retry after a 500 is a second request", []ultimatetest.Delivery{d("http://127.0.0.1:1/webhooks", 500, 200)}, 2, false},
		{"an attempt with no answer never reached the stack", []ultimatetest.Delivery{d("http://127.0.0.1:1/webhooks", 0, 200)}, 1, false},
		{"a webhook to another function", []ultimatetest.Delivery{d("http://127.0.0.1:1/webhooks/escalation", 200)}, 0, true},
		{"none", nil, 0, false},
	} {
		n, err := webhookRequests(tc.ds)
		if (err != nil) != tc.wantErr || n != tc.want {
			t.Errorf("%s: %d, %v; want %d, error %v", tc.name, n, err, tc.want, tc.wantErr)
		}
	}
}

func TestMeasuredRecordsForGoal(t *testing.T) {
	at := func(records float64) perMessage {
		return perMessage{http: 1, batches: 1 / records, records: records, wru: 1, rru: 1, sqs: 1 + 2/records,
			httpTook: 8 * time.Millisecond, batchTook: 5 * time.Millisecond}
	}
	x := measuredRecordsForGoal(at(1.5), 3)
	if got := total(costPerMillion(at(x))); math.Abs(got-3) > 1e-9 {
		t.Fatalf("at %v records per batch the cost is $%v, want $3", x, got)
	}
	if !math.IsInf(measuredRecordsForGoal(at(1.5), 2), 1) {
		t.Fatal("a goal under the fixed part is met by no batch")
	}
}
