package localstack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
)

// A Zendesk messaging visitor through the demo Sunshine app: the fake
// SunCo API delivers the webhooks, the AI agent answers, the answers are
// posted back as business messages, and "human" passes control to the
// Agent Workspace.
func TestSunshineConversationEndToEnd(t *testing.T) {
	sc := stack.Sunshine
	conv := fmt.Sprintf("%024x", convSeq.Add(1)+0xabc000)
	user := "u-" + conv[:8]
	secret := sunshineWebhookSecret(t)
	target := stack.API + "/sources/sunshine/" + localstack.DemoSunshineApp
	ctx := context.Background()
	if status, err := sc.Deliver(ctx, target, secret, sc.ConversationCreated(conv, user, "message"), sc.UserText(conv, user, "buttons")); err != nil || status != 200 {
		t.Fatalf("deliver: %d %v", status, err)
	}
	drain(t)
	msgs := sc.BusinessMessages(conv)
	if len(msgs) != 2 {
		t.Fatalf("SunCo got %d business messages, want the welcome and the buttons: %v", len(msgs), msgs)
	}
	content := fmt.Sprint(msgs[1])
	if !strings.Contains(content, "Pick one:") || !strings.Contains(content, "reply") {
		t.Fatalf("buttons rendered as %s, want a text with reply actions", content)
	}
	if status, err := sc.Deliver(ctx, target, secret, sc.UserText(conv, user, "human")); err != nil || status != 200 {
		t.Fatalf("deliver: %d %v", status, err)
	}
	drain(t)
	c, _ := sc.Conversation(conv)
	if c.Active == nil || c.Active.IntegrationType != "zd:agentWorkspace" {
		t.Fatalf("control after escalation: %+v", c.Active)
	}
	texts := fmt.Sprint(sc.BusinessMessages(conv))
	if !strings.Contains(texts, ultimatetest.EscalatedText) {
		t.Fatalf("the AI agent's escalation did not succeed: %s", texts)
	}
	// While the Agent Workspace has it, SunCo delivers standby events we ignore.
	if status, err := sc.Deliver(ctx, target, secret, sc.UserText(conv, user, "are you a human?")); err != nil || status != 200 {
		t.Fatalf("deliver: %d %v", status, err)
	}
	drain(t)
	for _, r := range chats("sunshine:" + localstack.DemoSunshineApp + ":" + conv) {
		if r.Chat != nil && r.Chat.Text == "are you a human?" {
			t.Fatal("a message for the human reached the AI agent")
		}
	}
}

func sunshineWebhookSecret(t *testing.T) string {
	t.Helper()
	sf, err := tenant.ReadSecretFile("../../events/tenant/secret-source-sunshine-demo.json")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(sf.SecretString, `"webhookSecret":"`)
	rest := sf.SecretString[i+len(`"webhookSecret":"`):]
	return rest[:strings.Index(rest, `"`)]
}
