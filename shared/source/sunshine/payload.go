package sunshine

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Limits on decoded button payloads: the AI agent's button texts are short,
// and cards are few; anything bigger is not one of ours.
const (
	maxButtonText = 1024
	maxCardIndex  = 100
)

// buttonPayload is the payload of every reply and postback action we send:
// the button's text as the AI agent wrote it and, for carousel buttons, the
// card's index. Both come back on the click, so the AI agent gets its own
// text and cardIndex without the bridge storing anything.
type buttonPayload struct {
	T string `json:"t"`
	C *int   `json:"c,omitempty"`
}

// encodePayload writes the compact JSON form, e.g. {"t":"Yes"} or
// {"t":"Select","c":1}.
func encodePayload(text string, card *int) string {
	b, err := json.Marshal(buttonPayload{T: text, C: card})
	if err != nil {
		// A string and an int always encode; keep the text usable anyway.
		return text
	}
	return string(b)
}

// decodePayload reads a payload we wrote. ok is false for anything else
// (another integration's payload, or text), which callers treat as plain
// text: exactly the keys t (non-empty string) and optionally c (0-100).
func decodePayload(s string) (text string, card *int, ok bool) {
	b := bytes.TrimSpace([]byte(s))
	if len(b) < 2 || b[0] != '{' || len(b) > 4*maxButtonText {
		return "", nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return "", nil, false
	}
	rawT, hasT := m["t"]
	rawC, hasC := m["c"]
	if !hasT || len(m) != 1+boolInt(hasC) {
		return "", nil, false
	}
	if json.Unmarshal(rawT, &text) != nil || text == "" || utf8.RuneCountInString(text) > maxButtonText {
		return "", nil, false
	}
	if hasC {
		var n int
		if json.Unmarshal(rawC, &n) != nil || n < 0 || n > maxCardIndex {
			return "", nil, false
		}
		card = &n
	}
	return text, card, true
}

// encodeMetadata is the metadata of a postback action we send: the same
// text and card as its payload, as flat metadata, which SunCo echoes in the
// click's postback.metadata. It keeps a click usable when its payload does
// not come back (postbackWebhook.payload is optional).
func encodeMetadata(text string, card *int) map[string]any {
	m := map[string]any{"t": text}
	if card != nil {
		m["c"] = *card
	}
	return m
}

// decodeMetadata reads what encodeMetadata wrote: t, a non-empty string,
// and optionally c, a card index; other keys are ignored (the metadata is
// the action's, which only the bridge writes, but SunCo may add its own).
func decodeMetadata(m map[string]json.RawMessage) (text string, card *int, ok bool) {
	if json.Unmarshal(m["t"], &text) != nil || text == "" || utf8.RuneCountInString(text) > maxButtonText {
		return "", nil, false
	}
	if rawC, hasC := m["c"]; hasC {
		var n int
		if json.Unmarshal(rawC, &n) != nil || n < 0 || n > maxCardIndex {
			return "", nil, false
		}
		card = &n
	}
	return text, card, true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
