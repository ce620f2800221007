package attack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/source/generic"
)

// What the traffic of TestAttackLogs carries that no log line may hold.
const (
	// visitorText is in every message a visitor or the AI agent sends, in
	// button titles and action parameters.
	visitorText = "VISITOR-SAYS-3b9d"
	// visitorEmail is a visitor's profile field (a session parameter
	// marked sanitize).
	visitorEmail = "grace.hopper@example.org"
)

// echoing answers every request with status and an error body that holds
// an e-mail address and echoes the request, as vendors' error pages do.
func echoing(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		msg, _ := json.Marshal(fmt.Sprintf("user %s is not allowed; you sent: %s", piiEmail, b))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "0")
		w.Header().Set("X-Debug-User", piiEmail)
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"error":{"code":"invalid_request","message":%s}}`, msg)
	}
}

// notJSON answers 200 with a body that is not what the caller reads, and
// holds an e-mail address.
func notJSON(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	_, _ = fmt.Fprintf(w, "<html>Hello %s, you sent %s</html>", piiEmail, b)
}

// traffic is representative work for every function: visitors' messages
// on each platform (a new conversation with a profile, text, a desk
// agent's message), the AI agent's replies with buttons, handovers, team
// checks, widget messages and actions.
func traffic(e *env) []request {
	a := tenantA
	conv := e.conv()
	gen := func(typ string, data generic.InboundData) request {
		data.ConversationID = conv
		return e.genericReq(a.generic, a.inboundKey, fmt.Sprintf("evt-%d", e.next()), typ, data)
	}
	hook := func(path string, body []byte) request { return webhook(a, path, body) }
	say := func(pcid string) []byte {
		return converse(agentA, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid, "messageId": fmt.Sprintf("m-%d", e.next()),
			"text": "bot: " + visitorText, "buttons": []any{map[string]any{"type": "button", "text": "yes " + visitorText}}})
	}
	pcid := pcidA(conv)
	sunConv, lpConv := e.conv(), e.conv()
	return []request{
		gen(generic.TypeConversationStarted, generic.InboundData{Text: "hi " + visitorText, User: map[string]string{"email": visitorEmail, "name": "Grace"}}),
		gen(generic.TypeMessage, generic.InboundData{Text: visitorText}),
		gen(generic.TypeMetadata, generic.InboundData{User: map[string]string{"email": visitorEmail}}),
		gen(generic.TypeAgentJoined, generic.InboundData{Agent: &generic.AgentInfo{Name: "Sam"}}),
		gen(generic.TypeAgentMessage, generic.InboundData{Text: "desk: " + visitorText}),
		sunshineReq(a.sunshine, a.sunWebhook, sunMessage(fmt.Sprintf("evt-%d", e.next()), sunConv, visitorText)),
		lpReq(e.lpEndpoint(a).Text(lpConv, 1, visitorText)),
		hook("/webhooks/message", say(pcid)),
		hook("/webhooks", say("sunshine:"+a.sunshine+":"+sunConv)),
		hook("/webhooks/message", say("liveperson:"+a.lp+":"+lpConv)),
		hook("/webhooks/message", converse(agentA, map[string]any{"eventType": "widgetMessage", "platformConversationId": pcid, "text": visitorText})),
		hook("/webhooks/escalation", converse(agentA, map[string]any{"eventType": "isTeamOnline", "teamId": "desk"})),
		hook("/webhooks/action", actionCall(agentA, "lookup", pcid, param("id", "o-1"), param("ref", "r1"), param("note", visitorText+" "+visitorEmail))),
		hook("/webhooks", actionCall(agentA, "forward", pcid, param("note", visitorText))),
		hook("/webhooks/action", actionCall(agentA, "tags", "sunshine:"+a.sunshine+":"+sunConv, param("tags", "vip"))),
		hook("/webhooks/escalation", converse(agentA, map[string]any{"eventType": "escalate", "platformConversationId": "sunshine:" + a.sunshine + ":" + sunConv})),
		hook("/webhooks/escalation", converse(agentA, map[string]any{"eventType": "escalate", "platformConversationId": "liveperson:" + a.lp + ":" + lpConv})),
		hook("/webhooks/escalation", converse(agentA, map[string]any{"eventType": "widgetEscalate", "platformConversationId": pcidA(e.conv())})),
		hook("/webhooks/escalation", converse(agentA, map[string]any{"eventType": "escalate", "platformConversationId": pcid})),
	}
}

// stateItems reads every item of the State table as attribute → JSON.
func stateItems(t *testing.T, e *env) []map[string]string {
	t.Helper()
	out, err := e.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(apptest.StateTable)})
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]string
	for _, it := range out.Items {
		var m map[string]any
		if err := attributevalue.UnmarshalMap(it, &m); err != nil {
			t.Fatal(err)
		}
		flat := map[string]string{}
		for k, v := range m {
			b, _ := json.Marshal(v)
			flat[k] = string(b)
		}
		items = append(items, flat)
	}
	return items
}

// TestAttackLogs: at DEBUG, with vendors that answer well, that refuse
// with error bodies holding an e-mail address and an echo of the request,
// that fail and ask to retry, or that answer garbage, no log line holds
// message text, a visitor's profile data, a vendor's answer or a secret;
// no dead letter holds a vendor's answer, and a dead letter's reason holds
// neither message text nor personal data (its payload keeps the event for
// replay, which is what it is for). Nor does any answer of the bridge
// carry a vendor's answer.
func TestAttackLogs(t *testing.T) {
	w := newWorld(t)
	t.Cleanup(func() { w.vendor.set(vendorOK) })
	tl := &tally{class: "logs"}
	forbidden := []string{visitorText, visitorEmail, piiEmail, "you sent"}
	var lines, deadLetters, failures int
	for _, mode := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"vendors answer", vendorOK},
		{"400 with an echo", echoing(400)},
		{"422 with an echo", echoing(422)},
		{"409 with an echo", echoing(409)},
		{"500 with an echo", echoing(500)},
		{"429 with an echo", echoing(429)},
		{"200, not JSON", notJSON},
	} {
		w.vendor.set(mode.h)
		e := w.env(t, envOptions{})
		for _, r := range traffic(e) {
			a := e.do(r)
			if a.status >= 400 {
				failures++
			}
			leaks := countAll(a.body, []string{piiEmail, "you sent", visitorEmail}) + secretsIn(a.body)
			tl.add(t, mode.name+" "+r.method+" "+r.path, a, "", leaks)
			// Let retries' backoff and leases expire between requests.
			e.clock.Add(time.Second)
		}
		for _, line := range e.logs.all() {
			lines++
			if n := countAll(line, forbidden); n > 0 {
				tl.leaks += n
				t.Errorf("%s: a log line holds message text, personal data or a vendor's answer: %s", mode.name, line)
			}
		}
		_, secretLeaks, broken := e.logs.counts()
		tl.leaks += secretLeaks + broken
		for _, it := range stateItems(t, e) {
			if n := countAll(fmt.Sprint(it), []string{piiEmail, "you sent"}); n > 0 {
				tl.leaks += n
				t.Errorf("%s: a vendor's answer was stored: %v", mode.name, it)
			}
			if _, dead := it["dlq"]; !dead {
				continue
			}
			deadLetters++
			for k, v := range it {
				if k == "payload" {
					continue
				}
				if n := countAll(v, forbidden); n > 0 {
					tl.leaks += n
					t.Errorf("%s: dead letter attribute %s holds message text or personal data: %s", mode.name, k, v)
				}
			}
		}
	}
	// The test saw what it is about: failures, kept as dead letters.
	if failures == 0 || deadLetters == 0 {
		t.Errorf("no failures (%d) or no dead letters (%d): the traffic did not exercise the failure paths", failures, deadLetters)
	}
	tl.note("log_lines=%d dead_letters=%d failed_requests=%d", lines, deadLetters, failures)
	tl.report(t)
}
