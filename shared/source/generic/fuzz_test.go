package generic

import (
	"errors"
	"net/http"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/source"
)

// FuzzParse checks that the inbound parser never panics, that every error is
// an *apigw.Error 400 (invalid_event, or invalid_id by the ids rules), and
// that an accepted event respects the
// limits the parser promises. Seeds (one per event type, and some broken
// ones) are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	a := New(nil, time.Now)
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		b, err := a.Parse(&apigw.Request{Method: http.MethodPost, Header: h, Body: body}, nil)
		if err != nil {
			var e *apigw.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || (e.Code != "invalid_event" && e.Code != "invalid_id") {
				t.Fatalf("error %v (%T) is not a 400 invalid_event or invalid_id", err, err)
			}
			return
		}
		if len(b.Events) != 1 {
			t.Fatalf("%d events", len(b.Events))
		}
		ev := b.Events[0]
		if ids.Conversation("c", ev.Conversation) != nil || ids.Event("id", ev.ID) != nil {
			t.Fatalf("conversation %q", ev.Conversation)
		}
		if utf8.RuneCountInString(ev.Text) > maxText || utf8.RuneCountInString(ev.LastMessage) > maxText {
			t.Fatalf("text of %d characters", utf8.RuneCountInString(ev.Text))
		}
		if (ev.Kind == source.Message || ev.Kind == source.AgentMessage) && ev.Text == "" {
			t.Fatal("message without text")
		}
		if ev.CardIndex != nil && (*ev.CardIndex < 0 || *ev.CardIndex > 100) {
			t.Fatalf("cardIndex %d", *ev.CardIndex)
		}
		if ev.Kind == source.Metadata && len(ev.User)+len(ev.Params) == 0 {
			t.Fatal("metadata without user or parameters")
		}
		if len(ev.User) > maxFields || len(ev.Params) > maxFields {
			t.Fatalf("%d user fields, %d parameters", len(ev.User), len(ev.Params))
		}
		if ev.Kind == source.AgentJoined && ev.Agent.Name == "" {
			t.Fatal("agent.joined without a name")
		}
		if len(ev.Queue.Position) > 64 || len(ev.Queue.WaitMinutes) > 64 {
			t.Fatalf("queue %+v", ev.Queue)
		}
	})
}
