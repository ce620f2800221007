package sunshine

import (
	"html"
	"regexp"
	"strings"
	"sync"
)

// A message may carry htmlText or markdownText instead of text (the spec's
// textMessage, imageMessage and fileMessage). The AI agent takes plain
// text, so these render it plainly: markup goes, line structure stays.

// blockTags end a line when they open or close.
var blockTags = map[string]bool{
	"br": true, "p": true, "div": true, "li": true, "ul": true, "ol": true, "tr": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"blockquote": true, "pre": true, "hr": true, "table": true,
}

// skipTags hide their content.
var skipTags = map[string]bool{"script": true, "style": true, "head": true, "title": true}

// plainHTML renders HTML as plain text: tags are dropped (block tags break
// the line, a link keeps its text and adds its URL), entities are decoded,
// runs of blanks are folded. It is a reader of what SunCo delivers, not a
// sanitizer: its output is only ever text for the AI agent.
func plainHTML(s string) string {
	var b strings.Builder
	skip, link := "", ""
	for s != "" {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			if skip == "" {
				b.WriteString(html.UnescapeString(s))
			}
			break
		}
		if skip == "" {
			b.WriteString(html.UnescapeString(s[:i]))
		}
		s = s[i:]
		if !startsTag(s) {
			// "<" not followed by a tag name is text, as in HTML.
			if skip == "" {
				b.WriteByte('<')
			}
			s = s[1:]
			continue
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			// An unclosed '<' is text.
			if skip == "" {
				b.WriteString(html.UnescapeString(s))
			}
			break
		}
		tag := s[1:end]
		s = s[end+1:]
		if strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "?") {
			continue // comment, doctype, processing instruction
		}
		closing := strings.HasPrefix(tag, "/")
		name := strings.ToLower(strings.TrimLeft(tag, "/"))
		if j := strings.IndexAny(name, " \t\r\n/"); j >= 0 {
			name = name[:j]
		}
		switch {
		case skip != "":
			if closing && name == skip {
				skip = ""
			}
		case skipTags[name] && !closing && !strings.HasSuffix(tag, "/"):
			skip = name
		case blockTags[name]:
			b.WriteByte('\n')
		case name == "a" && !closing:
			link = href(tag)
		case name == "a" && link != "":
			// Where the link goes, after its text: the AI agent gets no
			// markup to follow it by.
			b.WriteString(" (" + link + ")")
			link = ""
		}
	}
	if link != "" {
		b.WriteString(" (" + link + ")")
	}
	return foldBlank(b.String())
}

// startsTag reports whether s (which starts with '<') opens a tag, a
// closing tag, a comment or a declaration.
func startsTag(s string) bool {
	if len(s) < 2 {
		return false
	}
	c := s[1]
	return c == '/' || c == '!' || c == '?' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// The patterns compile on first use, not at every function's start
// (shared/ascii says what a pattern costs there): only a rich-text
// message needs them.
var hrefRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
})

// href reads a tag's href ("a href=..."), decoded; "" unless it is an
// absolute URL.
func href(tag string) string {
	m := hrefRE().FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	v := strings.TrimSpace(html.UnescapeString(m[1] + m[2] + m[3]))
	if !validURI(v) {
		return ""
	}
	return v
}

// Markdown: headings, quotes and list markers at line starts; emphasis,
// code and strike marks; [text](url) links and ![alt](url) images.
type markdownPatterns struct{ image, link, lead, marks, fenced *regexp.Regexp }

var markdown = sync.OnceValue(func() markdownPatterns {
	return markdownPatterns{
		image:  regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`),
		link:   regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)`),
		lead:   regexp.MustCompile(`(?m)^[ \t]{0,3}(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+)`),
		marks:  regexp.MustCompile("\\*\\*|__|~~|`+"),
		fenced: regexp.MustCompile("(?m)^[ \t]*```[^\n]*$"),
	}
})

// plainMarkdown renders Markdown as plain text. Single * and _ are kept:
// they are as often part of words (snake_case, 2*3) as emphasis.
func plainMarkdown(s string) string {
	if s == "" {
		return ""
	}
	md := markdown()
	s = md.fenced.ReplaceAllString(s, "")
	s = md.image.ReplaceAllString(s, "$1")
	s = md.link.ReplaceAllString(s, "$1 ($2)")
	s = md.lead.ReplaceAllString(s, "")
	s = md.marks.ReplaceAllString(s, "")
	return foldBlank(s)
}

// foldBlank trims each line, folds runs of spaces and keeps at most one
// empty line between paragraphs.
func foldBlank(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	out := make([]string, 0, len(lines))
	blank := false
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			if len(out) > 0 && !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
