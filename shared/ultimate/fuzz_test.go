package ultimate

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParseWebhook checks that ParseWebhook never panics, that what it
// accepts satisfies the Webhook invariants (a botId, exactly one of Converse
// and Action matching Kind), that the cheap peeks agree with it, and that an
// accepted action survives a marshal/parse round trip. Errors must be
// *FieldError values. Seeds are in testdata/fuzz/FuzzParseWebhook.
func FuzzParseWebhook(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := ParseWebhook(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if w != nil {
				t.Fatalf("error %v with a webhook %+v", err, w)
			}
			return
		}
		checkInvariants(t, w)
		if id, err := PeekBotID(body); err != nil || id != w.BotID {
			t.Fatalf("PeekBotID = %q, %v; ParseWebhook said %q", id, err, w.BotID)
		}
		kind, et, err := PeekKind(body)
		if err != nil || kind != w.Kind {
			t.Fatalf("PeekKind = %v, %v; ParseWebhook said %v", kind, err, w.Kind)
		}
		if w.Kind == KindConverse && et != w.Converse.EventType {
			t.Fatalf("PeekKind eventType %q, ParseWebhook %q", et, w.Converse.EventType)
		}
		if w.Kind == KindAction {
			b, err := json.Marshal(w.Action)
			if err != nil {
				t.Fatalf("marshal action: %v", err)
			}
			again, err := ParseWebhook(b)
			if err != nil {
				t.Fatalf("re-parse %s: %v", b, err)
			}
			if !reflect.DeepEqual(again.Action, w.Action) {
				t.Fatalf("round trip changed the action:\n%+v\n%+v", w.Action, again.Action)
			}
		}
	})
}

// FuzzPeekKind checks that PeekKind never panics, answers a known kind or a
// *FieldError, and never contradicts ParseWebhook. Seeds are in
// testdata/fuzz/FuzzPeekKind.
func FuzzPeekKind(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		kind, et, err := PeekKind(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if kind != 0 || et != "" {
				t.Fatalf("error %v with kind %v, eventType %q", err, kind, et)
			}
			if w, perr := ParseWebhook(body); perr == nil {
				t.Fatalf("PeekKind failed (%v) where ParseWebhook accepted %+v", err, w)
			}
			return
		}
		if kind != KindConverse && kind != KindAction {
			t.Fatalf("kind %v", kind)
		}
		if kind == KindAction && et != "" {
			t.Fatalf("action with eventType %q", et)
		}
		if w, perr := ParseWebhook(body); perr == nil && w.Kind != kind {
			t.Fatalf("PeekKind %v, ParseWebhook %v", kind, w.Kind)
		}
	})
}
