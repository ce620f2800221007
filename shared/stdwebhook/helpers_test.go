package stdwebhook

import (
	"errors"
	"testing"
)

// sentinels lists every exported sentinel, so tests can check that an error
// wraps exactly the one they expect and no other.
var sentinels = []error{ErrMissingHeader, ErrBadTimestamp, ErrTooOld, ErrTooNew, ErrNoMatch, ErrBadSecret}

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

// mustSecret parses s or fails the test.
func mustSecret(t testing.TB, s string) Secret {
	t.Helper()
	k, err := ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret: %v", err)
	}
	return k
}
