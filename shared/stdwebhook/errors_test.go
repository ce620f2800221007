package stdwebhook

import (
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("webhook-id is empty: %w", ErrMissingHeader), "missing_signature"},
		{fmt.Errorf("x: %w", ErrTooOld), "bad_timestamp"},
		{fmt.Errorf("x: %w", ErrTooNew), "bad_timestamp"},
		{fmt.Errorf("x: %w", ErrBadTimestamp), "bad_timestamp"},
		{fmt.Errorf("x: %w", ErrNoMatch), "bad_signature"},
		{fmt.Errorf("x: %w", ErrBadSecret), "bad_signature"},
	} {
		if got := Code(tc.err); got != tc.want {
			t.Errorf("Code(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
