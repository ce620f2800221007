package sunshine

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPlainHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"spec example", "<h1>Hello!</h1>", "Hello!"},
		{"inline marks", "I need a <b>refund</b> <em>now</em>", "I need a refund now"},
		{"entities", "Fish &amp; chips &lt;3 &#x263A; &quot;ok&quot;", "Fish & chips <3 ☺ \"ok\""},
		{"paragraphs and breaks", "<p>One</p><p>Two<br/>Three</p>", "One\n\nTwo\nThree"},
		{"list", "<ul><li>a</li><li>b</li></ul>", "a\n\nb"},
		{"link keeps its URL", `See <a href="https://example.com/x?a=1&amp;b=2">the docs</a>.`, "See the docs (https://example.com/x?a=1&b=2)."},
		{"link without a usable URL", `<a href="javascript:void(0)">x</a> <a href=/rel>y</a>`, "x (javascript:void(0)) y"},
		{"unclosed link", `<a href='https://e.example'>open`, "open (https://e.example)"},
		{"script and style dropped", "<style>p{}</style>Hi<script>alert(1)</script>!", "Hi!"},
		{"comment", "a<!-- hidden -->b", "ab"},
		{"stray angle", "1 < 2 and 3 > 2", "1 < 2 and 3 > 2"},
		{"unclosed tag", "text <b", "text <b"},
		{"spaces folded", "  a \n\n\n  b  ", "a\n\nb"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := plainHTML(tc.in); got != tc.want {
				t.Fatalf("plainHTML(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPlainMarkdown(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"spec example", "# Hello!", "Hello!"},
		{"emphasis", "**bold** __also__ ~~gone~~ `code`", "bold also gone code"},
		{"single marks kept", "snake_case and 2*3", "snake_case and 2*3"},
		{"link", "[order 42](https://shop.example.com/o/42)", "order 42 (https://shop.example.com/o/42)"},
		{"link with title", `[docs](https://d.example "Docs")`, "docs (https://d.example)"},
		{"image", "![a receipt](https://img.example/r.png)", "a receipt"},
		{"quote and list", "> quoted\n- one\n* two\n+ three", "quoted\none\ntwo\nthree"},
		{"fenced code", "```go\nx := 1\n```", "x := 1"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := plainMarkdown(tc.in); got != tc.want {
				t.Fatalf("plainMarkdown(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzPlainText renders arbitrary rich text: never a panic, no tag of the
// input survives as a tag, the output is trimmed and at most one blank line
// separates paragraphs.
func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"<h1>Hello!</h1>", "<a href=\"https://x.example\">x</a>", "# Hello!", "[a](b)", "<<<>>>", "<script>", "&#0;&amp", "\xff<b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, out := range []string{plainHTML(in), plainMarkdown(in)} {
			if out != strings.TrimSpace(out) || strings.Contains(out, "\n\n\n") {
				t.Fatalf("untidy output %q", out)
			}
			if utf8.ValidString(in) && !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 from valid input: %q", out)
			}
		}
	})
}
