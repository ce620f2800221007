package twilio

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// SMS segments (3GPP TS 23.038 and 23.040): a text that is all GSM-7
// (the basic character set, plus the extension table at two septets a
// character) fits 160 septets in one SMS, 153 a segment when concatenated;
// any other character makes the whole message UCS-2: 70 UTF-16 code units
// in one SMS, 67 a segment. Twilio bills and delivers by segment.

const (
	gsmSingle  = 160
	gsmSegment = 153
	ucsSingle  = 70
	ucsSegment = 67
	// maxBody is the Messages API's limit on Body.
	maxBody = 1600
)

// gsmBasic is the GSM 03.38 default alphabet (escape excluded).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtended are the extension-table characters: two septets each.
const gsmExtended = "^{}\\[~]|€\f"

var gsmBasicSet, gsmExtSet = runeSet(gsmBasic), runeSet(gsmExtended)

func runeSet(s string) map[rune]bool {
	m := make(map[rune]bool, utf8.RuneCountInString(s))
	for _, r := range s {
		m[r] = true
	}
	return m
}

// septets is s's length in GSM-7, and whether s is GSM-7 at all.
func septets(s string) (int, bool) {
	n := 0
	for _, r := range s {
		switch {
		case gsmBasicSet[r]:
			n++
		case gsmExtSet[r]:
			n += 2
		default:
			return 0, false
		}
	}
	return n, true
}

// segments is how many SMS segments s takes.
func segments(s string) int {
	if n, ok := septets(s); ok {
		if n <= gsmSingle {
			return 1
		}
		return (n + gsmSegment - 1) / gsmSegment
	}
	units := len(utf16.Encode([]rune(s)))
	if units <= ucsSingle {
		return 1
	}
	return (units + ucsSegment - 1) / ucsSegment
}

// smartChars are typographic characters with a GSM-7 stand-in, the set
// Twilio's own Smart Encoding is documented to cover in spirit.
var smartChars = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201a", "'", "\u201b", "'", "\u2032", "'", "\u00b4", "'", "`", "'",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`, "\u201f", `"`, "\u2033", `"`, "\u00ab", `"`, "\u00bb", `"`,
	"\u2013", "-", "\u2014", "-", "\u2015", "-", "\u2012", "-", "\u2010", "-", "\u2011", "-", "\u2212", "-",
	"\u2026", "...", "\u00a0", " ", "\u2009", " ", "\u200a", " ", "\u2002", " ", "\u2003", " ", "\u202f", " ",
	"\u200b", "", "\u2060", "", "\ufeff", "", "\u2022", "*", "\u00b7", "*", "\u2192", "->",
)

// smartEncode returns s with typographic characters replaced, when that
// makes it GSM-7; otherwise s (UCS-2 is needed anyway, so the originals
// stay).
func smartEncode(s string) string {
	if _, ok := septets(s); ok {
		return s
	}
	r := smartChars.Replace(s)
	if _, ok := septets(r); ok {
		return r
	}
	return s
}

// splitParts cuts text into parts that each satisfy fits, at line breaks
// where it can, else at spaces, else inside a word; parts after splitting
// carry "(i/n) " so the visitor reads them in order even if the network
// reorders them.
func splitParts(text string, fits func(string) bool) []string {
	if text == "" {
		return nil
	}
	if fits(text) {
		return []string{text}
	}
	n := 2
	for range 4 { // the count's digits settle within a few rounds
		parts := greedy(text, n, fits)
		if len(parts) == n || digits(len(parts)) == digits(n) {
			return numbered(parts)
		}
		n = len(parts)
	}
	return numbered(greedy(text, n, fits))
}

func digits(n int) int { return len(strconv.Itoa(n)) }

// prefixFor is the widest prefix for n parts ("(nn/nn) ").
func prefixFor(n int) string { return "(" + strconv.Itoa(n) + "/" + strconv.Itoa(n) + ") " }

func numbered(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = "(" + strconv.Itoa(i+1) + "/" + strconv.Itoa(len(parts)) + ") " + p
	}
	return out
}

// greedy packs tokens (lines, then words) into chunks that fit with the
// prefix of n parts.
func greedy(text string, n int, fits func(string) bool) []string {
	prefix := prefixFor(n)
	ok := func(s string) bool { return fits(prefix + s) }
	var parts []string
	cur := ""
	flush := func() {
		if t := strings.TrimRightFunc(cur, unicode.IsSpace); t != "" {
			parts = append(parts, t)
		}
		cur = ""
	}
	word := func(tok string) {
		switch {
		case ok(cur + tok):
			cur += tok
		case cur != "" && ok(strings.TrimLeft(tok, " \n")):
			flush()
			cur = strings.TrimLeft(tok, " \n")
		default:
			// A word longer than a part: cut it into the longest pieces
			// that fit (found by halving, not rune by rune).
			flush()
			rs := []rune(strings.TrimLeft(tok, " \n"))
			for len(rs) > 0 {
				n := sort.Search(len(rs), func(i int) bool { return !ok(string(rs[:i+1])) })
				if n == 0 {
					n = 1 // a rune that fits nowhere still goes (fits is never that strict)
				}
				if n == len(rs) {
					cur = string(rs)
					break
				}
				cur = string(rs[:n])
				flush()
				rs = rs[n:]
			}
		}
	}
	// Whole lines first, so a list item stays in one part; a line too long
	// for any part is packed word by word.
	for _, line := range lines(text) {
		switch {
		case ok(cur + line):
			cur += line
		case cur != "" && ok(strings.TrimLeft(line, " \n")):
			flush()
			cur = strings.TrimLeft(line, " \n")
		default:
			for _, tok := range tokens(line) {
				word(tok)
			}
		}
	}
	flush()
	return parts
}

// lines splits text into lines, each with the line break before it, so
// joining them restores the text.
func lines(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		if r == '\n' && i > start {
			out = append(out, text[start:i])
			start = i
		}
	}
	return append(out, text[start:])
}

// tokens splits text into words, each with the separator before it (a
// space or a line break), so joining them restores the text.
func tokens(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		if (r == ' ' || r == '\n') && i > start {
			out = append(out, text[start:i])
			start = i
		}
	}
	return append(out, text[start:])
}
