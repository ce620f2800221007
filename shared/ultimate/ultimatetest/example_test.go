package ultimatetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

func Example() {
	// Our side: print every bot message.
	ours := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hook, err := ultimate.ParseWebhook(body)
		if err == nil && hook.Converse != nil {
			fmt.Printf("%s: %s\n", hook.Converse.EventType, hook.Converse.Text)
		}
	}))
	defer ours.Close()

	fake := ultimatetest.New(ultimatetest.Options{Agents: []ultimatetest.Agent{{
		ID: "618a30beee4e8e87d2f94015", APIKey: "key", WebhookURL: ours.URL,
		WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeHMAC}, WebhookSecret: "secret",
	}}})
	defer fake.Close()
	api := httptest.NewServer(fake.Handler())
	defer api.Close()

	for _, text := range []string{"hello", "buttons"} {
		body, _ := json.Marshal(ultimate.ChatEvent{PlatformConversationID: "web:acme:1", EventType: ultimate.EventMessage, Text: text})
		req, _ := http.NewRequest(http.MethodPost, api.URL+ultimatetest.ChatPath, strings.NewReader(string(body)))
		req.Header.Set("botid", "618a30beee4e8e87d2f94015")
		req.Header.Set("Authorization", "key")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	_ = fake.WaitIdle(context.Background())
	// Output:
	// sendMessage: Hi! I'm the demo AI agent. Type 'buttons', 'link' or 'carousel' to see rich content, or anything else and I'll echo it.
	// sendMessage: You said: hello
	// sendMessage: Pick one:
}
