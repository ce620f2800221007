package sunshine

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/source"
)

// FuzzParse feeds arbitrary bodies to the parser: it must never panic, must
// answer a bad envelope with a 400 *apigw.Error (bad events are skipped),
// and what it accepts must be well formed (an event may lack an ID: the
// spec makes it optional). Seeds are the spec-shaped fixtures plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	a := testAdapter()
	var acct *source.Account
	f.Fuzz(func(t *testing.T, body []byte) {
		if acct == nil {
			acct = account(t, "", map[string]any{"actWithoutSwitchboard": true})
		}
		batch, err := a.Parse(request(body, nil), acct)
		if err != nil {
			var ae *apigw.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Message == "" {
				t.Fatalf("error %v (%T) is not a 400 *apigw.Error", err, err)
			}
			return
		}
		if batch.Skipped < 0 || batch.Skipped+len(batch.Events) > strings.Count(string(body), "{") {
			t.Fatalf("skipped %d with %d events", batch.Skipped, len(batch.Events))
		}
		for _, ev := range batch.Events {
			if (ev.ID != "" && ids.Event("id", ev.ID) != nil) || ids.Conversation("conversation", ev.Conversation) != nil {
				t.Fatalf("malformed event %+v", ev)
			}
			switch ev.Kind {
			case source.Message:
				if strings.TrimSpace(ev.Text) == "" {
					t.Fatalf("message without text: %+v", ev)
				}
				if ev.CardIndex != nil && (*ev.CardIndex < 0 || *ev.CardIndex > maxCardIndex) {
					t.Fatalf("card index out of range: %+v", ev)
				}
			case source.Started, source.HandedBack:
			default:
				t.Fatalf("unexpected kind %q", ev.Kind)
			}
		}
	})
}
