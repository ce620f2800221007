package localstack_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
)

// LivePerson's Third-Party Bots calling the bridge for the demo account
// (App-JWTs signed with the demo key), the AI agent's answers reaching the
// fake Public API, and an escalation becoming a transfer to a skill.
func TestLivePersonConversationEndToEnd(t *testing.T) {
	conv := newConv("lp")
	sim := func(action string, body any) (int, string) {
		t.Helper()
		status, resp := post(t, stack.API+"/demo/liveperson/"+conv+"/"+action, body, nil)
		if status != 200 {
			t.Fatalf("simulator: %d %s", status, resp)
		}
		var r struct {
			Status int
			Answer json.RawMessage
		}
		_ = json.Unmarshal([]byte(resp), &r)
		return r.Status, string(r.Answer)
	}
	if status, answer := sim("create", map[string]string{"name": "Ada", "email": "ada@example.com"}); status != 200 {
		t.Fatalf("PUT conversation: %d %s", status, answer)
	}
	if status, answer := sim("create", nil); status != 409 {
		t.Fatalf("PUT of an existing conversation: %d %s, want 409", status, answer)
	}
	status, answer := sim("text", map[string]string{"text": "buttons"})
	if status != 200 || answer != `{"response":[],"analytics":{"intents":[]}}` {
		t.Fatalf("TEXT: %d %s", status, answer)
	}
	drain(t)
	pc := "liveperson:" + lptest.DemoAccount + ":" + conv
	var start *ultimatetest.Received
	for _, r := range chats(pc) {
		if r.Chat.EventType == "startSession" {
			r := r
			start = &r
		}
	}
	if start == nil {
		t.Fatal("the AI agent got no startSession")
	}
	var email string
	for _, m := range start.Chat.MetaData {
		if m.Key == "email" && m.Sanitize {
			email = m.Value
		}
	}
	if email != "ada@example.com" {
		t.Fatalf("startSession metaData %+v: want the SDES email, sanitized", start.Chat.MetaData)
	}
	msgs := lpCalls(t, conv, "messages")
	if len(msgs) != 2 || !strings.Contains(msgs[1], "quickReplies") || !strings.Contains(msgs[1], "Pick one:") {
		t.Fatalf("Public API messages: %q, want the welcome and quick replies", msgs)
	}
	sim("text", map[string]string{"text": "human"})
	drain(t)
	transfers := lpCalls(t, conv, "transfer")
	if len(transfers) != 1 || !strings.Contains(transfers[0], `"skill"`) {
		t.Fatalf("transfers: %q", transfers)
	}
	if got := lpCalls(t, conv, "messages"); !strings.Contains(strings.Join(got, " "), ultimatetest.EscalatedText) {
		t.Fatalf("the AI agent's escalation did not succeed: %q", got)
	}
	// The flow ends: the closeConversation action closes the LivePerson
	// conversation (the demo account allows it with closeOnEnd).
	status, body := webhook(t, "/webhooks/action", map[string]any{"botId": lptest.DemoAgentID, "platformConversationId": pc, "name": "closeConversation", "data": []any{}})
	if status != 200 || body != `{"results":[]}` {
		t.Fatalf("closeConversation: %d %s", status, body)
	}
	if closes := lpCalls(t, conv, "close"); len(closes) != 1 {
		t.Fatalf("close commands: %q", closes)
	}
}

func lpCalls(t *testing.T, conv, command string) []string {
	t.Helper()
	resp, err := http.Get(stack.API + "/demo/liveperson/" + conv)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var calls []struct {
		Command string
		Body    json.RawMessage
		Status  int
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &calls); err != nil {
		t.Fatalf("%d %q: %v", resp.StatusCode, raw, err)
	}
	var out []string
	for _, c := range calls {
		if c.Command == command {
			out = append(out, fmt.Sprintf("%d %s", c.Status, c.Body))
		}
	}
	return out
}
