package attack_test

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

// The entry points: every route of every function, as API Gateway
// delivers requests to them, each with the places an attacker can put an
// ID or a credential (slots). Each slot builds a request for tenant A that
// the bridge accepts with a good value (the control), so a refusal of a
// bad value is the input rules' doing and nothing else's.
//
// A queue consumer of the durable delivery path is one more entry: its
// slots' deliver hands an SQS record to the consumer and maps the outcome
// to an answer (a record refused as bad input is a dead letter naming the
// field), its fn the function whose handler consumes the queue.

// badValue is one thing an attacker puts where an ID goes.
type badValue struct{ name, v string }

var (
	over    = badValue{"over-long", strings.Repeat("x", 300)}
	huge    = badValue{"10k", strings.Repeat("y", 10_000)}
	crlf    = badValue{"CR-LF", "a\r\nX-Injected: 1"}
	lf      = badValue{"LF", "a\nb"}
	nul     = badValue{"NUL", "a\x00b"}
	del     = badValue{"DEL", "a\x7fb"}
	nonUTF8 = badValue{"non-UTF-8", "a\xffb"}
	space   = badValue{"space", "a b"}
	slash   = badValue{"slash", "a/b"}
	dotdot  = badValue{"..", ".."}
	dot     = badValue{".", "."}
	empty   = badValue{"empty", ""}
)

// The bad values of each kind of slot.
var (
	// pathIDs go in a path segment of the route (percent-encoded).
	pathIDs = []badValue{over, huge, crlf, lf, nul, del, nonUTF8, space, slash, dotdot, dot}
	// bodyIDs are event and message IDs in a JSON body (non-UTF-8 does not
	// survive JSON: decoders replace it).
	bodyIDs = []badValue{over, huge, crlf, lf, nul, del, space}
	// headerIDs are IDs in a header.
	headerIDs = []badValue{over, huge, crlf, lf, nul, del, space, nonUTF8}
	// conversations end up in platform API paths: no dot segments either.
	conversations = []badValue{over, huge, crlf, lf, nul, del, dotdot, dot}
	// credentials are secrets presented in a header.
	credentials = []badValue{over, huge, crlf, nul, empty}
)

// probe is one request an attacker can send to an entry point.
type probe struct {
	name string
	send func(e *env) answer
	// want are the words of which the JSON error must hold one (the field
	// or the rule); any size refusal names its limit.
	want []string
	// free: refused before any DynamoDB or Secrets Manager call.
	free bool
}

// slot is a place in an entry point's requests.
type slot struct {
	field string
	want  []string // default: field
	good  func(e *env) string
	bad   []badValue
	free  bool
	// place builds the HTTP request with v in the slot.
	place func(e *env, v string) request
	// deliver, for an entry that is not an HTTP route (a queue consumer),
	// hands it the unit of work with v in the slot and reports the outcome
	// as an answer: a 4xx JSON error naming the field for bad input.
	deliver func(e *env, v string) answer
}

func (s slot) send(e *env, v string) answer {
	if s.deliver != nil {
		return s.deliver(e, v)
	}
	return e.do(s.place(e, v))
}

// entry is one way in.
type entry struct {
	name  string
	fn    string // the function that serves it
	slots []slot
	// probes are the entry's requests that are not a value in a slot.
	probes []probe
}

func (s slot) names() []string {
	if len(s.want) > 0 {
		return s.want
	}
	return []string{s.field}
}

// control is the slot's request with its good value.
func (s slot) control() probe {
	return probe{name: s.field + "=good", send: func(e *env) answer { return s.send(e, s.good(e)) }}
}

// probes expands the slot's bad values.
func (s slot) probes() []probe {
	out := make([]probe, 0, len(s.bad))
	for _, b := range s.bad {
		out = append(out, probe{name: s.field + "=" + b.name, want: s.names(), free: s.free,
			send: func(e *env) answer { return s.send(e, b.v) }})
	}
	return out
}

// asSigned is the good value of a credential slot: the request as its
// sender signs it.
const asSigned = "\x00as-signed"

func fixed(v string) func(*env) string { return func(*env) string { return v } }

func unique(prefix string) func(*env) string {
	return func(e *env) string { return fmt.Sprintf("%s-%d", prefix, e.next()) }
}

// pcid is a conversation of tenant A's generic account.
func pcidA(conv string) string { return generic.Name + ":" + tenantA.generic + ":" + conv }

func (e *env) conv() string { return fmt.Sprintf("c-%d", e.next()) }

// genericA is a signed generic message of tenant A.
func (e *env) genericA(id, conv string) request {
	return e.genericReq(tenantA.generic, tenantA.inboundKey, id, generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "hello"})
}

// genericRaw is tenant A's generic account receiving body, signed.
func (e *env) genericRaw(body string) request {
	id, at := fmt.Sprintf("evt-%d", e.next()), e.clock.Now()
	return request{method: "POST", path: "/sources/generic/" + tenantA.generic, header: stdwebhook.Headers(tenantA.inboundKey, id, at, []byte(body)), body: []byte(body)}
}

// webhookProbes are the malformed payloads every webhook route refuses
// before it looks anything up, and a well-formed one that names no
// conversation where one is required.
func webhookProbes(path string) []probe {
	raw := func(body string) func(e *env) answer {
		return func(e *env) answer { return e.do(webhook(tenantA, path, []byte(body))) }
	}
	return []probe{
		{name: "not JSON", want: []string{"body"}, free: true, send: raw(`{"botId":`)},
		{name: "a JSON array", want: []string{"body"}, free: true, send: raw(`[]`)},
		{name: "no data", want: []string{"data"}, free: true, send: raw(`{"botId":"` + agentA + `"}`)},
		{name: "data a string", want: []string{"data"}, free: true, send: raw(`{"botId":"` + agentA + `","data":"x"}`)},
		{name: "botId a number", want: []string{"botId"}, free: true, send: raw(`{"botId":1,"data":{"eventType":"sendMessage"}}`)},
		{name: "no eventType", want: []string{"eventType"}, free: true, send: raw(`{"botId":"` + agentA + `","data":{}}`)},
		{name: "an unknown eventType", want: []string{"eventType"}, free: true, send: raw(`{"botId":"` + agentA + `","data":{"eventType":"deleteEverything\r\n"}}`)},
		{name: "text of the wrong type", want: []string{"data.text"}, free: true,
			send: raw(`{"botId":"` + agentA + `","data":{"eventType":"sendMessage","platformConversationId":"generic:acme-a:c1","text":{"x":1}}}`)},
	}
}

// entries is the table of entry points. Adding one is adding a row.
func entries() []entry {
	sendMessage := func(bot, pcid, msgID string) []byte {
		return converse(bot, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid, "type": "text", "text": "hello", "messageId": msgID})
	}
	escalate := func(bot, pcid, to string) []byte {
		return converse(bot, map[string]any{"eventType": "escalate", "platformConversationId": pcid, "escalateTo": to})
	}
	// The slots every webhook route has: the botId, the three parts of the
	// platformConversationId, the credential.
	webhookSlots := func(path string, body func(e *env, bot, pcid string) []byte) []slot {
		return []slot{
			{field: "botId", good: fixed(agentA), bad: []badValue{over, huge, crlf, nul, del, space, slash, dotdot, empty, {"upper-case", strings.ToUpper(agentA)}}, free: true,
				place: func(e *env, v string) request { return webhook(tenantA, path, body(e, v, pcidA(e.conv()))) }},
			{field: "platformConversationId", good: func(e *env) string { return e.conv() }, bad: conversations, free: true,
				place: func(e *env, v string) request { return webhook(tenantA, path, body(e, agentA, pcidA(v))) }},
			{field: "platformConversationId", want: []string{"platformConversationId"}, good: fixed(tenantA.generic),
				bad: []badValue{over, crlf, nul, space, slash, dotdot, dot}, free: true,
				place: func(e *env, v string) request {
					return webhook(tenantA, path, body(e, agentA, generic.Name+":"+v+":"+e.conv()))
				}},
			{field: "platformConversationId", good: fixed(generic.Name), bad: []badValue{over, crlf, nul, space, dotdot, {"upper-case", "GENERIC"}, empty}, free: true,
				place: func(e *env, v string) request {
					return webhook(tenantA, path, body(e, agentA, v+":"+tenantA.generic+":"+e.conv()))
				}},
			{field: "X-Signature", want: []string{"authentication", "credentials"}, good: fixed(asSigned), bad: credentials,
				place: func(e *env, v string) request {
					r := webhook(tenantA, path, body(e, agentA, pcidA(e.conv())))
					if v != asSigned {
						r.header["X-Signature"] = v
					}
					return r
				}},
		}
	}
	messageSlots := func(path string) []slot {
		s := webhookSlots(path, func(e *env, bot, pcid string) []byte { return sendMessage(bot, pcid, fmt.Sprintf("m-%d", e.next())) })
		s = append(s, slot{field: "data.messageId", good: unique("m"), bad: bodyIDs, free: true,
			place: func(e *env, v string) request { return webhook(tenantA, path, sendMessage(agentA, pcidA(e.conv()), v)) }})
		// Conversations of the platforms whose API paths hold them.
		for _, acct := range []string{"sunshine:" + tenantA.sunshine, "liveperson:" + tenantA.lp} {
			s = append(s, slot{field: "platformConversationId", good: func(e *env) string { return e.conv() }, bad: conversations, free: true,
				place: func(e *env, v string) request {
					return webhook(tenantA, path, sendMessage(agentA, acct+":"+v, fmt.Sprintf("m-%d", e.next())))
				}})
		}
		return s
	}
	lpText := func(e *env, mutate func(ep *lptest.Endpoint) (conv string)) request {
		ep := e.lpEndpoint(tenantA)
		conv := e.conv()
		if mutate != nil {
			if c := mutate(&ep); c != "" {
				conv = c
			}
		}
		return lpReq(ep.Text(conv, 1, "hello"))
	}
	return []entry{
		{name: "POST /sources/generic/{account}", fn: route.SourceInbound, slots: []slot{
			{field: "source", good: fixed(generic.Name), bad: pathIDs, free: true, place: func(e *env, v string) request {
				r := e.genericA(fmt.Sprintf("evt-%d", e.next()), e.conv())
				r.path = "/sources/" + url.PathEscape(v) + "/" + tenantA.generic
				return r
			}},
			{field: "account", good: fixed(tenantA.generic), bad: pathIDs, free: true, place: func(e *env, v string) request {
				r := e.genericA(fmt.Sprintf("evt-%d", e.next()), e.conv())
				r.path = "/sources/generic/" + url.PathEscape(v)
				return r
			}},
			{field: "webhook-id", good: unique("evt"), bad: headerIDs, place: func(e *env, v string) request { return e.genericA(v, e.conv()) }},
			{field: "data.conversationId", good: func(e *env) string { return e.conv() }, bad: conversations,
				place: func(e *env, v string) request { return e.genericA(fmt.Sprintf("evt-%d", e.next()), v) }},
		}, probes: []probe{
			{name: "not JSON", want: []string{"body"}, send: func(e *env) answer { return e.do(e.genericRaw(`{"type":`)) }},
			{name: "unknown type", want: []string{"type"}, send: func(e *env) answer {
				return e.do(e.genericRaw(`{"type":"conversation.hijacked","data":{"conversationId":"c1"}}`))
			}},
			{name: "data not an object", want: []string{"data"}, send: func(e *env) answer { return e.do(e.genericRaw(`{"type":"message","data":[1]}`)) }},
			{name: "GET", want: []string{"allowed", "POST"}, free: true, send: func(e *env) answer {
				return e.do(request{method: "GET", path: "/sources/generic/" + tenantA.generic})
			}},
			{name: "a sub-path", want: []string{"sub-path", "route"}, free: true, send: func(e *env) answer {
				r := e.genericA(fmt.Sprintf("evt-%d", e.next()), e.conv())
				r.path += "/admin"
				return e.do(r)
			}},
		}},
		{name: "POST /sources/sunshine/{account}", fn: route.SourceInbound, slots: []slot{
			{field: "account", good: fixed(tenantA.sunshine), bad: pathIDs, free: true, place: func(e *env, v string) request {
				r := sunshineReq(tenantA.sunshine, tenantA.sunWebhook, sunMessage(fmt.Sprintf("evt-%d", e.next()), e.conv(), "hello"))
				r.path = "/sources/sunshine/" + url.PathEscape(v)
				return r
			}},
			{field: "events[0].id", good: unique("evt"), bad: bodyIDs, place: func(e *env, v string) request {
				return sunshineReq(tenantA.sunshine, tenantA.sunWebhook, sunMessage(v, e.conv(), "hello"))
			}},
			{field: "conversation.id", good: func(e *env) string { return e.conv() }, bad: append(conversations, space), place: func(e *env, v string) request {
				return sunshineReq(tenantA.sunshine, tenantA.sunWebhook, sunMessage(fmt.Sprintf("evt-%d", e.next()), v, "hello"))
			}},
			{field: "app.id", good: fixed(tenantA.sunshine), bad: []badValue{crlf, huge, {"another app", tenantB.sunshine}}, place: func(e *env, v string) request {
				r := sunshineReq(v, tenantA.sunWebhook, sunMessage(fmt.Sprintf("evt-%d", e.next()), e.conv(), "hello"))
				r.path = "/sources/sunshine/" + tenantA.sunshine
				return r
			}},
			{field: "X-API-Key", good: fixed(tenantA.sunWebhook), bad: credentials, place: func(e *env, v string) request {
				return sunshineReq(tenantA.sunshine, v, sunMessage(fmt.Sprintf("evt-%d", e.next()), e.conv(), "hello"))
			}},
		}, probes: []probe{
			{name: "not JSON", want: []string{"body"}, send: func(e *env) answer {
				return e.do(request{method: "POST", path: "/sources/sunshine/" + tenantA.sunshine, header: map[string]string{"x-api-key": tenantA.sunWebhook}, body: []byte(`{"events":`)})
			}},
			{name: "no events", want: []string{"events"}, send: func(e *env) answer { return e.do(sunshineReq(tenantA.sunshine, tenantA.sunWebhook)) }},
			{name: "an event that is not an object", want: []string{"events[0]"}, send: func(e *env) answer {
				return e.do(request{method: "POST", path: "/sources/sunshine/" + tenantA.sunshine, header: map[string]string{"x-api-key": tenantA.sunWebhook}, body: []byte(`{"events":["x"]}`)})
			}},
			{name: "GET", want: []string{"allowed", "POST"}, free: true, send: func(e *env) answer {
				return e.do(request{method: "GET", path: "/sources/sunshine/" + tenantA.sunshine})
			}},
			{name: "a sub-path", want: []string{"sub-path"}, free: true, send: func(e *env) answer {
				r := sunshineReq(tenantA.sunshine, tenantA.sunWebhook, sunMessage(fmt.Sprintf("evt-%d", e.next()), e.conv(), "hello"))
				r.path += "/x"
				return e.do(r)
			}},
		}},
		{name: "ANY /sources/liveperson/{account}/{proxy+}", fn: route.SourceInbound, slots: []slot{
			{field: "account", good: fixed(tenantA.lp), bad: pathIDs, free: true, place: func(e *env, v string) request {
				r := lpText(e, nil)
				r.path = "/sources/liveperson/" + url.PathEscape(v) + strings.TrimPrefix(r.path, "/sources/liveperson/"+tenantA.lp)
				return r
			}},
			{field: "botId", good: fixed(tenantA.lpBot), bad: []badValue{over, huge, crlf, nul, del, nonUTF8, space, dotdot, dot}, free: true,
				place: func(e *env, v string) request {
					return lpText(e, func(ep *lptest.Endpoint) string { ep.BotID = url.PathEscape(v); return "" })
				}},
			{field: "environment", good: fixed("draft"), bad: []badValue{over, huge, crlf, nul, del, nonUTF8, space, dotdot, dot}, free: true,
				place: func(e *env, v string) request {
					return lpText(e, func(ep *lptest.Endpoint) string { ep.Env = url.PathEscape(v); return "" })
				}},
			{field: "convId", good: func(e *env) string { return e.conv() }, bad: []badValue{over, huge, crlf, nul, del, nonUTF8, space}, free: true,
				place: func(e *env, v string) request {
					return lpText(e, func(*lptest.Endpoint) string { return url.PathEscape(v) })
				}},
			// Dot segments pass the adapter's own convId pattern; the one
			// set of conversation rules refuses them once the caller is
			// authenticated.
			{field: "convId", want: []string{"conversation"}, good: func(e *env) string { return e.conv() }, bad: []badValue{dotdot, dot},
				place: func(e *env, v string) request {
					return lpText(e, func(*lptest.Endpoint) string { return url.PathEscape(v) })
				}},
			{field: "Authorization", want: []string{"token", "Bearer"}, good: func(e *env) string { return e.lpEndpoint(tenantA).Authorization }, bad: credentials,
				place: func(e *env, v string) request {
					return lpText(e, func(ep *lptest.Endpoint) string { ep.Authorization = v; return "" })
				}},
		}, probes: []probe{
			{name: "an operation the API does not have", want: []string{"route"}, free: true, send: func(e *env) answer {
				r := lpText(e, nil)
				r.path = strings.Replace(r.path, "/events", "/delete", 1)
				return e.do(r)
			}},
			{name: "another API version", want: []string{"version"}, free: true, send: func(e *env) answer {
				r := lpText(e, nil)
				r.path = strings.Replace(r.path, "/v1/", "/v2/", 1)
				return e.do(r)
			}},
			{name: "GET on events", want: []string{"allowed", "POST"}, free: true, send: func(e *env) answer {
				r := lpText(e, nil)
				r.method = "GET"
				return e.do(r)
			}},
			{name: "no sub-path", want: []string{"route", "bots"}, free: true, send: func(e *env) answer {
				return e.do(request{method: "POST", path: "/sources/liveperson/" + tenantA.lp})
			}},
			{name: "events body not an object", want: []string{"body", "object"}, send: func(e *env) answer {
				r := lpText(e, nil)
				r.body = []byte(`[1,2]`)
				return e.do(r)
			}},
		}},
		{name: "POST /webhooks/message", fn: route.WebhookMessage, slots: messageSlots("/webhooks/message"), probes: append(webhookProbes("/webhooks/message"),
			probe{name: "an escalation at the message route", want: []string{"go to"}, free: true, send: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/message", escalate(agentA, pcidA(e.conv()), "")))
			}},
			probe{name: "an action at the message route", want: []string{"go to"}, free: true, send: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/message", actionCall(agentA, "lookup", "")))
			}})},
		{name: "POST /webhooks", fn: route.WebhookMessage, probes: webhookProbes("/webhooks"), slots: append(messageSlots("/webhooks"),
			slot{field: "data.escalateTo", good: fixed("sales"), bad: []badValue{over, huge, crlf, nul, del}, free: true,
				place: func(e *env, v string) request {
					return webhook(tenantA, "/webhooks", escalate(agentA, pcidA(e.conv()), v))
				}})},
		{name: "POST /webhooks/escalation", fn: route.WebhookEscalation, probes: append(webhookProbes("/webhooks/escalation"),
			probe{name: "a message at the escalation route", want: []string{"go to"}, free: true, send: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/escalation", sendMessage(agentA, pcidA(e.conv()), "m-x")))
			}},
			probe{name: "a handover without a conversation", want: []string{"platformConversationId"}, send: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/escalation", converse(agentA, map[string]any{"eventType": "escalate"})))
			}}), slots: append(
			webhookSlots("/webhooks/escalation", func(e *env, bot, pcid string) []byte { return escalate(bot, pcid, "") }),
			slot{field: "data.escalateTo", good: fixed("sales"), bad: []badValue{over, huge, crlf, nul, del}, free: true,
				place: func(e *env, v string) request {
					return webhook(tenantA, "/webhooks/escalation", escalate(agentA, pcidA(e.conv()), v))
				}},
			slot{field: "data.teamId", good: fixed("default"), bad: []badValue{over, huge, crlf, nul, del}, free: true,
				place: func(e *env, v string) request {
					return webhook(tenantA, "/webhooks/escalation", converse(agentA, map[string]any{"eventType": "isTeamOnline", "teamId": v}))
				}},
		)},
		{name: "POST /webhooks/action", fn: route.WebhookAction, probes: append(webhookProbes("/webhooks/action"),
			probe{name: "a converse event at the action route", want: []string{"go to"}, free: true, send: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/action", escalate(agentA, pcidA(e.conv()), "")))
			}},
			probe{name: "an unknown action", want: []string{"nosuch"}, send: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/action", actionCall(agentA, "nosuch", pcidA(e.conv()))))
			}},
			probe{name: "a parameter without a key", want: []string{"data[0].key"}, free: true, send: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/action", actionCall(agentA, "lookup", pcidA(e.conv()), param("", "x"))))
			}},
			probe{name: "a built-in without a conversation", want: []string{"platformConversationId"}, send: func(e *env) answer {
				return e.do(webhook(tenantA, "/webhooks/action", actionCall(agentA, "tags", "")))
			}}), slots: append(
			webhookSlots("/webhooks/action", func(e *env, bot, pcid string) []byte {
				return actionCall(bot, "lookup", pcid, param("id", "o-1"), param("ref", "r1"), param("note", "n"))
			}),
			slot{field: "name", good: fixed("lookup"), bad: []badValue{over, huge, crlf, nul, del, space, slash}, free: true,
				place: func(e *env, v string) request {
					return webhook(tenantA, "/webhooks/action", actionCall(agentA, v, pcidA(e.conv()), param("id", "o-1")))
				}},
			// Placeholder values: a path segment, a header, a JSON string.
			slot{field: "data.id", good: fixed("o-1"), bad: []badValue{dotdot, dot, empty, crlf, nul, del, {"3000 characters", strings.Repeat("i", 3000)}},
				place: func(e *env, v string) request {
					return webhook(tenantA, "/webhooks/action", actionCall(agentA, "lookup", pcidA(e.conv()), param("id", v), param("ref", "r1"), param("note", "n")))
				}},
			slot{field: "data.ref", good: fixed("r1"), bad: []badValue{crlf, lf, nul, del, {"header injection", "r1\r\nX-Api-Key: stolen"}},
				place: func(e *env, v string) request {
					return webhook(tenantA, "/webhooks/action", actionCall(agentA, "lookup", pcidA(e.conv()), param("id", "o-1"), param("ref", v), param("note", "n")))
				}},
			slot{field: "data.note", good: fixed("n"), bad: []badValue{crlf, nul},
				place: func(e *env, v string) request {
					return webhook(tenantA, "/webhooks/action", actionCall(agentA, "lookup", pcidA(e.conv()), param("id", "o-1"), param("ref", "r1"), param("note", v)))
				}},
		)},
		{name: "$default", fn: route.SourceInbound, probes: []probe{
			{name: "unknown path", want: []string{"route"}, free: true, send: func(e *env) answer { return e.do(request{method: "POST", path: "/admin"}) }},
			{name: "sources without an account", want: []string{"route"}, free: true, send: func(e *env) answer { return e.do(request{method: "POST", path: "/sources/generic"}) }},
			{name: "dot segments", want: []string{"route"}, free: true, send: func(e *env) answer {
				return e.do(request{method: "POST", path: "/webhooks/../sources/generic/" + tenantA.generic})
			}},
			{name: "CR-LF in the path", want: []string{"route"}, free: true, send: func(e *env) answer { return e.do(request{method: "GET", path: "/a%0D%0AX-Injected:%201"}) }},
			{name: "NUL in the path", want: []string{"route"}, free: true, send: func(e *env) answer { return e.do(request{method: "GET", path: "/a%00b"}) }},
			{name: "10k path", want: []string{"route"}, free: true, send: func(e *env) answer { return e.do(request{method: "GET", path: "/" + huge.v}) }},
			{name: "GET /webhooks", want: []string{"allowed", "POST"}, free: true, send: func(e *env) answer { return e.do(request{method: "GET", path: "/webhooks"}) }},
			{name: "DELETE /webhooks/action", want: []string{"allowed", "POST"}, free: true, send: func(e *env) answer {
				return e.do(request{method: "DELETE", path: "/webhooks/action"})
			}},
			{name: "PUT /webhooks/escalation", want: []string{"allowed", "POST"}, free: true, send: func(e *env) answer {
				return e.do(request{method: "PUT", path: "/webhooks/escalation"})
			}},
		}},
	}
}
