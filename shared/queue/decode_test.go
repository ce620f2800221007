package queue

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestDecodeFast(t *testing.T) {
	written, _ := json.Marshal(Envelope{V: 1, Kind: KindInbound, Key: "EVENT#generic#demo#e1", PCID: "generic:demo:c1", Enqueued: 1795600800000, Data: json.RawMessage(`{"event":{"Text":"héllo \"x\" 👍"}}`)})
	for _, tc := range []struct {
		name, in string
		fast     bool
	}{
		{"as Send writes it", string(written), true},
		{"no key, no data", `{"v":1,"kind":"barrier","pcid":"p","enqueued":5}`, true},
		{"unknown field", `{"v":1,"kind":"inbound","pcid":"p","x":[1,{"y":null}]}`, true},
		{"data with spaces", `{"v":1,"kind":"inbound","pcid":"p","data": { "a" : [ 1 , 2 ] } }`, true},
		{"null data", `{"v":1,"kind":"inbound","pcid":"p","data":null}`, false},
		{"case-folded key", `{"V":1,"kind":"inbound","pcid":"p"}`, false},
		{"repeated key", `{"v":1,"v":2,"kind":"inbound","pcid":"p"}`, false},
		{"fractional version", `{"v":1.0,"kind":"inbound","pcid":"p"}`, false},
		{"not JSON", `{"v":1,`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fast, want Envelope
			took := decodeFast([]byte(tc.in), &fast)
			if took != tc.fast {
				t.Fatalf("fast path took it: %v, want %v", took, tc.fast)
			}
			if !took {
				return
			}
			if err := json.Unmarshal([]byte(tc.in), &want); err != nil {
				t.Fatal(err)
			}
			if !sameEnvelope(fast, want) {
				t.Fatalf("fast %+v, encoding/json %+v", fast, want)
			}
		})
	}
}

func sameEnvelope(a, b Envelope) bool {
	return a.V == b.V && a.Kind == b.Kind && a.Key == b.Key && a.PCID == b.PCID && a.Enqueued == b.Enqueued && bytes.Equal(a.Data, b.Data)
}

// FuzzDecodeFast holds the envelope's fast decoder to encoding/json.
func FuzzDecodeFast(f *testing.F) {
	written, _ := json.Marshal(Envelope{V: 1, Kind: KindOutbound, Key: "BOTMSG#x", PCID: "generic:demo:c\u2028", Enqueued: 1, Data: json.RawMessage(`{"a":"\u00e9"}`)})
	for _, s := range []string{string(written), `{"v":1,"kind":"barrier","pcid":"p"}`, `{"data":{"x":[true,false,null,-1.5e3]}}`, `{"pcid":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var fast Envelope
		if !decodeFast([]byte(in), &fast) {
			return
		}
		var want Envelope
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, in)
		}
		if !sameEnvelope(fast, want) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", in, fast, want)
		}
	})
}
