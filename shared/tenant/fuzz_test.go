package tenant

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeItemJSON checks that DecodeItemJSON never panics and that any
// item it accepts encodes, and decodes back to an equal item. The parsers
// must not panic on such items either. Seeds are in
// testdata/fuzz/FuzzDecodeItemJSON.
func FuzzDecodeItemJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := DecodeItemJSON(b)
		if err != nil {
			if it != nil {
				t.Fatalf("error %v with an item", err)
			}
			return
		}
		enc, err := EncodeItemJSON(it)
		if err != nil {
			t.Fatalf("EncodeItemJSON of a decoded item: %v", err)
		}
		if !json.Valid(enc) {
			t.Fatalf("EncodeItemJSON wrote invalid JSON: %s", enc)
		}
		back, err := DecodeItemJSON(enc)
		if err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		if !reflect.DeepEqual(back, it) {
			t.Fatalf("round trip changed the item:\n%#v\n%#v", it, back)
		}
		keep := func(raw json.RawMessage) (any, error) { return raw, nil }
		_, _ = ParseSource(it, func(_ string, raw json.RawMessage) (any, error) { return keep(raw) })
		_, _ = ParseAgent(it, keep, nil)
		_, _ = ParseAction(it, func(_ *Action, raw json.RawMessage) (any, error) { return keep(raw) })
		_, _ = Hooks{}.Parse(it)
	})
}
