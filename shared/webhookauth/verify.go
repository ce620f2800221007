package webhookauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// Request is what verification needs from an incoming call. Lookups are
// functions so callers can adapt any event type; Header must match names
// case-insensitively. A nil function behaves as if nothing is present.
type Request struct {
	// Header returns the value of the named header, or "" if absent.
	Header func(name string) string
	// Query returns the value of the named (already URL-decoded) query
	// parameter, or "" if absent.
	Query func(name string) string
	// Body is the raw request body, exactly as received.
	Body []byte
}

// signaturePrefix is the GitHub-style marker accepted, but not required,
// before an hmac-sha256 signature.
const signaturePrefix = "sha256="

// Verify checks req against any of the non-empty secrets (two are valid at
// once during a rotation). A nil error means the request is authenticated.
//
// Errors wrap one sentinel: ErrBadScheme for an invalid s, ErrNoSecret when
// the scheme needs a secret and none is non-empty, ErrMissing when the
// credential header or parameter is absent, and ErrMismatch when it is
// present but wrong. SchemeNone always returns nil; callers must log loudly
// that an agent is unauthenticated.
//
// Matching is exact: a header holding several comma-joined values (as API
// Gateway produces for repeated headers) does not match even if one of them
// is the secret. Comparisons take time independent of the secrets' contents
// and every secret is tried, so timing reveals neither which secret matched
// nor how much of one was right.
func Verify(s Scheme, secrets []string, req Request) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("webhook auth: %w", err)
	}
	s = s.WithDefaults()
	if s.Kind == SchemeNone {
		return nil
	}
	if !hasSecret(secrets) {
		return fmt.Errorf("webhook auth: scheme %s: %w", s.Kind, ErrNoSecret)
	}
	switch s.Kind {
	case SchemeHeader:
		return verifyHeader(s, secrets, lookup(req.Header, s.Header))
	case SchemeHMAC:
		return verifyHMAC(s, secrets, lookup(req.Header, s.Header), req.Body)
	case SchemeToken:
		return verifyToken(s, secrets, lookup(req.Query, s.Param))
	}
	// Unreachable: Validate accepts no other kind.
	return fmt.Errorf("webhook auth: scheme %q: %w", truncate(s.Kind, 40), ErrBadScheme)
}

// verifyHeader checks a Prefix+secret header value.
func verifyHeader(s Scheme, secrets []string, value string) error {
	if value == "" {
		return fmt.Errorf("webhook auth: header %s missing: %w", s.Header, ErrMissing)
	}
	if s.Prefix != "" {
		// The prefix is configuration, not a secret, so an early exit
		// here leaks nothing.
		if len(value) < len(s.Prefix) || !asciiEqualFold(value[:len(s.Prefix)], s.Prefix) {
			return fmt.Errorf("webhook auth: header %s lacks prefix %q: %w", s.Header, s.Prefix, ErrMismatch)
		}
		value = value[len(s.Prefix):]
	}
	if !equalsAny(value, secrets) {
		return fmt.Errorf("webhook auth: header %s does not match: %w", s.Header, ErrMismatch)
	}
	return nil
}

// verifyHMAC checks an HMAC-SHA256 signature of body in the header value.
func verifyHMAC(s Scheme, secrets []string, value string, body []byte) error {
	if value == "" {
		return fmt.Errorf("webhook auth: header %s missing: %w", s.Header, ErrMissing)
	}
	if len(value) >= len(signaturePrefix) && asciiEqualFold(value[:len(signaturePrefix)], signaturePrefix) {
		value = value[len(signaturePrefix):]
	}
	got, err := decodeSignature(value, s.Encoding)
	if err != nil {
		return fmt.Errorf("webhook auth: header %s: not valid %s: %w", s.Header, s.Encoding, ErrMismatch)
	}
	if len(got) != sha256.Size {
		return fmt.Errorf("webhook auth: header %s: signature is %d bytes, want %d: %w", s.Header, len(got), sha256.Size, ErrMismatch)
	}
	matched := false
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if hmac.Equal(got, bodyMAC(secret, body)) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("webhook auth: header %s does not match: %w", s.Header, ErrMismatch)
	}
	return nil
}

// verifyToken checks a secret carried in a query parameter.
func verifyToken(s Scheme, secrets []string, value string) error {
	if value == "" {
		return fmt.Errorf("webhook auth: query parameter %s missing: %w", s.Param, ErrMissing)
	}
	if !equalsAny(value, secrets) {
		return fmt.Errorf("webhook auth: query parameter %s does not match: %w", s.Param, ErrMismatch)
	}
	return nil
}

// decodeSignature decodes a signature in the given encoding. Base64 is
// accepted in the standard alphabet with or without padding, since senders
// differ on padding; hex in either case.
func decodeSignature(value, encoding string) ([]byte, error) {
	if encoding == EncodingBase64 {
		if len(value)%4 == 0 {
			return base64.StdEncoding.DecodeString(value)
		}
		return base64.RawStdEncoding.DecodeString(value)
	}
	return hex.DecodeString(value)
}

// bodyMAC is HMAC-SHA256 of body keyed with the secret's UTF-8 bytes.
func bodyMAC(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// equalsAny reports whether got equals one of the non-empty secrets. It
// compares against every secret in constant time (for equal lengths) and
// never returns early, so timing says nothing about which secret, if any,
// matched.
func equalsAny(got string, secrets []string) bool {
	match := 0
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		match |= subtle.ConstantTimeCompare([]byte(got), []byte(secret))
	}
	return match == 1
}

// hasSecret reports whether any secret is non-empty. Empty secrets are
// ignored everywhere: an empty string would otherwise let an empty
// credential through.
func hasSecret(secrets []string) bool {
	for _, s := range secrets {
		if s != "" {
			return true
		}
	}
	return false
}

// lookup calls get, treating a nil function as "nothing present".
func lookup(get func(string) string, name string) string {
	if get == nil {
		return ""
	}
	return get(name)
}

// asciiEqualFold is strings.EqualFold restricted to ASCII letters. Prefixes
// are ASCII (Validate enforces it) and plain ASCII folding cannot be fooled
// by Unicode folds such as 'ſ' ~ 's' or 'K' (Kelvin) ~ 'k'.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
