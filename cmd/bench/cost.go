package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// List prices, us-east-1, as of the date beside each (checked 2026-12-01
// against the sources; /work/shared/research/reliability-performance.md §6
// holds the research). The cost table multiplies them by measured counts.
var prices = []struct {
	name, unit, source string
	usd                float64
}{
	{"API Gateway HTTP API", "per request (first 300 M/month; 512 KB metering)", "https://aws.amazon.com/api-gateway/pricing/ (2026-11)", 1.00 / 1e6},
	{"Lambda requests", "per invocation", "https://aws.amazon.com/lambda/pricing/ (2026-11)", 0.20 / 1e6},
	{"Lambda duration, arm64", "per GB-second (first 7.5 B GB-s/month)", "https://aws.amazon.com/lambda/pricing/ (2026-11)", 0.0000133334},
	{"DynamoDB on-demand writes", "per write request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 2024-11 cut; 2026-11)", 0.625 / 1e6},
	{"DynamoDB on-demand reads", "per read request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/ (2026-11)", 0.125 / 1e6},
	{"SQS FIFO", "per request (64 KB chunk)", "https://aws.amazon.com/sqs/pricing/ ($0.50/M since 2016-11, unchanged 2026-03)", 0.50 / 1e6},
	{"Secrets Manager", "per API call", "https://aws.amazon.com/secrets-manager/pricing/ ($0.05 per 10,000; 2026-09)", 0.05 / 1e4},
}

func price(name string) float64 {
	for _, p := range prices {
		if p.name == name {
			return p.usd
		}
	}
	panic("no price " + name)
}

// Lambda as deployed (template.yaml): arm64, 256 MB; billed per 1 ms.
const lambdaGB = 256.0 / 1024

const costGoal = 3.00 // $ per 1 M visitor messages

// What a visitor message needs whatever the traffic: its HTTP API request
// (one invocation), its SQS send, the claim that makes its delivery
// durable (1 WRU: issue 12's design); and per batch of the event source
// mapping, whatever its size: one invocation, one receive, one delete.
const (
	floorRequests, floorWRU = 1.0, 1.0
	floorSends              = 1.0
	perBatchInvocations     = 1.0
	perBatchSQS             = 2.0 // receive, delete
)

// floorPerMillion is the least a visitor message can cost, in $ per 1 M,
// at a mean of records per batch: the needs above at list prices, before
// durations and reads.
func floorPerMillion(records float64) float64 {
	return 1e6 * (floorRequests*price("API Gateway HTTP API") +
		(floorRequests+perBatchInvocations/records)*price("Lambda requests") +
		(floorSends+perBatchSQS/records)*price("SQS FIFO") +
		floorWRU*price("DynamoDB on-demand writes"))
}

// recordsForGoal is the mean records per batch from which the floor is
// within the goal: solving floorPerMillion(x) = goal for x.
func recordsForGoal(goal float64) float64 {
	perBatch := 1e6 * (perBatchInvocations*price("Lambda requests") + perBatchSQS*price("SQS FIFO"))
	fixed := floorPerMillion(math.Inf(1))
	if goal <= fixed {
		return math.Inf(1)
	}
	return perBatch / (goal - fixed)
}

// measuredRecordsForGoal is the mean records per batch from which m's
// cost is within goal: m's lines with what a batch costs (its invocation,
// duration, receive and delete) shared by x records instead of m's.
func measuredRecordsForGoal(m perMessage, goal float64) float64 {
	perBatch := 1e6*(perBatchInvocations*price("Lambda requests")+perBatchSQS*price("SQS FIFO")) + billedMS(m.batchTook)*perMillionMS()
	fixed := total(costPerMillion(m)) - m.batches*perBatch
	if goal <= fixed {
		return math.Inf(1)
	}
	return perBatch / (goal - fixed)
}

// costLine is one line of the cost table per 1 M messages.
type costLine struct {
	name, basis string
	usd         float64
}

// billedMS is an invocation's billed duration: per started ms.
func billedMS(d time.Duration) float64 { return math.Ceil(float64(d) / float64(time.Millisecond)) }

// perMillionMS is what 1 ms of an invocation costs per 1 M invocations.
func perMillionMS() float64 { return 1e6 / 1000 * lambdaGB * price("Lambda duration, arm64") }

// costPerMillion prices one message kind from its measured counts: the
// API Gateway requests, the invocations (HTTP and batches) and their
// measured medians, DynamoDB units, SQS requests, Secrets Manager calls.
func costPerMillion(m perMessage) []costLine {
	httpMS, batchMS := billedMS(m.httpTook), billedMS(m.batchTook)
	return []costLine{
		{"API Gateway HTTP API", fmt.Sprintf("%.2f requests", m.http), 1e6 * m.http * price("API Gateway HTTP API")},
		{"Lambda requests", fmt.Sprintf("%.2f HTTP + %.2f batches", m.http, m.batches), 1e6 * (m.http + m.batches) * price("Lambda requests")},
		{"Lambda duration", fmt.Sprintf("(%.2f × %.0f ms + %.2f × %.0f ms) × %.3f GB", m.http, httpMS, m.batches, batchMS, lambdaGB), (m.http*httpMS + m.batches*batchMS) * perMillionMS()},
		{"DynamoDB writes", fmt.Sprintf("%.2f WRU", m.wru), 1e6 * m.wru * price("DynamoDB on-demand writes")},
		{"DynamoDB reads", fmt.Sprintf("%.2f RRU", m.rru), 1e6 * m.rru * price("DynamoDB on-demand reads")},
		{"SQS", fmt.Sprintf("%.2f requests", m.sqs), 1e6 * m.sqs * price("SQS FIFO")},
		{"Secrets Manager", fmt.Sprintf("%.2f calls", m.sm), 1e6 * m.sm * price("Secrets Manager")},
	}
}

func total(lines []costLine) float64 {
	t := 0.0
	for _, l := range lines {
		t += l.usd
	}
	return t
}

// costTable prices each column: a kind at a traffic.
func costTable(cols []perMessage, loadConcurrency int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Per 1 M messages of each kind, at list prices, from this run's counts and timings: one at a time (the AWS calls step: every batch holds 1 record) and at the load run's traffic (its visitor messages and the AI agent's echo of each, counted while they ran, every call to the function that made it). Invocations are billed per started ms: an HTTP invocation its kind's median round trip one at a time, in both columns (a Lambda execution environment serves one invocation at a time; in the load run this machine's 2 cores serve %d requests at once beside the emulators, and the round trip, its answer p50, is mostly that wait); a batch its measured median at that traffic, from the poller's receive to its delete (at load including the same contention). The AI agent and the platform answer on loopback here, so a slow AI agent adds its wait: every 100 ms of an invocation adds $%.3f per 1 M invocations.\n\n", loadConcurrency, 100*perMillionMS())
	b.WriteString("| line |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s, %s |", c.kind, c.traffic)
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	tables := make([][]costLine, len(cols))
	for i, c := range cols {
		tables[i] = costPerMillion(c)
	}
	for row := range tables[0] {
		fmt.Fprintf(&b, "| %s |", tables[0][row].name)
		for i := range cols {
			fmt.Fprintf(&b, " $%.3f (%s) |", tables[i][row].usd, tables[i][row].basis)
		}
		b.WriteString("\n")
	}
	b.WriteString("| **total** |")
	for i := range cols {
		fmt.Fprintf(&b, " **$%.2f** |", total(tables[i]))
	}
	fmt.Fprintf(&b, "\n\n%s", floorSentence())
	for _, c := range cols {
		if strings.HasPrefix(c.kind, "visitor") && c.batches > 0 && c.records > 1 {
			fmt.Fprintf(&b, " With this run's reads and durations (%s, %s), the goal needs %.2f records per batch.", c.kind, c.traffic, measuredRecordsForGoal(c, costGoal))
		}
	}
	b.WriteString("\n")
	b.WriteString("\nPrices:\n\n| item | unit | $ | source (date) |\n|---|---|---|---|\n")
	for _, p := range prices {
		fmt.Fprintf(&b, "| %s | %s | %.10g | %s |\n", p.name, p.unit, p.usd, p.source)
	}
	b.WriteString("\nSQS counts the requests that carry messages (send, receive, delete, visibility changes); the pollers' empty receives are idle polling, billed per queue whatever the traffic (Lambda's event source mapping keeps about 5 long polls of 20 s open: ≈ 650 k requests, $0.32 per queue-month), and are left out per message.\n")
	b.WriteString("\nNot included: CloudWatch Logs ingestion, data transfer out, the free tiers, the fixed $0.40 per secret-month, idle queue polling and table storage.\n")
	return b.String()
}

// floorSentence states the one-record floor and the batch the goal needs,
// from the price constants.
func floorSentence() string {
	return fmt.Sprintf("With one record per batch a visitor message cannot cost less than $%.3f per 1 M (1 API Gateway request, 2 invocations: the request and its batch, 3 SQS requests: send, receive, delete, and the claim's 1 WRU; durations and reads on top), above the $%.2f goal: the event source mapping's invocation, receive and delete are paid per batch, so the goal needs batches of %.2f records or more on average, which only traffic brings (the mappings have no batching window: a message never waits for a batch to fill).", floorPerMillion(1), costGoal, recordsForGoal(costGoal))
}
