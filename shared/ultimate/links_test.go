package ultimate

import (
	"reflect"
	"strings"
	"testing"
)

// The one rule for links every adapter follows: a link whose URL is missing
// (the published Button is {text, type}) or that the platform cannot open
// becomes its label as a text line; it never becomes a click button.
func TestUnlinkDead(t *testing.T) {
	https := func(u string) bool { return strings.HasPrefix(u, "https://") }
	tests := []struct {
		name   string
		in     Message
		usable func(string) bool
		want   Message
	}{
		{"the vendor's link without URL", Message{Type: "text", Text: "More?", Buttons: []Button{{Text: "Yes", Type: "button"}, {Text: "Help centre", Type: "link"}}}, nil,
			Message{Type: "text", Text: "More?\nHelp centre", Buttons: []Button{{Text: "Yes", Type: "button"}}}},
		{"url and link fields are URLs", Message{Type: "text", Text: "x", Buttons: []Button{{Text: "A", Type: "link", URL: "https://a.example"}, {Text: "B", Type: "LINK", Link: "https://b.example"}}}, nil,
			Message{Type: "text", Text: "x", Buttons: []Button{{Text: "A", Type: "link", URL: "https://a.example"}, {Text: "B", Type: "LINK", Link: "https://b.example"}}}},
		{"a URL the platform cannot open", Message{Type: "text", Text: "x", Buttons: []Button{{Text: "A", Type: "link", URL: "http://a.example"}}}, https,
			Message{Type: "text", Text: "x\nA", Buttons: []Button{}}},
		{"blank URL", Message{Type: "text", Buttons: []Button{{Text: "A", Type: "link", URL: "  "}}}, nil,
			Message{Type: "text", Text: "A", Buttons: []Button{}}},
		{"no label, nothing to show", Message{Type: "text", Text: "x ", Buttons: []Button{{Type: "link"}}}, nil,
			Message{Type: "text", Text: "x ", Buttons: []Button{}}},
		{"cards", Message{Type: "carousel", CarouselCards: []Card{{Title: "T", Description: "D", Buttons: []Button{{Text: "Pick", Type: "button"}, {Text: "Terms", Type: "link"}}}, {Title: "U", Buttons: []Button{{Text: "Info", Type: "link"}}}}}, nil,
			Message{Type: "carousel", CarouselCards: []Card{{Title: "T", Description: "D\nTerms", Buttons: []Button{{Text: "Pick", Type: "button"}}}, {Title: "U", Description: "Info", Buttons: []Button{}}}}},
		{"click buttons untouched", Message{Type: "text", Text: "x", Buttons: []Button{{Text: "Go", Type: "button"}}}, https,
			Message{Type: "text", Text: "x", Buttons: []Button{{Text: "Go", Type: "button"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := dump(tt.in)
			got := tt.in.UnlinkDead(tt.usable)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %s\nwant %s", dump(got), dump(tt.want))
			}
			if dump(tt.in) != before {
				t.Fatalf("the input changed: %s", dump(tt.in))
			}
		})
	}
}
