package twilio

import (
	"strconv"
	"strings"
	"unicode"
)

// Mapping a visitor's answer back to the option of the last bot message
// (render.go): the AI agent wants the button's own text, and for a carousel
// the card's index.
//
//   - a quick reply's ButtonPayload: the template's action IDs are o1, o2, o3;
//   - a number, optionally with ")" "." or "#" as the list shows it: "2", "2)";
//   - the option's text, or a card's title, in any case and spacing, when
//     exactly one option has it.
//
// Anything else is the visitor's own text and passes as is.

// QuickReplyID is the action ID of quick reply n (1-based) in the account's
// templates.
func QuickReplyID(n int) string { return "o" + strconv.Itoa(n) }

func answer(text, payload string, opts []option) (string, *int) {
	if len(opts) == 0 {
		return text, nil
	}
	for i := range opts {
		if payload != "" && payload == QuickReplyID(i+1) {
			return opts[i].Text, opts[i].Card
		}
	}
	if i, ok := number(text); ok && i >= 1 && i <= len(opts) {
		return opts[i-1].Text, opts[i-1].Card
	}
	key := fold(text)
	if key == "" {
		return text, nil
	}
	var match []option
	for _, o := range opts {
		if fold(o.Text) == key || (o.Label != "" && fold(o.Label) == key) {
			match = append(match, o)
		}
	}
	if len(match) == 0 {
		return text, nil
	}
	first := match[0]
	for _, o := range match[1:] {
		if o.Text != first.Text {
			return text, nil // options that read alike: the visitor's words stand
		}
		if !sameCard(o.Card, first.Card) {
			return first.Text, nil // the same button on several cards: no card
		}
	}
	return first.Text, first.Card
}

func sameCard(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// number reads "2", "2)", "2.", "#2" and "(2)".
func number(s string) (int, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "#")
	s = strings.TrimPrefix(s, "(")
	s = strings.TrimRight(s, ").")
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// fold is s lower-cased with runs of space collapsed and surrounding
// punctuation dropped, for comparing a typed answer with a label.
func fold(s string) string {
	f := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	return strings.TrimFunc(f, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
}
