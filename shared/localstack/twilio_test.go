package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
)

// A Twilio visitor of the demo account through the local stack: the
// simulator signs like Twilio, the bridge answers TwiML, the fake AI agent
// answers on its webhooks and the replies reach the fake Twilio API,
// rendered for SMS and WhatsApp; numbered answers and quick-reply taps map
// back; a handover goes to the demo desk; STOP ends the session.
func TestTwilioVisitorEndToEnd(t *testing.T) {
	number := fmt.Sprintf("1500555%04d", convSeq.Add(1)%10000)
	sim := func(action string, body any) {
		t.Helper()
		status, resp := post(t, stack.API+"/demo/twilio/"+number+"/"+action, body, nil)
		var r struct {
			Status int
			Answer string
		}
		_ = json.Unmarshal([]byte(resp), &r)
		if status != 200 || r.Status != 200 || !strings.Contains(r.Answer, "<Response>") {
			t.Fatalf("simulator %s: %d %s", action, status, resp)
		}
		drain(t)
	}
	received := func(to string) []string {
		var out []string
		for _, m := range stack.Twilio.Sent(to) {
			out = append(out, m.Body)
		}
		return out
	}
	first := "hello from " + number
	sim("sms", map[string]string{"text": first})
	pc := pcidOfText(t, first)
	if !strings.HasPrefix(pc, "twilio:"+localstack.DemoTwilioAccount+":tw") || strings.Contains(pc, number) {
		t.Fatalf("platformConversationId %s", pc)
	}
	var params map[string]string
	for _, r := range chats(pc) {
		if r.Chat.EventType == "startSession" {
			params = map[string]string{}
			for _, m := range r.Chat.MetaData {
				params[m.Key] = m.Value
			}
		}
	}
	if params["channel"] != "sms" || params["country"] != "US" {
		t.Fatalf("startSession parameters %v", params)
	}
	if got := received("+" + number); len(got) != 2 || got[0] != ultimatetest.WelcomeText || got[1] != "You said: "+first {
		t.Fatalf("the visitor received %q", got)
	}

	sim("sms", map[string]string{"text": "buttons"})
	if got := received("+" + number); got[len(got)-1] != "Pick one:\n1) Yes\n2) No" {
		t.Fatalf("buttons on SMS: %q", got[len(got)-1])
	}
	sim("sms", map[string]string{"text": "2"})
	if last := lastChat(pc); last.Text != "No" {
		t.Fatalf("a typed 2 reached the AI agent as %q", last.Text)
	}

	// getUserInfo: the channel and country, no number.
	status, body := webhook(t, "/webhooks/action", map[string]any{"botId": localstack.DemoAgentID, "platformConversationId": pc, "name": "getUserInfo", "data": []any{}})
	if status != 200 || !strings.Contains(body, `{"key":"channel","value":"sms"}`) || !strings.Contains(body, `{"key":"country","value":"US"}`) || strings.Contains(body, number) {
		t.Fatalf("getUserInfo: %d %s", status, body)
	}

	// WhatsApp: quick replies, and a tap.
	sim("whatsapp", map[string]string{"text": "hi on whatsapp " + number, "name": "Ada"})
	wpc := pcidOfText(t, "hi on whatsapp "+number)
	sim("whatsapp", map[string]string{"text": "buttons"})
	sent := stack.Twilio.Sent("whatsapp:+" + number)
	if last := sent[len(sent)-1]; last.ContentSid == "" || last.Body != "Pick one:" {
		t.Fatalf("buttons on WhatsApp: %+v", last)
	}
	sim("tap", map[string]string{"id": "o1", "text": "Yes"})
	if last := lastChat(wpc); last.Text != "Yes" {
		t.Fatalf("a tap reached the AI agent as %q", last.Text)
	}

	// A handover to the demo desk; the visitor's next message goes there.
	sim("sms", map[string]string{"text": "human"})
	conv := strings.TrimPrefix(pc, "twilio:"+localstack.DemoTwilioAccount+":")
	var escalated, forwarded bool
	for _, e := range stack.Desk.Inbox(conv) {
		escalated = escalated || e.Type == "escalation.requested"
	}
	if !escalated {
		t.Fatalf("the desk got %+v", stack.Desk.Inbox(conv))
	}
	if got := received("+" + number); !strings.Contains(strings.Join(got, "|"), "A colleague will text you shortly.") {
		t.Fatalf("no handover text: %q", got)
	}
	before := len(chats(pc))
	sim("sms", map[string]string{"text": "is anyone there?"})
	for _, e := range stack.Desk.Inbox(conv) {
		forwarded = forwarded || (e.Type == "visitor.message" && strings.Contains(string(e.Data), "is anyone there?"))
	}
	if !forwarded || len(chats(pc)) != before {
		t.Fatalf("during the handover: forwarded %v, AI agent calls %d → %d", forwarded, before, len(chats(pc)))
	}

	// STOP on WhatsApp needs Twilio's verdict; on SMS the keyword is enough.
	sim("whatsapp", map[string]string{"text": "STOP"})
	if last := lastChat(wpc); last.Text != "STOP" {
		t.Fatalf("WhatsApp STOP without OptOutType is text: %q", last.Text)
	}
	n := len(stack.Twilio.Sent("+" + number))
	sim("sms", map[string]string{"text": "STOP"})
	if last := chats(pc); last[len(last)-1].Chat == nil || last[len(last)-1].Chat.EventType != "endSession" {
		t.Fatalf("STOP: the AI agent's last event %+v, want endSession", last[len(last)-1].Chat)
	}
	if dl, _ := stack.Deps.State.DeadLetters(t.Context(), state.DeadOutbound, 50); hasRef(dl, pc) {
		t.Fatalf("a dead letter for %s: %+v", pc, dl)
	}
	if got := len(stack.Twilio.Sent("+" + number)); got != n {
		t.Fatalf("%d messages after STOP", got-n)
	}

	// closeConversation: the visitor's next message is a new conversation.
	status, body = webhook(t, "/webhooks/action", map[string]any{"botId": localstack.DemoAgentID, "platformConversationId": wpc, "name": "closeConversation", "data": []any{}})
	if status != 200 || body != `{"results":[]}` {
		t.Fatalf("closeConversation: %d %s", status, body)
	}
	sim("whatsapp", map[string]string{"text": "me again " + number})
	if again := pcidOfText(t, "me again "+number); again == wpc {
		t.Fatal("after closeConversation the visitor is still in the closed conversation")
	}
}

func pcidOfText(t *testing.T, text string) string {
	t.Helper()
	for _, r := range stack.Agent.Received() {
		if r.Chat != nil && r.Chat.EventType == "message" && r.Chat.Text == text {
			return r.Chat.PlatformConversationID
		}
	}
	t.Fatalf("the AI agent never got %q", text)
	return ""
}

func lastChat(pc string) struct{ Text, EventType string } {
	var out struct{ Text, EventType string }
	for _, r := range chats(pc) {
		if r.Chat != nil && r.Chat.EventType == "message" {
			out.Text, out.EventType = r.Chat.Text, r.Chat.EventType
		}
	}
	return out
}

func hasRef(dls []state.DeadLetter, pc string) bool {
	for _, d := range dls {
		if d.Ref["pcid"] == pc {
			return true
		}
	}
	return false
}

// The Twilio paths of each function use only the DynamoDB actions the
// template grants that function (the samples cannot reach them: a Twilio
// conversation's ID is random).
func TestTwilioPathsStayWithinTheirGrants(t *testing.T) {
	number := fmt.Sprintf("1500556%04d", convSeq.Add(1)%10000)
	text := "grants " + number
	if status, resp := post(t, stack.API+"/demo/twilio/"+number+"/sms", map[string]string{"text": text}, nil); status != 200 {
		t.Fatalf("%d %s", status, resp)
	}
	drain(t)
	pc := pcidOfText(t, text)
	tpl := loadTemplate(t)
	logical := map[string]string{}
	for l, fn := range functionOf {
		logical[fn] = l
	}
	agent := localstack.DemoAgentID
	calls := []struct {
		fn, path string
		body     any
	}{
		{route.WebhookMessage, "/webhooks/message", map[string]any{"botId": agent, "data": map[string]any{"eventType": "sendMessage", "platformConversationId": pc,
			"text": "Pick one", "buttons": []map[string]string{{"text": "Yes", "type": "button"}}, "messageId": "grants-" + number}}},
		{route.WebhookAction, "/webhooks/action", map[string]any{"botId": agent, "platformConversationId": pc, "name": "getUserInfo", "data": []any{}}},
		{route.WebhookEscalation, "/webhooks/escalation", map[string]any{"botId": agent, "data": map[string]any{"eventType": "escalate", "platformConversationId": pc}}},
		{route.WebhookAction, "/webhooks/action", map[string]any{"botId": agent, "platformConversationId": pc, "name": "closeConversation", "data": []any{}}},
	}
	for i, c := range calls {
		rec := &recordingDB{DynamoDB: stack.Serial}
		queues, err := stack.NewQueues(context.Background(), fmt.Sprintf("twg%d-%d", time.Now().UnixNano()%1e9, i), 6*stack.Opts.FunctionTimeout)
		if err != nil {
			t.Fatal(err)
		}
		cfg := stack.Deps.Config
		cfg.InboundQueueURL, cfg.OutboundQueueURL = queues.Inbound, queues.Outbound
		d := app.Build(cfg, rec, stack.SM, app.Options{Out: io.Discard, Service: "iam", Retry: &fast, SQS: stack.QueueClient(), Delivery: &fastDelivery})
		// The queue side too: what the call queued is delivered by the
		// function's own consumer, under the same recording.
		stop := consumeUnder(t, d, cfg, c.fn, localstack.RunOptions{})
		resp, err := d.Handlers(nil)[c.fn](context.Background(), webhookEvent(c.path, c.body, nil))
		if err != nil || resp.StatusCode != 200 {
			stop()
			t.Fatalf("%s: %d %s %v", c.fn, resp.StatusCode, resp.Body, err)
		}
		drain(t)
		stop()
		for table, lt := range map[string]string{stack.Opts.TenantsTable: "TenantsTable", stack.Opts.StateTable: "StateTable"} {
			granted := grants(t, tpl, logical[c.fn], lt)
			for op := range rec.ops[table] {
				if !slices.Contains(granted, op) {
					t.Errorf("%s (Twilio) performs %s on %s, not granted (%v)", c.fn, op, lt, granted)
				}
			}
		}
	}
}

// Twilio retries a webhook it got no answer to with the same MessageSid:
// the AI agent gets the message once.
func TestTwilioRetryReachesTheAgentOnce(t *testing.T) {
	number := fmt.Sprintf("+1500557%04d", convSeq.Add(1)%10000)
	text := "only once " + number
	sid := fmt.Sprintf("SM%032x", convSeq.Add(1)+0x5eed0000)
	v := twiliotest.Visitor{From: number, To: localstack.DemoTwilioNumber, Body: text, Extra: map[string]string{"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid}}
	url := stack.API + "/sources/twilio/" + localstack.DemoTwilioAccount
	for i := range 3 {
		// The fake makes a MessageSid of its own; Extra replaces it in
		// what it posts, as Twilio's retry carries the first one.
		_, status, body, err := stack.Twilio.Inbound(context.Background(), localstack.DemoTwilioAccount, url, v)
		if err != nil || status != 200 {
			t.Fatalf("delivery %d: %d %s %v", i, status, body, err)
		}
	}
	drain(t)
	pc := pcidOfText(t, text)
	n := 0
	for _, r := range chats(pc) {
		if r.Chat != nil && r.Chat.Text == text {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the AI agent got the message %d times, want once", n)
	}
}
