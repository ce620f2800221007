package liveperson

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func renderJSON(t *testing.T, r renderer, m ultimate.Message) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, it := range r.render(m) {
		b, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		_ = json.Unmarshal(b, &v)
		if s, ok := v.(string); ok {
			out = append(out, map[string]any{"text": s})
			continue
		}
		out = append(out, v.(map[string]any))
	}
	return out
}

// sc returns the structured content of an item, or nil for a text.
func sc(item map[string]any) map[string]any {
	m, _ := item["structuredContent"].(map[string]any)
	return m
}

func jsonPath(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

var messaging = renderer{quickReplies: true, clickSuffix: true}

func btns(texts ...string) []ultimate.Button {
	var out []ultimate.Button
	for _, t := range texts {
		out = append(out, ultimate.Button{Text: t, Type: "button"})
	}
	return out
}

func TestRenderText(t *testing.T) {
	items := renderJSON(t, messaging, ultimate.Message{Type: "text", Text: "Hello!"})
	if len(items) != 1 || items[0]["text"] != "Hello!" {
		t.Fatalf("%v", items)
	}
	if items := messaging.render(ultimate.Message{Type: "text", Text: "  "}); len(items) != 0 {
		t.Fatalf("blank message rendered: %v", items)
	}
}

func TestRenderQuickReplies(t *testing.T) {
	items := renderJSON(t, messaging, ultimate.Message{Type: "text", Text: "Pick one", Buttons: btns("Yes", "No")})
	c := sc(items[0])
	if len(items) != 1 || c["message"] != "Pick one" || jsonPath(c, "quickReplies", "type") != "quickReplies" ||
		jsonPath(c, "quickReplies", "itemsPerRow") != 2.0 {
		t.Fatalf("%v", items)
	}
	r := jsonPath(c, "quickReplies", "replies", 1)
	if jsonPath(r, "type") != "button" || jsonPath(r, "title") != "No" ||
		jsonPath(r, "click", "actions", 0, "type") != "publishText" || jsonPath(r, "click", "actions", 0, "text") != "No" ||
		jsonPath(r, "click", "metadata", 0, "type") != "ExternalId" || jsonPath(r, "click", "metadata", 0, "id") != "crmbridge:t=No" {
		t.Fatalf("reply %v", r)
	}
}

func TestRenderButtonCard(t *testing.T) {
	long := strings.Repeat("long title ", 3)
	tests := map[string]struct {
		r renderer
		m ultimate.Message
	}{
		"chat conversation": {renderer{quickReplies: false}, ultimate.Message{Text: "Pick", Buttons: btns("Yes", "No")}},
		"link button":       {messaging, ultimate.Message{Text: "Pick", Buttons: append(btns("Yes"), ultimate.Button{Text: "Docs", Type: "link", URL: "https://example.com/docs"})}},
		"title over 25":     {messaging, ultimate.Message{Text: "Pick", Buttons: btns("Yes", long)}},
		"no text":           {messaging, ultimate.Message{Buttons: btns("Yes", "No")}},
		"25 buttons":        {messaging, ultimate.Message{Text: "Pick", Buttons: btns(strings.Split(strings.Repeat("b,", 25), ",")[:25]...)}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			items := renderJSON(t, tc.r, tc.m)
			c := sc(items[0])
			if len(items) != 1 || c["type"] != "vertical" {
				t.Fatalf("%v", items)
			}
			els := c["elements"].([]any)
			first := 0
			if tc.m.Text != "" {
				if jsonPath(els, 0, "type") != "text" || jsonPath(els, 0, "text") != tc.m.Text {
					t.Fatalf("text element: %v", els[0])
				}
				first = 1
			}
			if len(els)-first != len(tc.m.Buttons) {
				t.Fatalf("%d elements for %d buttons", len(els)-first, len(tc.m.Buttons))
			}
			for i, b := range tc.m.Buttons {
				el := els[first+i]
				if b.IsLink() {
					if jsonPath(el, "click", "actions", 0, "type") != "link" || jsonPath(el, "click", "actions", 0, "uri") != b.URL ||
						jsonPath(el, "click", "actions", 0, "name") != b.Text {
						t.Fatalf("link button %v", el)
					}
					continue
				}
				if jsonPath(el, "title") != b.Text || jsonPath(el, "click", "actions", 0, "text") != b.Text {
					t.Fatalf("button %v", el)
				}
			}
		})
	}
}

// The bridge's one rule for a link LivePerson cannot open (the vendor's
// Button has no URL field; or a URL a link action refuses): its label is
// text, never a button, and the URL it could not open is not shown.
func TestRenderLinkWithoutURL(t *testing.T) {
	items := renderJSON(t, messaging, ultimate.Message{Text: "See", Buttons: []ultimate.Button{{Text: "Docs", Type: "link"}, {Text: "Bad", Type: "link", Link: "javascript:alert(1)"}}})
	if len(items) != 1 || sc(items[0]) != nil || items[0]["text"] != "See\nDocs\nBad" {
		t.Fatalf("%v", items)
	}
	items = renderJSON(t, messaging, ultimate.Message{Text: "See", Buttons: []ultimate.Button{{Text: "Yes", Type: "button"}, {Text: "Docs", Type: "link"}}})
	if len(items) != 1 || jsonPath(sc(items[0]), "message") != "See\nDocs" || len(jsonPath(sc(items[0]), "quickReplies", "replies").([]any)) != 1 {
		t.Fatalf("%v", items)
	}
	items = renderJSON(t, messaging, ultimate.Message{Type: "carousel", CarouselCards: []ultimate.Card{
		{Title: "A", Buttons: []ultimate.Button{{Text: "Buy", Type: "button"}, {Text: "Terms", Type: "link"}}},
		{Title: "B", Buttons: []ultimate.Button{{Text: "Buy", Type: "button"}}},
	}})
	els := jsonPath(sc(items[0]), "elements", 0, "elements").([]any)
	if len(els) != 3 || jsonPath(els, 1, "text") != "Terms" || jsonPath(els, 2, "type") != "button" {
		t.Fatalf("%v", els)
	}
}

func cards(n int) []ultimate.Card {
	var out []ultimate.Card
	for i := range n {
		out = append(out, ultimate.Card{Title: fmt.Sprintf("Plan %d", i+1), Description: "Twelve months", ImageURL: "https://img.example.com/p.png",
			Buttons: []ultimate.Button{{Text: "Buy", Type: "button"}, {Text: "Details", Type: "link", URL: "https://example.com/p"}}})
	}
	return out
}

func TestRenderCarousel(t *testing.T) {
	items := renderJSON(t, messaging, ultimate.Message{Type: "carousel", Text: "Our plans", CarouselCards: cards(3)})
	if len(items) != 2 || items[0]["text"] != "Our plans" {
		t.Fatalf("%v", items)
	}
	c := sc(items[1])
	if c["type"] != "carousel" || c["padding"] != 10.0 || len(c["elements"].([]any)) != 3 {
		t.Fatalf("carousel %v", c)
	}
	card := jsonPath(c, "elements", 1)
	want := []string{"image", "text", "text", "button", "button"}
	for i, typ := range want {
		if jsonPath(card, "elements", i, "type") != typ {
			t.Fatalf("card element %d: %v", i, jsonPath(card, "elements", i))
		}
	}
	if jsonPath(card, "elements", 1, "text") != "Plan 2" || jsonPath(card, "elements", 1, "style", "bold") != true {
		t.Fatalf("title %v", jsonPath(card, "elements", 1))
	}
	buy := jsonPath(card, "elements", 3)
	if jsonPath(buy, "click", "actions", 0, "text") != "Buy (2/3)" || jsonPath(buy, "click", "metadata", 0, "id") != "crmbridge:c=1;t=Buy" {
		t.Fatalf("buy button %v", buy)
	}
	// A click on it maps back to the AI agent's button and card, with or
	// without the metadata.
	for _, ids := range [][]string{{"crmbridge:c=1;t=Buy"}, nil} {
		c, ok := decodeClick("Buy (2/3)", ids)
		if !ok || c.text != "Buy" || c.card == nil || *c.card != 1 {
			t.Fatalf("decode with %v: %+v %v", ids, c, ok)
		}
	}
}

func TestRenderCarouselShapes(t *testing.T) {
	one := renderJSON(t, messaging, ultimate.Message{Type: "carousel", CarouselCards: cards(1)})
	if len(one) != 1 || sc(one[0])["type"] != "vertical" {
		t.Fatalf("one card: %v", one)
	}
	twelve := renderJSON(t, messaging, ultimate.Message{Type: "carousel", CarouselCards: cards(12)})
	if len(twelve) != 2 || len(jsonPath(sc(twelve[0]), "elements").([]any)) != 10 || len(jsonPath(sc(twelve[1]), "elements").([]any)) != 2 {
		t.Fatalf("twelve cards: %v", twelve)
	}
	// Card 11 keeps its index in the second carousel.
	if got := jsonPath(sc(twelve[1]), "elements", 0, "elements", 3, "click", "metadata", 0, "id"); got != "crmbridge:c=10;t=Buy" {
		t.Fatalf("card 11 id %v", got)
	}
	noSuffix := renderer{quickReplies: true, clickSuffix: false}
	items := renderJSON(t, noSuffix, ultimate.Message{Type: "carousel", CarouselCards: cards(2)})
	if got := jsonPath(sc(items[0]), "elements", 0, "elements", 3, "click", "actions", 0, "text"); got != "Buy" {
		t.Fatalf("without suffix: %v", got)
	}
	insecure := cards(2)
	insecure[0].ImageURL = "http://img.example.com/p.png"
	items = renderJSON(t, messaging, ultimate.Message{Type: "carousel", CarouselCards: insecure})
	if jsonPath(sc(items[0]), "elements", 0, "elements", 0, "type") != "text" {
		t.Fatal("a non-https image must be left out (LivePerson requires https)")
	}
}

func TestRenderSizeFallback(t *testing.T) {
	big := strings.Repeat("x", 4000)
	// Four cards of ~4 KB: too large together, each fits alone.
	cs := cards(4)
	for i := range cs {
		cs[i].Description = big
	}
	items := renderJSON(t, messaging, ultimate.Message{Type: "carousel", CarouselCards: cs})
	if len(items) != 4 {
		t.Fatalf("want one card per message, got %d items", len(items))
	}
	for _, it := range items {
		if sc(it)["type"] != "vertical" {
			t.Fatalf("%v", it)
		}
	}
	// A card too large alone becomes text.
	huge := cards(2)
	huge[0].Buttons = nil
	for range 40 {
		huge[0].Buttons = append(huge[0].Buttons, ultimate.Button{Text: strings.Repeat("y", 200), Type: "button"})
	}
	items = renderJSON(t, messaging, ultimate.Message{Type: "carousel", CarouselCards: huge})
	if len(items) != 2 || items[0]["text"] == nil || !strings.HasPrefix(items[0]["text"].(string), "Plan 1\nTwelve months\n1. yyy") {
		t.Fatalf("%v", items[0])
	}
	// Buttons too large for any card become a numbered list.
	var bs []ultimate.Button
	for range 70 {
		bs = append(bs, ultimate.Button{Text: strings.Repeat("z", 200), Type: "button"})
	}
	bs = append(bs, ultimate.Button{Text: "Docs", Type: "link", URL: "https://example.com"})
	items = renderJSON(t, messaging, ultimate.Message{Text: "Choose", Buttons: bs})
	text, _ := items[0]["text"].(string)
	if !strings.HasPrefix(text, "Choose\n1. zzz") || !strings.HasSuffix(text, "\nDocs: https://example.com") {
		t.Fatalf("fallback %q", text)
	}
	for _, it := range renderJSON(t, messaging, ultimate.Message{Type: "carousel", CarouselCards: cs}) {
		if b, _ := json.Marshal(sc(it)); len(b) > maxStructuredBytes {
			t.Fatalf("structured content of %d bytes", len(b))
		}
	}
}

func TestPublishTextLimits(t *testing.T) {
	long := strings.Repeat("é", 300)
	if got := publishText(long, -1, 0, true); utf8.RuneCountInString(got) != maxPublishText {
		t.Fatalf("plain button: %d runes", utf8.RuneCountInString(got))
	}
	got := publishText(long, 9, 10, true)
	if utf8.RuneCountInString(got) != maxPublishText || !strings.HasSuffix(got, "… (10/10)") {
		t.Fatalf("carousel button: %d runes, %q", utf8.RuneCountInString(got), got[len(got)-12:])
	}
	if c, ok := decodeClick(got, nil); !ok || *c.card != 9 {
		t.Fatalf("decode truncated: %+v", c)
	}
	if id := clickID(3, strings.Repeat("w", 400)); id != "crmbridge:c=3" {
		t.Fatalf("long text must be left out of the id: %s", id)
	}
	if id := clickID(-1, "a;b=c d"); id != "crmbridge:t=a%3Bb%3Dc+d" {
		t.Fatalf("escaping: %s", id)
	}
	if c, ok := decodeClick("a;b=c d", []string{"crmbridge:t=a%3Bb%3Dc+d"}); !ok || c.text != "a;b=c d" || c.card != nil {
		t.Fatalf("round trip: %+v", c)
	}
}

func TestDecodeClickRejects(t *testing.T) {
	for _, s := range []string{"Help (0/3)", "Help (4/3)", "Help (2/3) now", "(2/3)", "Help(2/3)", "Help (123/200)"} {
		if c, ok := decodeClick(s, nil); ok {
			t.Errorf("%q decoded as %+v", s, c)
		}
	}
	if c, ok := decodeClick("Yes", []string{"crmbridge:c=999;t=Yes"}); !ok || c.card != nil || c.text != "Yes" {
		t.Errorf("out-of-range card: %+v", c)
	}
}
