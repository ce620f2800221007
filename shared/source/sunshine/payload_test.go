package sunshine

import (
	"strings"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	tests := []struct {
		text string
		card *int
		wire string
	}{
		{"Yes", nil, `{"t":"Yes"}`},
		{"Select", intp(0), `{"t":"Select","c":0}`},
		{"Select", intp(10), `{"t":"Select","c":10}`},
		{`Say "hi" <b>`, nil, `{"t":"Say \"hi\" \u003cb\u003e"}`},
		{"Ja, gärne 👍", intp(3), `{"t":"Ja, gärne 👍","c":3}`},
	}
	for _, tc := range tests {
		got := encodePayload(tc.text, tc.card)
		if got != tc.wire {
			t.Errorf("encode(%q) = %s, want %s", tc.text, got, tc.wire)
		}
		text, card, ok := decodePayload(got)
		if !ok || text != tc.text || (card == nil) != (tc.card == nil) || (card != nil && *card != *tc.card) {
			t.Errorf("decode(%s) = %q %v %v", got, text, card, ok)
		}
	}
}

func TestDecodePayloadRefusesForeign(t *testing.T) {
	for _, p := range []string{
		"", "REFUND", "{}", `{"t":""}`, `{"t":1}`, `{"text":"Yes"}`, `{"t":"Yes","x":1}`,
		`{"t":"Yes","c":-1}`, `{"t":"Yes","c":101}`, `{"t":"Yes","c":1.5}`, `{"t":"Yes","c":"1"}`,
		`{"t":"Yes"`, `["t","Yes"]`, `{"t":"` + strings.Repeat("a", maxButtonText+1) + `"}`,
	} {
		if text, card, ok := decodePayload(p); ok {
			t.Errorf("decodePayload(%.40q) accepted: %q %v", p, text, card)
		}
	}
	if text, _, ok := decodePayload("  {\"t\":\"Yes\"}\n"); !ok || text != "Yes" {
		t.Errorf("surrounding space: %q %v", text, ok)
	}
}
