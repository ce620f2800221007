package obs

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// record is one EMF line: a metric's value under its dimension sets.
type record struct {
	namespace, service, level string
	name, unit                string
	value                     float64  // finite
	keys                      []string // dimension names: Service, then the call's sorted
	dims                      map[string]string
	now                       time.Time
}

// appendRecord appends r's JSON to b: byte for byte what marshalRecord
// (encoding/json over maps) writes, keys sorted at every level, strings
// and numbers escaped and formatted alike, but into a reused buffer, with
// no allocation. top is scratch space for the top-level keys, returned for
// reuse.
func appendRecord(b []byte, top []string, r *record) ([]byte, []string) {
	top = append(top, r.keys...) // Service and the dimensions
	top = append(top, r.name, "_aws", "level", "timestamp")
	slices.Sort(top)
	b = append(b, '{')
	for i, k := range top {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		switch k {
		case "_aws":
			b = append(b, `{"CloudWatchMetrics":[{"Dimensions":[`...)
			b = appendStrings(b, r.keys)
			if len(r.keys) > 1 {
				b = append(b, ',')
				b = appendStrings(b, r.keys[:1])
			}
			b = append(b, `],"Metrics":[{"Name":`...)
			b = appendString(b, r.name)
			b = append(b, `,"Unit":`...)
			b = appendString(b, r.unit)
			b = append(b, `}],"Namespace":`...)
			b = appendString(b, r.namespace)
			b = append(b, `}],"Timestamp":`...)
			b = strconv.AppendInt(b, r.now.UnixMilli(), 10)
			b = append(b, '}')
		case "Service":
			b = appendString(b, r.service)
		case "level":
			b = appendString(b, r.level)
		case "timestamp":
			b = append(b, '"') // RFC 3339 is digits and -:.TZ+, nothing to escape
			b = r.now.UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		case r.name:
			b = appendFloat(b, r.value)
		default:
			b = appendString(b, r.dims[k])
		}
	}
	return append(b, '}'), top
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendFloat formats a finite f as encoding/json does: the shortest
// decimal that reads back as f, in exponent form only for very small or
// large magnitudes, with the exponent's leading zero dropped.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString appends s as a JSON string escaped as encoding/json escapes
// it: quotes, backslashes and control characters, the HTML characters <,
// > and &, U+2028 and U+2029; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
