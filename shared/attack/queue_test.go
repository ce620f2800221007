package attack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/queue/queuetest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
)

// consumerEntry is a queue consumer of the durable delivery path: the
// record the bridge itself queues for a request (the control), and the
// queue it waits on.
type consumerEntry struct {
	name  string
	fn    string
	queue func(e *env) (*queuetest.Queue, string)
	// accept sends the request that queues a genuine record carrying
	// visitorText.
	accept func(e *env) answer
	// other is the kind of the other queue's records.
	other string
}

func consumerEntries() []consumerEntry {
	return []consumerEntry{
		{name: "source-inbound's queue", fn: route.SourceInbound, other: queue.KindOutbound,
			queue: func(e *env) (*queuetest.Queue, string) { return e.app.Inbound, apptest.InboundQueueURL },
			accept: func(e *env) answer {
				return e.do(e.genericReq(tenantA.generic, tenantA.inboundKey, fmt.Sprintf("evt-%d", e.next()), generic.TypeMessage,
					generic.InboundData{ConversationID: e.conv(), Text: visitorText}))
			}},
		{name: "webhook-message's queue", fn: route.WebhookMessage, other: queue.KindInbound,
			queue: func(e *env) (*queuetest.Queue, string) { return e.app.Outbound, apptest.OutboundQueueURL },
			accept: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/message", converse(agentA, map[string]any{"eventType": "sendMessage",
					"platformConversationId": pcidA(e.conv()), "text": visitorText, "messageId": fmt.Sprintf("m-%d", e.next())})))
			}},
	}
}

// tamper is one way a record's body can arrive other than the bridge wrote
// it: edit changes the decoded envelope, or raw replaces the body.
type tamper struct {
	name string
	edit func(env map[string]any, c consumerEntry)
	raw  func(body string) string
}

func set(k string, v any) func(map[string]any, consumerEntry) {
	return func(m map[string]any, _ consumerEntry) { m[k] = v }
}

func drop(k string) func(map[string]any, consumerEntry) {
	return func(m map[string]any, _ consumerEntry) { delete(m, k) }
}

func tampers() []tamper {
	pad := func(n int) func(map[string]any, consumerEntry) {
		return func(m map[string]any, _ consumerEntry) { m["pad"] = strings.Repeat("p", n) }
	}
	return []tamper{
		{name: "empty", raw: func(string) string { return "" }},
		{name: "not JSON", raw: func(b string) string { return b[:len(b)/2] }},
		{name: "a JSON array", raw: func(b string) string { return "[" + b + "]" }},
		{name: "two envelopes", raw: func(b string) string { return b + b }},
		{name: "nested 20,000 deep", raw: func(string) string { return strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) }},
		{name: "version 2", edit: set("v", 2)},
		{name: "no version", edit: drop("v")},
		{name: "version a string", edit: set("v", "1")},
		{name: "an unknown kind", edit: set("kind", "deleteEverything")},
		{name: "the other queue's kind", edit: func(m map[string]any, c consumerEntry) { m["kind"] = c.other }},
		{name: "kind with CR-LF", edit: func(m map[string]any, _ consumerEntry) { m["kind"] = fmt.Sprint(m["kind"]) + "\r\nX: 1" }},
		{name: "no pcid", edit: drop("pcid")},
		{name: "pcid with CR-LF", edit: func(m map[string]any, _ consumerEntry) { m["pcid"] = fmt.Sprint(m["pcid"]) + "\r\nX: 1" }},
		{name: "pcid with a dot segment", edit: set("pcid", pcidA(".."))},
		{name: "pcid 10k", edit: set("pcid", pcidA(huge.v))},
		{name: "pcid of an unknown source", edit: set("pcid", "ftp:"+tenantA.generic+":c-1")},
		{name: "pcid of an unknown account", edit: set("pcid", generic.Name+":nobody-here:c-1")},
		{name: "no data", edit: drop("data")},
		{name: "data a string", edit: set("data", "x")},
		{name: "data an array", edit: set("data", []any{1})},
		{name: "data without its event", edit: set("data", map[string]any{"agentId": agentA})},
		{name: "an event of the wrong shape", edit: set("data", map[string]any{"event": []any{visitorText}})},
		{name: "an unknown event", edit: set("data", map[string]any{"event": map[string]any{"Kind": "wipe", "eventType": "wipe", "Text": visitorText}})},
		{name: "enqueued a string", edit: set("enqueued", "yesterday")},
		// Larger than anything the bridge queues (its bodies are at most
		// 256 KiB), within what a dead letter can keep.
		{name: "300 KiB of an unknown kind", edit: func(m map[string]any, c consumerEntry) { pad(300<<10)(m, c); m["kind"] = "x" }},
		{name: "300 KiB without a pcid", edit: func(m map[string]any, c consumerEntry) { pad(300<<10)(m, c); delete(m, "pcid") }},
	}
}

// TestAttackQueueRecords: a record that reaches a queue consumer tampered
// with — not an envelope, another version or kind, a conversation ID that
// is malformed or names nothing configured, data of the wrong shape,
// oversized — is refused: kept as a dead letter (the record leaves the
// queue, the conversation goes on), no vendor called, no panic, and no log
// line or dead-letter reason holds its message text or a secret. The
// record as the bridge wrote it (the control) is delivered.
func TestAttackQueueRecords(t *testing.T) {
	w := newWorld(t)
	tl := &tally{class: "queue-records"}
	forbidden := []string{visitorText}
	for _, c := range consumerEntries() {
		e := w.env(t, envOptions{})
		q, url := c.queue(e)
		if a := c.accept(e); a.status != 200 {
			t.Fatalf("%s: the control was not accepted: %s", c.name, a)
		}
		bodies := q.Bodies()
		if len(bodies) != 1 {
			t.Fatalf("%s: %d records queued, want 1", c.name, len(bodies))
		}
		genuine := bodies[0]
		vendorBefore := w.vendor.count()
		if st := e.settle(); st.failed() || w.vendor.count() == vendorBefore {
			t.Fatalf("%s: the control was not delivered: %s, the vendor got %d requests", c.name, st, w.vendor.count()-vendorBefore)
		}
		for i, tp := range tampers() {
			body := genuine
			if tp.raw != nil {
				body = tp.raw(genuine)
			} else {
				var m map[string]any
				if err := json.Unmarshal([]byte(genuine), &m); err != nil {
					t.Fatal(err)
				}
				tp.edit(m, c)
				b, _ := json.Marshal(m)
				body = string(b)
			}
			err := q.SendMessage(context.Background(), queue.SendRequest{
				QueueURL: url, Body: body,
				GroupID: fmt.Sprintf("g-tampered-%d", i), DedupeID: fmt.Sprintf("d-tampered-%d", i),
			})
			if err != nil {
				t.Fatal(err)
			}
			linesBefore, vendorBefore, outsideBefore := len(e.logs.all()), w.vendor.count(), w.outside()
			st := e.settle()
			var problem string
			switch {
			case st.left != 0:
				problem = fmt.Sprintf("the record was not refused: %d waiting", st.left)
			case st.dead != 1:
				problem = fmt.Sprintf("the record left the queue without a dead letter (%d kept)", st.dead)
			case w.vendor.count() != vendorBefore || w.outside() != outsideBefore:
				problem = "a vendor was called"
			}
			leaks := 0
			for _, line := range e.logs.all()[linesBefore:] {
				if n := countAll(line, forbidden); n > 0 {
					leaks += n
					t.Errorf("%s %s: a log line holds the record's message text: %.300s", c.name, tp.name, line)
				}
			}
			tl.add(t, c.name+" "+tp.name, answer{fn: c.fn}, problem, leaks)
		}
		for _, it := range e.stateItems() {
			if _, dead := it["dlq"]; dead {
				if n := countAll(it["reason"], forbidden) + secretsIn(it["reason"]); n > 0 {
					tl.leaks += n
					t.Errorf("%s: a dead letter's reason holds message text or a secret: %s", c.name, it["reason"])
				}
			}
		}
		checkLogs(t, c.name, e)
	}
	tl.report(t)
}
