package egress

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/ascii"
)

// StatusError is a non-2xx answer (or a 2xx whose content the caller could
// not use). It never holds the answer's body: answers may echo personal
// data (an e-mail, a message), and this error ends up in logs, in dead
// letters and in the AI agent's answer.
type StatusError struct {
	Op         string        // the call, e.g. "sunshine PostMessage"
	Status     int           // the HTTP status
	RetryAfter time.Duration // the answer's Retry-After, 0 if none
	// Code is the vendor's machine-readable error code, kept only when it
	// matches a short identifier pattern (no spaces, no @).
	Code string
	// Reason is the bridge's own explanation ("redirect not followed",
	// "the answer has no bearer"), never text taken from the answer.
	Reason string
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		b.WriteString(" (code " + e.Code + ")")
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// TransportError is a call that got no answer: a refused or timed-out
// connection, a TLS failure, a destination the guard refused. It holds the
// cause without the URL, whose query may carry tokens.
type TransportError struct {
	Op  string
	Err error
}

func (e *TransportError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// ErrTooLarge is an answer over the request's size limit.
var ErrTooLarge = errors.New("answer too large")

// SafeCode returns code if it looks like a vendor error code (a short
// identifier: a letter, then at most 63 letters, digits and _ . : -), else
// "".
func SafeCode(code string) string {
	if code != "" && ascii.Letter(code[0]) && (len(code) == 1 || ascii.Token(code[1:], 63, "_.:-")) {
		return code
	}
	return ""
}

// RetryableStatus is the one rule for statuses worth another attempt: 408,
// 429 and 5xx, except 501 and 505, which say the server will never do what
// was asked.
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		return true
	case status == http.StatusNotImplemented || status == http.StatusHTTPVersionNotSupported:
		return false
	default:
		return status >= 500 && status <= 599
	}
}

// MaxRetryAfter caps a server's Retry-After: beyond it the value is taken as
// a misbehaving server's, and the retry policy gives up at once anyway when
// the wait does not fit the deadline.
const MaxRetryAfter = 60 * time.Second

// RetryAfter reads a Retry-After header (RFC 9110 §10.2.3): delta-seconds or
// an HTTP date, relative to now (the caller's clock). Empty, past and
// unparsable values are 0; anything longer is MaxRetryAfter.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return 0
	}
	if isDigits(v) {
		// Seven digits are months, past the cap either way; parsing longer
		// strings could overflow.
		if len(v) > 6 {
			return MaxRetryAfter
		}
		n := 0
		for _, r := range v {
			n = n*10 + int(r-'0')
		}
		return min(time.Duration(n)*time.Second, MaxRetryAfter)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return max(0, min(t.Sub(now), MaxRetryAfter))
}

// Reason is what a log line or a dead letter keeps of a failure: the typed
// summary of an outbound call (operation, status, code; never an answer
// body), or, for anything else, the bridge's own error text, on one line and
// clipped.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var se *StatusError
	if errors.As(err, &se) {
		return clip(se.Error())
	}
	var te *TransportError
	if errors.As(err, &te) {
		return clip(te.Error())
	}
	return clip(err.Error())
}

func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= 300 {
		return s
	}
	s = s[:300]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
