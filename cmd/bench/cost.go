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

// invocationsPerMessage: every kind measured goes through a queue, so a
// message is two invocations (the HTTP request that queues it, the event
// source mapping's batch that delivers it), at one record per batch (the
// least favourable: low traffic; a full batch of 10 makes it 1.1). The
// consumer's invocation is billed the HTTP side's measured time.
const invocationsPerMessage = 2.0

// costLine is one line of the cost table per 1 M messages.
type costLine struct {
	name, basis string
	usd         float64
}

// costPerMillion prices one message kind from its measured counts:
// invocations and their measured duration, DynamoDB units, SQS requests,
// Secrets Manager calls; the API Gateway request that brought it.
func costPerMillion(m perMessage, invocations float64) []costLine {
	billedMS := math.Ceil(float64(m.took) / float64(time.Millisecond))
	return []costLine{
		{"API Gateway HTTP API", "1 request", 1e6 * price("API Gateway HTTP API")},
		{"Lambda requests", fmt.Sprintf("%.2f invocations", invocations), 1e6 * invocations * price("Lambda requests")},
		{"Lambda duration", fmt.Sprintf("%.2f × %.0f ms × %.3f GB", invocations, billedMS, lambdaGB), 1e6 * invocations * billedMS / 1000 * lambdaGB * price("Lambda duration, arm64")},
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

func costTable(kinds []perMessage) string {
	var b strings.Builder
	b.WriteString("Per 1 M messages of each kind, at list prices, from this run's counts (the AWS calls step) and the function's measured median invocation time on the local stack (billed per started ms; the AI agent and platform answer on loopback here, so a slow AI agent adds its wait: +100 ms of wait adds $0.33 per 1 M visitor messages).\n\n")
	b.WriteString("| line | ")
	for _, k := range kinds {
		b.WriteString(k.kind + " | ")
	}
	b.WriteString("\n|---|")
	for range kinds {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	tables := make([][]costLine, len(kinds))
	for i, k := range kinds {
		tables[i] = costPerMillion(k, invocationsPerMessage)
	}
	for row := range tables[0] {
		fmt.Fprintf(&b, "| %s |", tables[0][row].name)
		for i := range kinds {
			fmt.Fprintf(&b, " $%.3f (%s) |", tables[i][row].usd, tables[i][row].basis)
		}
		b.WriteString("\n")
	}
	b.WriteString("| **total** |")
	for i := range kinds {
		fmt.Fprintf(&b, " **$%.2f** |", total(tables[i]))
	}
	b.WriteString("\n\nPrices:\n\n| item | unit | $ | source (date) |\n|---|---|---|---|\n")
	for _, p := range prices {
		fmt.Fprintf(&b, "| %s | %s | %.10g | %s |\n", p.name, p.unit, p.usd, p.source)
	}
	b.WriteString("\nSQS counts the requests that carry messages (send, receive, delete, visibility changes); the pollers' empty receives are idle polling, billed per queue whatever the traffic (Lambda's event source mapping keeps about 5 long polls of 20 s open: ≈ 650 k requests, $0.32 per queue-month), and are left out per message.\n")
	b.WriteString("\nNot included: CloudWatch Logs ingestion, data transfer out, the free tiers, the fixed $0.40 per secret-month, idle queue polling and table storage.\n")
	return b.String()
}
