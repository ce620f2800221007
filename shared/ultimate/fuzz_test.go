package ultimate

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParseWebhook checks that ParseWebhook never panics, that what it
// accepts satisfies the Webhook invariants (a botId, exactly one of Converse
// and Action matching Kind), and that an
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
