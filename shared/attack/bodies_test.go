package attack_test

import (
	"fmt"
	"strings"
	"testing"
)

// bodyShapes are authenticated bodies of the wrong shape: types confused,
// nulls where objects go, nesting past any decoder's patience, numbers out
// of range. A signed body is still the caller's mistake: a 4xx naming it,
// never a panic or a 5xx.
func bodyShapes() map[string][]string {
	deep := strings.Repeat(`{"a":`, 20_000) + "1" + strings.Repeat("}", 20_000)
	deepArr := strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000)
	pcid := `"generic:acme-a:c-shape"`
	conv := func(data string) string { return `{"botId":"` + agentA + `","channel":"chat","data":` + data + `}` }
	act := func(data string) string {
		return `{"botId":"` + agentA + `","name":"lookup","platformConversationId":` + pcid + `,"data":` + data + `}`
	}
	common := []string{"", "null", "0", `"x"`, "[]", "{}", deep, deepArr, "\xff\xfe", `{"a":1}{"b":2}`}
	return map[string][]string{
		"/webhooks/message": append(common,
			conv(`{"eventType":"sendMessage","platformConversationId":123}`),
			conv(`{"eventType":"sendMessage","platformConversationId":`+pcid+`,"buttons":"x"}`),
			conv(`{"eventType":"sendMessage","platformConversationId":`+pcid+`,"buttons":[null,1,"x"]}`),
			conv(`{"eventType":"sendMessage","platformConversationId":`+pcid+`,"carouselCards":[null,{"buttons":[null]}]}`),
			conv(`{"eventType":"sendMessage","platformConversationId":`+pcid+`,"confidence":"high"}`),
			conv(`{"eventType":"sendMessage","platformConversationId":`+pcid+`,"confidence":1e999}`),
			conv(`{"eventType":["sendMessage"]}`),
			conv(`{"eventType":"sendMessage","platformConversationId":`+pcid+`,"type":"carousel","carouselCards":[]}`),
			conv(`{"eventType":"widgetMessage","platformConversationId":`+pcid+`,"text":null}`),
			`{"botId":null,"data":{"eventType":"sendMessage"}}`,
			`{"botId":"`+agentA+`","data":{"eventType":"sendMessage"},"data":[]}`,
		),
		"/webhooks/escalation": append(common,
			conv(`{"eventType":"escalate","platformConversationId":`+pcid+`,"escalateTo":{"a":1}}`),
			conv(`{"eventType":"isTeamOnline","teamId":7}`),
			conv(`{"eventType":"widgetEscalate","platformConversationId":null}`),
		),
		"/webhooks/action": append(common,
			act(`[null]`), act(`[{"key":"id","value":{"a":1}}]`), act(`[{"key":"id","value":[[1]]}]`),
			act(`[{"key":1}]`), act(`[{"key":"id","value":["a","b"],"saveAs":{"x":1}}]`), act(`{"key":"id"}`),
			act(`[{"key":"id","value":1e999}]`),
			`{"botId":"`+agentA+`","name":["lookup"],"data":[]}`,
		),
		"/sources/generic/acme-a": append(common,
			`{"type":"message","data":{"conversationId":1,"text":"hi"}}`,
			`{"type":"message","data":{"conversationId":"c","text":["hi"]}}`,
			`{"type":"message","data":{"conversationId":"c","text":"hi","cardIndex":1e999}}`,
			`{"type":"message","data":{"conversationId":"c","text":"hi","cardIndex":-1}}`,
			`{"type":"conversation.started","data":{"conversationId":"c","user":{"a":{"b":1}}}}`,
			`{"type":"conversation.started","data":{"conversationId":"c","parameters":[1]}}`,
			`{"type":"metadata","data":{"conversationId":"c","user":{"n":1e999}}}`,
			`{"type":"agent.joined","data":{"conversationId":"c","agent":"Sam"}}`,
			`{"type":"agent.queueUpdate","data":{"conversationId":"c","queuePosition":{"a":1}}}`,
			`{"type":["message"],"data":{}}`,
		),
		"/sources/sunshine/aaaa0000000000000005a0a1": append(common,
			`{"events":{}}`, `{"events":[null]}`, `{"events":[{"id":"e1","type":"conversation:message","payload":null}]}`,
			`{"events":[{"id":"e1","type":"conversation:message","payload":{"conversation":{"id":"c"},"message":null}}]}`,
			`{"events":[{"id":"e1","type":"conversation:message","payload":{"conversation":{"id":"c"},"message":{"author":{"type":"user"},"content":{"type":"carousel","items":"x"}}}}]}`,
			`{"events":[{"id":"e1","type":"conversation:postback","payload":{"conversation":{"id":"c"},"postback":{"payload":{"a":1}}}}]}`,
			`{"events":[{"id":"e1","type":"conversation:create","payload":{"conversation":{"id":"c"},"user":{"profile":[]}}}]}`,
			`{"events":[{"id":"e1","type":"switchboard:passControl","payload":{"conversation":{"id":"c"},"metadata":"x"}}]}`,
			`{"app":"x","events":[]}`,
		),
	}
}

// send signs body as the sender of path does.
func (e *env) signed(path, body string) request {
	switch {
	case strings.HasPrefix(path, "/webhooks"):
		return webhook(tenantA, path, []byte(body))
	case strings.HasPrefix(path, "/sources/generic/"):
		return e.genericRaw(body)
	default:
		return request{method: "POST", path: path, header: map[string]string{"x-api-key": tenantA.sunWebhook}, body: []byte(body)}
	}
}

// lpShapes are LivePerson event bodies of the wrong shape, with a valid
// token.
var lpShapes = []string{
	"", "null", "[]", `{"type":7}`, `{"type":"TEXT","data":null}`, `{"type":"TEXT","data":{"message":{"a":1}}}`,
	`{"type":"RICH_CONTENT","data":{"content":"x"}}`, `{"type":"RICH_CONTENT","data":{"content":{"elements":[null,{"click":7}]}}}`,
	`{"type":"START","data":{"lastConsumerMessage":[1]}}`, `{"type":"CONVERSATION","data":{"state":{}}}`,
	`{"type":"TEXT","data":{"message":"hi"},"context":{"lpEvent":{"sequence":"x","metadata":"y"}}}`,
	`{"type":"TEXT","data":{"message":"hi"},"context":[]}`, `{"type":"CLOSE_CONVERSATION","context":{"lpEvent":null}}`,
}

// TestAttackBodies: no body, however malformed, makes the bridge panic or
// answer 5xx once its sender is authenticated: it is the caller's mistake.
func TestAttackBodies(t *testing.T) {
	w := newWorld(t)
	tl := &tally{class: "bodies"}
	e := w.env(t, envOptions{})
	check := func(what string, a answer) {
		var problem string
		if a.panicked == nil && (a.status < 400 || a.status > 499) && a.status != 200 {
			problem = "not a 4xx (nor a 200 for a body that is harmless as it is)"
		}
		if a.status >= 400 {
			if _, _, ok := a.problem(); !ok {
				problem = "not a JSON error"
			}
		}
		tl.add(t, what, a, problem, secretsIn(a.body))
	}
	for path, bodies := range bodyShapes() {
		for i, b := range bodies {
			check(fmt.Sprintf("%s body %d %.60q", path, i, b), e.do(e.signed(path, b)))
		}
		// The single URL classifies what the function routes refuse.
		if strings.HasPrefix(path, "/webhooks/") {
			for i, b := range bodies {
				check(fmt.Sprintf("/webhooks body %d of %s", i, path), e.do(webhook(tenantA, "/webhooks", []byte(b))))
			}
		}
	}
	for i, b := range lpShapes {
		r := lpReq(e.lpEndpoint(tenantA).Text(e.conv(), 1, "x"))
		r.body = []byte(b)
		check(fmt.Sprintf("liveperson body %d %q", i, b), e.do(r))
		r.method, r.path = "PUT", strings.TrimSuffix(r.path, "/events")
		check(fmt.Sprintf("liveperson PUT body %d %q", i, b), e.do(r))
	}
	checkLogs(t, "bodies", e)
	tl.report(t)
}
