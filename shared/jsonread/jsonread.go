// Package jsonread reads JSON of a shape known in advance without
// reflection, for the warm path's hot decoders (shared/lambdaevent: the
// entry's events; shared/queue: the envelope). A Reader's methods read one
// value each and return false when the input is not what they read, and
// the caller then leaves the whole input to encoding/json: the fast
// readers need only be right for what they accept. Strings are decoded as
// encoding/json decodes them (escapes, invalid UTF-8 and lone surrogates
// as U+FFFD), numbers and literals checked to JSON's grammar.
package jsonread

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// New returns a Reader of b. common, if not nil, gives the strings that
// are the same in every input (header names, fixed values) without
// allocating; the Reader also shares one string between equal values of
// the same input.
func New(b []byte, common func([]byte) (string, bool)) Reader {
	return Reader{b: b, common: common}
}

// Null consumes a null if one is next (encoding/json leaves a field its
// zero value for it, or makes a map or pointer nil).
func (d *Reader) Null() bool {
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// Offset is how far the Reader has read.
func (d *Reader) Offset() int { return d.i }

// End skips trailing white space and reports whether the input is done.
func (d *Reader) End() bool {
	d.WS()
	return d.i == len(d.b)
}

// Skip passes over one valid JSON value.
func (d *Reader) Skip() bool { return d.skip(0) }

// Raw passes over one valid JSON value and returns its bytes (part of the
// input, not a copy).
func (d *Reader) Raw() ([]byte, bool) {
	d.WS()
	start := d.i
	if !d.skip(0) {
		return nil, false
	}
	return d.b[start:d.i], true
}

func (d *Reader) commonKey(b []byte) (string, bool) {
	if d.common == nil {
		return "", false
	}
	return d.common(b)
}

// maxDepth bounds the nesting of a skipped value; deeper is left to
// encoding/json.
const maxDepth = 64

// Reader reads one payload. Every method returns false when the input is
// not of the shape it reads; the caller then gives up on the fast path.
type Reader struct {
	b []byte
	i int
	// common, when set, returns strings every input repeats without
	// allocating (see New).
	common func([]byte) (string, bool)
	// seen strings, to share one string where a request repeats a value
	// (routeKey, path, user agent, domain in the request context)
	recent [24]string
	slot   int
}

// maxShared bounds the strings compared with the recent ones.
const maxShared = 128

func (d *Reader) WS() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c,
// consuming it if so.
func (d *Reader) Next(c byte) bool {
	d.WS()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// members walks an object's members: each call to member returns the next
// key (undecoded when it needs no decoding), with the value next in the
// input; false at the end, or on bad input (then bad is set).
type Members struct {
	started, bad bool
}

// Bad reports that the object ended in bad input, not at its '}'.
func (o *Members) Bad() bool { return o.bad }

func (d *Reader) Member(o *Members) ([]byte, bool) {
	switch {
	case !o.started:
		o.started = true
		if !d.Next('{') {
			o.bad = true
			return nil, false
		}
		if d.Next('}') {
			return nil, false
		}
	case d.Next(','):
	case d.Next('}'):
		return nil, false
	default:
		o.bad = true
		return nil, false
	}
	d.WS()
	key, ok := d.key()
	if !ok || !d.Next(':') {
		o.bad = true
		return nil, false
	}
	d.WS()
	return key, true
}

// Elements walks an array's elements: each call to Element reports that
// another value is next; false at the end, or on bad input (then Bad).
type Elements struct {
	started, bad bool
}

// Bad reports that the array ended in bad input, not at its ']'.
func (o *Elements) Bad() bool { return o.bad }

// Element moves to the next element of the array, reporting whether there is one.
func (d *Reader) Element(o *Elements) bool {
	switch {
	case !o.started:
		o.started = true
		if !d.Next('[') {
			o.bad = true
			return false
		}
		if d.Next(']') {
			return false
		}
	case d.Next(','):
	case d.Next(']'):
		return false
	default:
		o.bad = true
		return false
	}
	d.WS()
	return true
}

// key reads a member's key: the input's own bytes when it holds no escape
// or non-ASCII byte, else its decoded form.
func (d *Reader) key() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	for i := d.i + 1; i < len(d.b); i++ {
		c := d.b[i]
		if c == '"' {
			k := d.b[d.i+1 : i]
			d.i = i + 1
			return k, true
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
	}
	k, ok := d.Str()
	return []byte(k), ok
}

// seen guards against a key given twice: encoding/json's merging of a
// repeated object is left to it.
type Seen uint32

func (s *Seen) First(bit int) bool {
	if *s&(1<<bit) != 0 {
		return false
	}
	*s |= 1 << bit
	return true
}

func FoldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

func (d *Reader) Into(s *string) bool {
	v, ok := d.Str()
	*s = v
	return ok
}

// Strings reads an array of strings.
func (d *Reader) Strings(out *[]string) bool {
	var (
		o  Elements
		ok = true
		ss = []string{}
	)
	for more := d.Element(&o); more && ok; more = d.Element(&o) {
		var v string
		v, ok = d.Str()
		ss = append(ss, v)
	}
	*out = ss
	return ok && !o.Bad()
}

// StrMap reads an object of strings. A repeated key keeps its last value,
// as in encoding/json.
func (d *Reader) StrMap(out *map[string]string) bool {
	var (
		o  Members
		ok = true
		m  = map[string]string{}
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		var v string
		v, ok = d.Str()
		if k, ok := d.commonKey(key); ok {
			m[k] = v
		} else {
			m[string(key)] = v
		}
	}
	*out = m
	return ok && !o.bad
}

func (d *Reader) Bool(b *bool) bool {
	switch {
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		*b, d.i = true, d.i+4
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		*b, d.i = false, d.i+5
	default:
		return false
	}
	return true
}

// Int reads a JSON number that is an int64 (encoding/json refuses a
// fraction or an exponent there; that error is left to it).
func (d *Reader) Int(n *int64) bool {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || (d.b[digits] == '0' && d.i-digits > 1) {
		return false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return false
	}
	v, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	*n = v
	return err == nil
}

// Str reads a string at the current position, decoding it as encoding/json does: escapes,
// invalid UTF-8 as U+FFFD, a lone surrogate as U+FFFD.
func (d *Reader) Str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	i := start
	for i < len(d.b) {
		c := d.b[i]
		if c == '"' {
			d.i = i + 1
			return d.share(d.b[start:i]), true
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	// The slow half: escapes or non-ASCII. The string's bytes are written
	// once, into a buffer of about its size (the raw length: escapes only
	// shrink; invalid UTF-8, which grows, makes append grow it).
	end := i
	for end < len(d.b) && d.b[end] != '"' {
		if d.b[end] == '\\' {
			end++
		}
		end++
	}
	buf := make([]byte, 0, min(end, len(d.b))-start+8)
	buf = append(buf, d.b[start:i]...)
	for i < len(d.b) {
		c := d.b[i]
		switch {
		case c == '"':
			d.i = i + 1
			// buf is this string's alone and never written again.
			return unsafe.String(unsafe.SliceData(buf), len(buf)), true
		case c < ' ':
			return "", false
		case c == '\\':
			if i+1 >= len(d.b) {
				return "", false
			}
			switch e := d.b[i+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r := getu4(d.b[i:])
				if r < 0 {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if dec := utf16.DecodeRune(r, getu4(d.b[i:])); dec != unicode.ReplacementChar {
						i += 6
						buf = utf8.AppendRune(buf, dec)
						continue
					}
					r = unicode.ReplacementChar
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default:
				return "", false
			}
			i += 2
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.b[i:])
			buf = utf8.AppendRune(buf, r)
			i += size
		}
	}
	return "", false
}

// share returns b as a string, allocating only when it is neither common
// nor one the request has already given.
func (d *Reader) share(b []byte) string {
	if d.common != nil {
		if v, ok := d.common(b); ok {
			return v
		}
	}
	if len(b) > maxShared {
		return string(b)
	}
	for _, r := range d.recent {
		if r == string(b) && r != "" {
			return r
		}
	}
	v := string(b)
	d.recent[d.slot%len(d.recent)] = v
	d.slot++
	return v
}

// skipStr passes over a valid string without decoding it.
func (d *Reader) skipStr() bool {
	for i := d.i + 1; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			d.i = i + 1
			return true
		case c < ' ':
			return false
		case c == '\\':
			if i+1 >= len(d.b) {
				return false
			}
			switch d.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if getu4(d.b[i:]) < 0 {
					return false
				}
				i += 5
			default:
				return false
			}
		}
	}
	return false
}

// getu4 decodes \uXXXX at the start of b, or returns -1.
func getu4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// skip passes over one valid JSON value.
func (d *Reader) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	d.WS()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.skipStr()
	case c == '{':
		var (
			o  Members
			ok = true
		)
		for _, more := d.Member(&o); more && ok; _, more = d.Member(&o) {
			ok = d.skip(depth + 1)
		}
		return ok && !o.bad
	case c == '[':
		var (
			o  Elements
			ok = true
		)
		for more := d.Element(&o); more && ok; more = d.Element(&o) {
			ok = d.skip(depth + 1)
		}
		return ok && !o.Bad()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return false
}

func (d *Reader) literal(s string) bool {
	if !bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		return false
	}
	d.i += len(s)
	return true
}

// number passes over a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *Reader) number() bool {
	if d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// Fields reads b as an object and sets out[i] to the raw value of the
// member named names[i] (part of b, not a copy), skipping the others, as
// json.Unmarshal does into a struct of json.RawMessage fields. It returns
// false, for the caller to use encoding/json, when b is anything else: not
// one valid object, a name given twice, or a key encoding/json would match
// to a name only in another case.
func Fields(b []byte, names []string, out []json.RawMessage) bool {
	var (
		d    = New(b, nil)
		seen Seen
		o    Members
		ok   = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		i := slices.Index(names, string(key))
		switch {
		case i >= 0:
			out[i], ok = d.Raw()
			ok = ok && seen.First(i)
		default:
			ok = !FoldsTo(key, names...) && d.Skip()
		}
	}
	return ok && !o.Bad() && d.End()
}

// String decodes raw, a JSON string with nothing around it but white
// space, as json.Unmarshal into a string would; false for anything else.
func String(raw []byte) (string, bool) {
	d := New(raw, nil)
	d.WS()
	s, ok := d.Str()
	return s, ok && d.End()
}
