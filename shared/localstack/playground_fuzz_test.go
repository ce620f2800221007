package localstack

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/source/generic"
)

// FuzzPlaygroundRequest: whatever the page posts, the playground either
// names a problem or builds an event of an allowed type for a
// well-formed conversation ID that encodes and reads back.
func FuzzPlaygroundRequest(f *testing.F) {
	for _, s := range []string{
		`{"conversation":"pg-1","type":"message","text":"Choose Pro","cardIndex":1}`,
		`{"conversation":"pg-1","type":"agent.joined","agent":"Sam"}`,
		`{"conversation":"pg-1","type":"agent.queueUpdate","queuePosition":2,"waitMinutes":3}`,
		`{"conversation":"pg-1","type":"conversation.started"}`,
		`{"conversation":"pg-1","type":"widgetMessage","text":"thanks"}`,
		`{"conversation":"../x","type":"message","text":"x"}`,
		`{"conversation":"pg-1","type":"message","text":"x","cardIndex":-5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q pgSendRequest
		if json.Unmarshal(body, &q) != nil {
			return
		}
		if err := q.check(); err != nil {
			if err.Error() == "" {
				t.Fatal("a problem without a name")
			}
			return
		}
		if !pgConversationID.MatchString(q.Conversation) || !pgTypes[q.Type] {
			t.Fatalf("accepted %q / %q", q.Conversation, q.Type)
		}
		ev, err := generic.NewEvent(q.Type, q.data(), time.Unix(1764590400, 0))
		if err != nil {
			t.Fatalf("accepted %s but cannot encode it: %v", body, err)
		}
		var back struct {
			Type string
			Data generic.InboundData
		}
		if err := json.Unmarshal(ev, &back); err != nil || back.Type != q.Type || back.Data.ConversationID != q.Conversation {
			t.Fatalf("event %s does not read back (%v)", ev, err)
		}
		if back.Data.CardIndex != nil && (*back.Data.CardIndex < 0 || *back.Data.CardIndex > 99) {
			t.Fatalf("cardIndex %d passed", *back.Data.CardIndex)
		}
	})
}
