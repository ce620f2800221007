package strictjson

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode: any input is refused with an error or decodes to what
// encoding/json would decode, never a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"name":"n","rules":[{"field":"a","sanitize":true}]}`, `{"enabeld":1}`,
		`{"teams":{"a":{"field":"x"}}}`, `{"count":1e3}`, `[`, `{"blob":"aGk="}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v target
		if err := Decode(b, &v); err != nil {
			return
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return // empty input is an empty map by design
		}
		var w target
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("strict decode accepted %q that encoding/json refuses: %v", b, err)
		}
	})
}
