package stdwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// DefaultTolerance is how far a timestamp may be from now, in either
// direction, before Verify refuses it. It bounds the replay window while
// leaving room for clock skew and retries in flight.
const DefaultTolerance = 5 * time.Minute

// maxTimestamp is 9999-12-31T23:59:59Z. Anything larger is not a real
// timestamp, and bounding it keeps parsing and time arithmetic far from
// int64 overflow.
const maxTimestamp = 253402300799

// maxEncodedSig bounds the base64 text of one signature entry we bother
// decoding; a v1 signature is 44 characters, so anything longer cannot
// match and is skipped without work.
const maxEncodedSig = 64

// Verify checks a delivery's three header values against any of secrets
// (several may be valid at once while a secret is being rotated), over the
// raw body exactly as received, at time now. tolerance <= 0 means
// DefaultTolerance; a timestamp exactly tolerance away is still accepted.
//
// It returns nil when some v1 entry of signature matches, otherwise an error
// wrapping exactly one sentinel:
//   - ErrBadSecret: secrets holds no non-empty key (a configuration problem,
//     so it is reported before anything about the request);
//   - ErrMissingHeader: a header value is empty (the message names it);
//   - ErrBadTimestamp: timestamp is not a base-10 integer in a sane range;
//   - ErrTooOld / ErrTooNew: timestamp is outside now±tolerance;
//   - ErrNoMatch: id contains '.', or no v1 entry matches (including when
//     there are no v1 entries, or only malformed ones).
//
// Signatures are compared with hmac.Equal on the decoded bytes.
func Verify(secrets []Secret, id, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if !hasKey(secrets) {
		return fmt.Errorf("verify webhook: no secret configured: %w", ErrBadSecret)
	}
	switch {
	case id == "":
		return fmt.Errorf("verify webhook: %s is empty: %w", HeaderID, ErrMissingHeader)
	case timestamp == "":
		return fmt.Errorf("verify webhook: %s is empty: %w", HeaderTimestamp, ErrMissingHeader)
	case signature == "":
		return fmt.Errorf("verify webhook: %s is empty: %w", HeaderSignature, ErrMissingHeader)
	}
	ts, ok := parseTimestamp(timestamp)
	if !ok {
		return fmt.Errorf("verify webhook: %s is not a unix time in seconds: %w", HeaderTimestamp, ErrBadTimestamp)
	}
	if err := checkAge(ts, now, tolerance); err != nil {
		return err
	}
	if strings.IndexByte(id, '.') >= 0 {
		// Such an id makes "{id}.{ts}.{body}" ambiguous, so no signature
		// over it can be trusted.
		return fmt.Errorf("verify webhook: %s contains '.': %w", HeaderID, ErrNoMatch)
	}
	// The scratch space escapes into the hash.Hash interface calls and so
	// lives on the heap; one allocation covers the prefix and the MAC for
	// every secret.
	scratch := new(struct {
		prefix [prefixBufLen]byte
		mac    [sha256.Size]byte
	})
	prefix := appendPrefix(scratch.prefix[:0], id, ts)
	for _, key := range secrets {
		if len(key) == 0 {
			continue
		}
		mac := macWithPrefix(scratch.mac[:0], key, prefix, body)
		if matchesAny(signature, mac) {
			return nil
		}
	}
	return fmt.Errorf("verify webhook: no valid v1 entry in %s: %w", HeaderSignature, ErrNoMatch)
}

// hasKey reports whether secrets holds at least one usable (non-empty) key.
// An empty key would make every HMAC forgeable by anyone, so it never counts.
func hasKey(secrets []Secret) bool {
	for _, k := range secrets {
		if len(k) > 0 {
			return true
		}
	}
	return false
}

// parseTimestamp parses unix seconds written as ASCII digits, ignoring
// surrounding whitespace. Signs, decimals and values past year 9999 are
// refused; the range check inside the loop rules out overflow for any input
// length.
func parseTimestamp(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > maxTimestamp {
			return 0, false
		}
	}
	return n, true
}

// checkAge enforces the replay window. time.Time.Sub saturates instead of
// overflowing, so this is safe for any now, including the zero Time.
func checkAge(ts int64, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sent := time.Unix(ts, 0)
	if age := now.Sub(sent); age > tolerance {
		return fmt.Errorf("verify webhook: timestamp %d is %s old, tolerance %s: %w", ts, age, tolerance, ErrTooOld)
	}
	if ahead := sent.Sub(now); ahead > tolerance {
		return fmt.Errorf("verify webhook: timestamp %d is %s in the future, tolerance %s: %w", ts, ahead, tolerance, ErrTooNew)
	}
	return nil
}

// matchesAny reports whether any "v1,<base64>" entry of the space-separated
// header decodes to mac. Entries of other versions, entries without a comma
// and entries that are not valid base64 are skipped, as the spec asks, so
// that senders can add new versions. It walks the header in place rather
// than splitting it, to avoid allocating on every request.
func matchesAny(header string, mac []byte) bool {
	var buf [48]byte // base64 of maxEncodedSig characters decodes to at most 48 bytes
	rest := header
	for rest != "" {
		var entry string
		entry, rest, _ = strings.Cut(rest, " ")
		version, enc, ok := strings.Cut(entry, ",")
		if !ok || version != versionV1 || enc == "" || len(enc) > maxEncodedSig {
			continue
		}
		// Copying into a stack array avoids the heap allocation that a
		// []byte(enc) conversion of this size would cost.
		var src [maxEncodedSig]byte
		m := copy(src[:], enc)
		n, err := base64.StdEncoding.Decode(buf[:], src[:m])
		if err != nil {
			continue
		}
		if hmac.Equal(buf[:n], mac) {
			return true
		}
	}
	return false
}
