package stdwebhook

import "errors"

// Sentinel errors. Verify and ParseSecret wrap exactly one of them with
// context, so callers can branch with errors.Is (for example to log a clock
// skew problem differently from a forged request) while the message still
// says what was wrong.
var (
	// ErrMissingHeader means one of the three webhook headers is empty or
	// absent; the message names which one.
	ErrMissingHeader = errors.New("stdwebhook: missing header")
	// ErrBadTimestamp means webhook-timestamp is not a plausible base-10
	// unix time in seconds.
	ErrBadTimestamp = errors.New("stdwebhook: bad timestamp")
	// ErrTooOld means the timestamp is further in the past than the
	// tolerance allows, which is how replays of captured requests are
	// refused.
	ErrTooOld = errors.New("stdwebhook: timestamp too old")
	// ErrTooNew means the timestamp is further in the future than the
	// tolerance allows (a skewed sender clock, or a request pre-signed to
	// outlive the replay window).
	ErrTooNew = errors.New("stdwebhook: timestamp too new")
	// ErrNoMatch means no v1 signature in the header matches the content
	// under any of the secrets: the request is not authentic, was altered,
	// or is signed with a secret we do not hold.
	ErrNoMatch = errors.New("stdwebhook: no matching signature")
	// ErrBadSecret means a signing secret is unusable: malformed, of the
	// wrong size, or not configured at all.
	ErrBadSecret = errors.New("stdwebhook: bad secret")
)

// Code names a Verify failure for an error answer: missing_signature (a
// header is absent), bad_timestamp (outside the tolerance or unreadable),
// else bad_signature.
func Code(err error) string {
	switch {
	case errors.Is(err, ErrMissingHeader):
		return "missing_signature"
	case errors.Is(err, ErrTooOld), errors.Is(err, ErrTooNew), errors.Is(err, ErrBadTimestamp):
		return "bad_timestamp"
	default:
		return "bad_signature"
	}
}
