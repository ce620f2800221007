package jsonread

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		read     func(d *Reader) (any, bool)
		want     any // nil: the read fails
	}{
		{"string", `"a\"b\u00e9\ud83d\ude00"`, str, "a\"bé😀"},
		{"lone surrogate", `"\ud800"`, str, "\ufffd"},
		{"invalid UTF-8", "\"\xff\"", str, "\ufffd"},
		{"control character", "\"\x01\"", str, nil},
		{"int", `-42`, integer, int64(-42)},
		{"int with fraction", `4.2`, integer, nil},
		{"int leading zero", `042`, integer, nil},
		{"raw object", ` {"a" : [1, "x", null]}`, raw, `{"a" : [1, "x", null]}`},
		{"raw bad number", `[1.]`, raw, nil},
		{"raw bad literal", `nul`, raw, nil},
		{"raw too deep", string(bytes.Repeat([]byte("["), 100)) + string(bytes.Repeat([]byte("]"), 100)), raw, nil},
		{"bool", `false`, boolean, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New([]byte(tc.in), nil)
			got, ok := tc.read(&d)
			if (tc.want == nil) == ok || (ok && got != tc.want) {
				t.Fatalf("got %#v, %v; want %#v", got, ok, tc.want)
			}
		})
	}
}

func str(d *Reader) (any, bool)     { d.WS(); return d.Str() }
func integer(d *Reader) (any, bool) { var n int64; ok := d.Int(&n); return n, ok }
func boolean(d *Reader) (any, bool) { var b bool; ok := d.Bool(&b); return b, ok }
func raw(d *Reader) (any, bool)     { r, ok := d.Raw(); return string(r), ok }

// FuzzStr holds string decoding to encoding/json's.
func FuzzStr(f *testing.F) {
	for _, s := range []string{`"abc"`, `"\u00e9\ud800\udc00"`, "\"\xc3\x28\"", `"\ud800\n"`, `"\/\b\f\n\r\t"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d := New([]byte(in), nil)
		got, ok := d.Str()
		if !ok || !d.End() {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil || got != want {
			t.Fatalf("%q: got %q, encoding/json %q (%v)", in, got, want, err)
		}
	})
}

// FuzzFields holds Fields to json.Unmarshal into json.RawMessage fields.
func FuzzFields(f *testing.F) {
	for _, s := range []string{`{"type":"message","data":{"a":1}}`, `{"data" : null , "x":[1,2]}`, `{"Type":"x"}`, `{"type":1,"type":2}`, ` {} `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var raw [2]json.RawMessage
		if !Fields([]byte(in), []string{"type", "data"}, raw[:]) {
			return
		}
		var want struct {
			Type json.RawMessage `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("%q: Fields accepted what encoding/json refuses: %v", in, err)
		}
		if !bytes.Equal(raw[0], want.Type) || !bytes.Equal(raw[1], want.Data) {
			t.Fatalf("%q: Fields %q %q, encoding/json %q %q", in, raw[0], raw[1], want.Type, want.Data)
		}
	})
}
