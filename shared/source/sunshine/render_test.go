package sunshine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func btn(text string) ultimate.Button { return ultimate.Button{Text: text, Type: "button"} }
func link(text, url string) ultimate.Button {
	return ultimate.Button{Text: text, Type: "link", URL: url}
}

func card(title string, buttons ...ultimate.Button) ultimate.Card {
	return ultimate.Card{Title: title, Description: title + " details", ImageURL: "https://img.example.com/" + strings.ToLower(title) + ".jpg", Buttons: buttons}
}

func sameJSON(t *testing.T, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestRenderText(t *testing.T) {
	eleven := make([]ultimate.Button, 11)
	for i := range eleven {
		eleven[i] = btn(fmt.Sprintf("Option %d", i+1))
	}
	eleven[10] = link("Docs", "https://docs.example.com")
	numbered := "Pick one\n\n1. Option 1\n2. Option 2\n3. Option 3\n4. Option 4\n5. Option 5\n6. Option 6\n7. Option 7\n8. Option 8\n9. Option 9\n10. Option 10\n11. Docs: https://docs.example.com"

	tests := []struct {
		name  string
		msg   ultimate.Message
		style string
		want  string
	}{
		{"plain", ultimate.Message{Type: "text", Text: "Hello!"}, ReplyStyleReply,
			`[{"type":"text","text":"Hello!"}]`},
		{"empty", ultimate.Message{Type: "text", Text: "  "}, ReplyStyleReply, `null`},
		{"reply buttons", ultimate.Message{Type: "text", Text: "Refund?", Buttons: []ultimate.Button{btn("Yes"), btn("No")}}, ReplyStyleReply,
			`[{"type":"text","text":"Refund?","actions":[{"type":"reply","text":"Yes","payload":"{\"t\":\"Yes\"}"},{"type":"reply","text":"No","payload":"{\"t\":\"No\"}"}]}]`},
		{"postback buttons", ultimate.Message{Type: "text", Text: "Refund?", Buttons: []ultimate.Button{btn("Yes")}}, ReplyStylePostback,
			`[{"type":"text","text":"Refund?","actions":[{"type":"postback","text":"Yes","payload":"{\"t\":\"Yes\"}","metadata":{"t":"Yes"}}]}]`},
		{"buttons without text", ultimate.Message{Type: "text", Buttons: []ultimate.Button{btn("Yes")}}, ReplyStyleReply,
			`[{"type":"text","actions":[{"type":"reply","text":"Yes","payload":"{\"t\":\"Yes\"}"}]}]`},
		{"long label kept", ultimate.Message{Type: "text", Text: "Q", Buttons: []ultimate.Button{btn("A label well over twenty characters")}}, ReplyStyleReply,
			`[{"type":"text","text":"Q","actions":[{"type":"reply","text":"A label well over twenty characters","payload":"{\"t\":\"A label well over twenty characters\"}"}]}]`},
		{"link with click buttons uses postbacks", ultimate.Message{Type: "text", Text: "See", Buttons: []ultimate.Button{btn("Yes"), link("Open", "https://x.example/a")}}, ReplyStyleReply,
			`[{"type":"text","text":"See","actions":[{"type":"postback","text":"Yes","payload":"{\"t\":\"Yes\"}","metadata":{"t":"Yes"}},{"type":"link","text":"Open","uri":"https://x.example/a"}]}]`},
		{"link in legacy field", ultimate.Message{Type: "text", Text: "See", Buttons: []ultimate.Button{{Text: "Open", Type: "link", Link: "https://x.example/b"}}}, ReplyStyleReply,
			`[{"type":"text","text":"See","actions":[{"type":"link","text":"Open","uri":"https://x.example/b"}]}]`},
		// The bridge's one rule (ultimate.Message.UnlinkDead): a link SunCo
		// cannot open is its label as text, never a button that sends it.
		{"link without URL becomes text", ultimate.Message{Type: "text", Text: "See", Buttons: []ultimate.Button{{Text: "Open", Type: "link"}}}, ReplyStyleReply,
			`[{"type":"text","text":"See\nOpen"}]`},
		{"relative link becomes text", ultimate.Message{Type: "text", Text: "See", Buttons: []ultimate.Button{link("Open", "/help"), btn("Yes")}}, ReplyStyleReply,
			`[{"type":"text","text":"See\nOpen","actions":[{"type":"reply","text":"Yes","payload":"{\"t\":\"Yes\"}"}]}]`},
		{"only a dead link, no text", ultimate.Message{Type: "text", Buttons: []ultimate.Button{{Text: "Help centre", Type: "link"}}}, ReplyStyleReply,
			`[{"type":"text","text":"Help centre"}]`},
		{"blank buttons dropped", ultimate.Message{Type: "text", Text: "Hi", Buttons: []ultimate.Button{btn(" ")}}, ReplyStyleReply,
			`[{"type":"text","text":"Hi"}]`},
		{"too many buttons", ultimate.Message{Type: "text", Text: "Pick one", Buttons: eleven}, ReplyStyleReply,
			`[{"type":"text","text":` + mustJSON(numbered) + `}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sameJSON(t, render(tc.msg, tc.style), tc.want)
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRenderLongText(t *testing.T) {
	long := strings.Repeat("word ", 1000) // 5000 characters
	parts := render(ultimate.Message{Type: "text", Text: long, Buttons: []ultimate.Button{btn("OK")}}, ReplyStyleReply)
	if len(parts) != 2 {
		t.Fatalf("got %d parts, want 2", len(parts))
	}
	total := 0
	for i, p := range parts {
		if n := len([]rune(p.Text)); n > MaxText || n == 0 {
			t.Errorf("part %d has %d characters", i, n)
		}
		total += len(strings.Fields(p.Text))
	}
	if total != 1000 {
		t.Errorf("split lost or duplicated words: %d", total)
	}
	if parts[0].Actions != nil || len(parts[1].Actions) != 1 {
		t.Errorf("actions must ride on the last part: %+v", parts)
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want []string
	}{
		{"", 5, nil},
		{"abc", 5, []string{"abc"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"ab cd\nef gh", 6, []string{"ab cd", "ef gh"}},
		{"äöü äöü", 4, []string{"äöü", "äöü"}},
	}
	for _, tc := range tests {
		if got := splitText(tc.in, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestRenderCarousel(t *testing.T) {
	two := []ultimate.Card{
		card("Tacos", btn("Select"), link("More info", "https://example.org/tacos")),
		card("Ramen", btn("Select")),
	}
	many := make([]ultimate.Card, 11)
	for i := range many {
		many[i] = card(fmt.Sprintf("C%d", i), btn("Pick"))
	}
	tests := []struct {
		name  string
		msg   ultimate.Message
		check func(t *testing.T, parts []contentOut)
	}{
		{"two cards", ultimate.Message{Type: "carousel", CarouselCards: two}, func(t *testing.T, parts []contentOut) {
			sameJSON(t, parts, `[{"type":"carousel","items":[
				{"title":"Tacos","description":"Tacos details","mediaUrl":"https://img.example.com/tacos.jpg","actions":[
					{"type":"postback","text":"Select","payload":"{\"t\":\"Select\",\"c\":0}","metadata":{"t":"Select","c":0}},
					{"type":"link","text":"More info","uri":"https://example.org/tacos"}]},
				{"title":"Ramen","description":"Ramen details","mediaUrl":"https://img.example.com/ramen.jpg","actions":[
					{"type":"postback","text":"Select","payload":"{\"t\":\"Select\",\"c\":1}","metadata":{"t":"Select","c":1}}]}]}]`)
		}},
		{"intro text first", ultimate.Message{Type: "carousel", Text: "Our menu", CarouselCards: two[1:]}, func(t *testing.T, parts []contentOut) {
			if len(parts) != 2 || parts[0].Type != "text" || parts[0].Text != "Our menu" || parts[1].Type != "carousel" {
				t.Fatalf("got %+v", parts)
			}
		}},
		{"limits clipped", ultimate.Message{Type: "carousel", CarouselCards: []ultimate.Card{{
			Title: strings.Repeat("T", 200), Description: strings.Repeat("D", 200), ImageURL: "not a url", Buttons: []ultimate.Button{btn("Go")},
		}}}, func(t *testing.T, parts []contentOut) {
			it := parts[0].Items[0]
			if n := len([]rune(it.Title)); n != maxItemText || !strings.HasSuffix(it.Title, "…") {
				t.Errorf("title %d characters: %q", n, it.Title)
			}
			if n := len([]rune(it.Description)); n != maxItemText {
				t.Errorf("description %d characters", n)
			}
			if it.MediaURL != "" {
				t.Errorf("invalid image URL sent: %q", it.MediaURL)
			}
		}},
		{"untitled card", ultimate.Message{Type: "carousel", CarouselCards: []ultimate.Card{{Buttons: []ultimate.Button{btn("Go")}}, {Description: "Only text", Buttons: []ultimate.Button{btn("Go")}}}}, func(t *testing.T, parts []contentOut) {
			if parts[0].Items[0].Title != "1" || parts[0].Items[1].Title != "Only text" || parts[0].Items[1].Description != "" {
				t.Errorf("got %+v", parts[0].Items)
			}
		}},
		{"card without buttons falls back to texts", ultimate.Message{Type: "carousel", CarouselCards: []ultimate.Card{card("A", btn("Go")), card("B")}}, func(t *testing.T, parts []contentOut) {
			sameJSON(t, parts, `[
				{"type":"text","text":"A\nA details\nhttps://img.example.com/a.jpg","actions":[{"type":"postback","text":"Go","payload":"{\"t\":\"Go\",\"c\":0}","metadata":{"t":"Go","c":0}}]},
				{"type":"text","text":"B\nB details\nhttps://img.example.com/b.jpg"}]`)
		}},
		{"four buttons fall back to texts", ultimate.Message{Type: "carousel", CarouselCards: []ultimate.Card{card("A", btn("1"), btn("2"), btn("3"), btn("4"))}}, func(t *testing.T, parts []contentOut) {
			if len(parts) != 1 || parts[0].Type != "text" || len(parts[0].Actions) != 4 {
				t.Fatalf("got %+v", parts)
			}
		}},
		{"eleven cards", ultimate.Message{Type: "carousel", CarouselCards: many}, func(t *testing.T, parts []contentOut) {
			if len(parts) != 2 || parts[0].Type != "carousel" || len(parts[0].Items) != 10 {
				t.Fatalf("got %+v", parts)
			}
			sameJSON(t, parts[1], `{"type":"text","text":"C10\nC10 details\nhttps://img.example.com/c10.jpg","actions":[{"type":"postback","text":"Pick","payload":"{\"t\":\"Pick\",\"c\":10}","metadata":{"t":"Pick","c":10}}]}`)
			if p := parts[0].Items[9].Actions[0].Payload; p != `{"t":"Pick","c":9}` {
				t.Errorf("tenth card payload %s", p)
			}
		}},
		{"type carousel without cards is text", ultimate.Message{Type: "carousel", Text: "Nothing to show"}, func(t *testing.T, parts []contentOut) {
			sameJSON(t, parts, `[{"type":"text","text":"Nothing to show"}]`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, render(tc.msg, ReplyStyleReply))
		})
	}
}
