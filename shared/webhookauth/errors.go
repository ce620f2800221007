package webhookauth

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so handlers can map them to responses and metrics with errors.Is
// while the message says what was wrong. Messages name headers and
// parameters but never contain a secret or a received credential.
var (
	// ErrMissing means the header or query parameter that should carry the
	// credential is absent or empty.
	ErrMissing = errors.New("webhookauth: credential missing")
	// ErrMismatch means a credential was presented but matches none of the
	// secrets (or cannot even be decoded).
	ErrMismatch = errors.New("webhookauth: credential mismatch")
	// ErrNoSecret means the scheme needs a secret and none is configured; a
	// deployment problem, not a bad request.
	ErrNoSecret = errors.New("webhookauth: no secret configured")
	// ErrBadScheme means the Scheme configuration is invalid or names an
	// unknown kind.
	ErrBadScheme = errors.New("webhookauth: bad scheme")
)

// fieldError is a configuration problem with one Scheme field. It prints as
// "webhookAuth.<field>: <problem>", the form operators see when a config is
// rejected, and unwraps to ErrBadScheme for errors.Is.
type fieldError struct {
	field   string
	problem string
}

func (e *fieldError) Error() string { return "webhookAuth." + e.field + ": " + e.problem }

func (e *fieldError) Unwrap() error { return ErrBadScheme }
