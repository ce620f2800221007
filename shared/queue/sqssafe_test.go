package queue

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// sqsAccepts is SQS's rule for message bodies, narrowed to what every
// emulator accepts: #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD.
func sqsAccepts(s string) bool {
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		default:
			return false
		}
	}
	return utf8.ValidString(s)
}

func envelopeWith(text string) Envelope {
	data, _ := json.Marshal(map[string]string{"text": text})
	return Envelope{V: Version, Kind: KindInbound, PCID: "generic:demo:" + text, Enqueued: 1, Data: data}
}

func TestSQSSafe(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		changed    bool // the body is rewritten
	}{
		{"ascii", "Where is my order?", false},
		{"accents and CJK stay as they are", "héllo 世界 ₠", false},
		{"emoji", "thanks 👍🏽", true},
		{"noncharacters SQS refuses", "a\uFFFEb\uFFFF", true},
		{"last allowed BMP character", "\uFFFD", false},
		{"astral plane's last", "\U0010FFFF", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := envelopeWith(tc.text)
			body, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			safe := sqsSafe(body)
			if (safe != string(body)) != tc.changed {
				t.Fatalf("rewritten: %v, want %v (%q)", safe != string(body), tc.changed, safe)
			}
			if !sqsAccepts(safe) {
				t.Fatalf("SQS would refuse %q", safe)
			}
			got, err := Decode(safe)
			if err != nil || !reflect.DeepEqual(got.Data, e.Data) && !jsonEqual(got.Data, e.Data) || got.PCID != e.PCID {
				t.Fatalf("decoded %+v, %v; want %+v", got, err, e)
			}
		})
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// FuzzSQSSafe: any text, once enqueued, is a body SQS accepts that decodes
// to the same envelope.
func FuzzSQSSafe(f *testing.F) {
	for _, s := range []string{"", "abc", "👍", "\uFFFE", "世界\U0001F600\U0010FFFF", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.ContainsRune(text, 0) {
			text = strings.ReplaceAll(text, "\x00", "")
		}
		e := envelopeWith(text)
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		safe := sqsSafe(body)
		if !sqsAccepts(safe) {
			t.Fatalf("SQS would refuse %q", safe)
		}
		var want, got Envelope
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(safe), &got); err != nil {
			t.Fatalf("%q: %v", safe, err)
		}
		if want.PCID != got.PCID || !jsonEqual(want.Data, got.Data) {
			t.Fatalf("%q decodes to %+v, want %+v", safe, got, want)
		}
	})
}
