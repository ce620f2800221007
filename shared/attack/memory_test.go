package attack_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
)

// What an unauthenticated request names, for its cost.
const (
	malformed = iota // an ID no item can have: checked before any lookup
	unknown          // a well-formed ID of nothing configured: one read at most
	known            // a configured tenant with wrong credentials: cached reads
)

// flood is one kind of unauthenticated request, made distinct by i.
type flood struct {
	name string
	kind int
	req  func(e *env, i int) request
}

func hexID(i int) string { return fmt.Sprintf("f00d%020x", i) }

// floods covers every route that takes an ID, each with IDs of the three
// kinds. Malformed bot IDs are 1,000 bytes, every 50th 200 KB: the
// case of issue 8, where such posts grew the process by 660 KB each.
var floods = []flood{
	{"generic: unknown account", unknown, func(e *env, i int) request {
		return e.genericReq(fmt.Sprintf("acct-%d", i), tenantA.inboundKey, "evt-1", "message", genericMsg("c1"))
	}},
	{"generic: malformed account", malformed, func(e *env, i int) request {
		return request{method: "POST", path: "/sources/generic/" + strings.Repeat("a", 120) + fmt.Sprintf("%%0A%d", i), body: []byte(`{}`)}
	}},
	{"generic: bad signature", known, func(e *env, i int) request {
		r := e.genericA(fmt.Sprintf("evt-%d", i), fmt.Sprintf("c-%d", i))
		r.header["webhook-signature"] = "v1,AAAA"
		return r
	}},
	{"sunshine: unknown app", unknown, func(e *env, i int) request {
		return sunshineReq(hexID(i), "k", sunMessage(fmt.Sprintf("e-%d", i), "c", "hi"))
	}},
	{"sunshine: malformed app", malformed, func(e *env, i int) request {
		r := sunshineReq(tenantA.sunshine, "k")
		r.path = fmt.Sprintf("/sources/sunshine/app%%20%d", i)
		return r
	}},
	{"sunshine: wrong key", known, func(e *env, i int) request {
		return sunshineReq(tenantA.sunshine, fmt.Sprintf("guess-%d", i), sunMessage(fmt.Sprintf("e-%d", i), fmt.Sprintf("c-%d", i), "hi"))
	}},
	{"liveperson: unknown account", unknown, func(e *env, i int) request {
		return lpReq(lptest.Endpoint{Account: fmt.Sprintf("%d", 50000000+i), BotID: tenantA.lpBot}.Text("c1", 1, "hi"))
	}},
	{"liveperson: malformed conversation", malformed, func(e *env, i int) request {
		return lpReq(lptest.Endpoint{Account: tenantA.lp, BotID: tenantA.lpBot}.Text(fmt.Sprintf("c%%20%d", i), 1, "hi"))
	}},
	{"liveperson: no token", known, func(e *env, i int) request {
		return lpReq(lptest.Endpoint{Account: tenantA.lp, BotID: tenantA.lpBot, Authorization: fmt.Sprintf("Bearer x.y.%d", i)}.Text(fmt.Sprintf("c-%d", i), 1, "hi"))
	}},
}

func init() {
	for _, path := range []string{"/webhooks", "/webhooks/message", "/webhooks/escalation", "/webhooks/action"} {
		body := func(bot string, i int) []byte {
			pcid := pcidA(fmt.Sprintf("c-%d", i))
			switch path {
			case "/webhooks/escalation":
				return converse(bot, map[string]any{"eventType": "escalate", "platformConversationId": pcid})
			case "/webhooks/action":
				return actionCall(bot, fmt.Sprintf("act-%d", i), pcid)
			}
			return converse(bot, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid, "text": "hi", "messageId": fmt.Sprintf("m-%d", i)})
		}
		floods = append(floods,
			flood{path + ": unknown agent", unknown, func(e *env, i int) request {
				return signedWebhook(tenantA.scheme, "guess", path, body(hexID(i), i))
			}},
			flood{path + ": malformed botId", malformed, func(e *env, i int) request {
				n := 1000
				if i%50 == 0 {
					n = 200_000
				}
				bot := fmt.Sprintf("%d-", i) + strings.Repeat("b", n)
				return request{method: "POST", path: path, body: body(bot, i)}
			}},
			flood{path + ": wrong signature", known, func(e *env, i int) request {
				return signedWebhook(tenantA.scheme, fmt.Sprintf("guess-%d", i), path, body(agentA, i))
			}},
		)
	}
	floods = append(floods, flood{"$default: unknown paths", malformed, func(e *env, i int) request {
		return request{method: "POST", path: fmt.Sprintf("/probe-%d/admin", i)}
	}})
}

func genericMsg(conv string) generic.InboundData {
	return generic.InboundData{ConversationID: conv, Text: "hi"}
}

// TestAttackMemory: 10,000 unauthenticated requests with distinct IDs,
// spread over every route that takes one, grow the heap (after GC) by less
// than 10 MB. Malformed IDs cost no DynamoDB or Secrets Manager call; a
// well-formed ID of nothing configured costs one DynamoDB read and no
// secret; a configured tenant's cost is its cached items.
func TestAttackMemory(t *testing.T) {
	const n = 10_000
	w := newWorld(t)
	e := w.env(t, envOptions{discardLogs: true})
	tl := &tally{class: "memory"}
	var spent [3]cost
	run := func(i int, count bool) {
		f := floods[i%len(floods)]
		before := e.cost()
		a := e.do(f.req(e, i))
		if !count {
			return
		}
		c := e.cost().minus(before)
		spent[f.kind].db += c.db
		spent[f.kind].sm += c.sm
		spent[f.kind].dbWrites += c.dbWrites
		var problem string
		if !is4xxJSON(a) {
			problem = "not a 4xx JSON error"
		}
		tl.add(t, f.name, a, problem, secretsIn(a.body))
	}
	// Warm up: the configured tenants' items and secrets are cached, lazy
	// structures built; what follows is what distinct IDs cost.
	for i := range 4 * len(floods) {
		run(n+i, false)
	}
	before := heap()
	for i := range n {
		run(i, true)
	}
	growth := int64(heap()) - int64(before)
	runtime.KeepAlive(e)

	perKind := n / len(floods) // requests of each flood, about
	t.Logf("heap before %d KiB, after %d KiB; calls malformed %+v unknown %+v known %+v", before>>10, (int64(before)+growth)>>10, spent[malformed], spent[unknown], spent[known])
	if growth >= 10<<20 {
		t.Errorf("the heap grew by %d KiB for %d unauthenticated requests (limit 10 MiB)", growth>>10, n)
	}
	if c := spent[malformed]; c.db != 0 || c.sm != 0 {
		t.Errorf("malformed IDs cost %d DynamoDB and %d Secrets Manager calls", c.db, c.sm)
	}
	unknownFloods := 0
	for _, f := range floods {
		if f.kind == unknown {
			unknownFloods++
		}
	}
	if c := spent[unknown]; c.db > unknownFloods*(perKind+1) || c.sm != 0 {
		t.Errorf("unknown IDs cost %d DynamoDB reads (at most one each) and %d Secrets Manager calls", c.db, c.sm)
	}
	if c := spent[known]; c.db != 0 || c.sm != 0 {
		t.Errorf("wrong credentials of configured tenants cost %d DynamoDB and %d Secrets Manager calls once cached", c.db, c.sm)
	}
	for k, c := range spent {
		if c.dbWrites != 0 {
			t.Errorf("unauthenticated requests of kind %d wrote %d items", k, c.dbWrites)
		}
	}
	_, leaks, broken := e.logs.counts()
	tl.leaks += leaks + broken
	tl.note("heap_growth_kib=%d malformed_id_aws_calls=%d unknown_id_reads=%d secrets_reads=%d", growth>>10,
		spent[malformed].db+spent[malformed].sm, spent[unknown].db, spent[malformed].sm+spent[unknown].sm+spent[known].sm)
	tl.report(t)
}

// heap is the live heap after a full collection.
func heap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
