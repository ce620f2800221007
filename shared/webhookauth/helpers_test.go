package webhookauth

import (
	"errors"
	"strings"
	"testing"
)

var sentinels = []error{ErrMissing, ErrMismatch, ErrNoSecret, ErrBadScheme}

// checkErr fails t unless err wraps want (nil meaning success) and no other
// sentinel.
func checkErr(t testing.TB, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want one wrapping %v", err, want)
	}
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			t.Fatalf("error %v wraps %v as well as %v", err, s, want)
		}
	}
}

// request builds a Request whose header lookup is case-insensitive, as
// callers are required to provide.
func request(headers, query map[string]string, body string) Request {
	return Request{
		Header: func(name string) string {
			for k, v := range headers {
				if strings.EqualFold(k, name) {
					return v
				}
			}
			return ""
		},
		Query: func(name string) string { return query[name] },
		Body:  []byte(body),
	}
}

// hdr is a one-header map, for brevity in tables.
func hdr(name, value string) map[string]string { return map[string]string{name: value} }
