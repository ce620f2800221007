package stdwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// Header names, lower-case as in the spec. HTTP header lookups are
// case-insensitive, so these work with any canonicalisation.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// versionV1 is the only signature version this package produces or accepts.
const versionV1 = "v1"

// Sign returns the webhook-signature value "v1,<base64>" for body sent as
// message id at time ts (truncated to whole seconds, as the header is).
//
// id must not contain '.', because the signed content joins the fields with
// '.' and such an id would make it ambiguous; Verify refuses such ids, so a
// signature over one is useless. Sign cannot fail, so it does not check.
func Sign(secret Secret, id string, ts time.Time, body []byte) string {
	var sum [sha256.Size]byte
	mac := computeMAC(sum[:0], secret, id, ts.Unix(), body)
	out := make([]byte, 0, len(versionV1)+1+base64.StdEncoding.EncodedLen(len(mac)))
	out = append(out, versionV1...)
	out = append(out, ',')
	out = base64.StdEncoding.AppendEncode(out, mac)
	return string(out)
}

// Headers returns the three headers for an outbound delivery, keyed by the
// Header* constants, ready to be set on the request.
func Headers(secret Secret, id string, ts time.Time, body []byte) map[string]string {
	return map[string]string{
		HeaderID:        id,
		HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10),
		HeaderSignature: Sign(secret, id, ts, body),
	}
}

// computeMAC appends HMAC-SHA256(key, "{id}.{ts}.{body}") to dst.
func computeMAC(dst []byte, key []byte, id string, ts int64, body []byte) []byte {
	var buf [prefixBufLen]byte
	return macWithPrefix(dst, key, appendPrefix(buf[:0], id, ts), body)
}

// prefixBufLen fits the "{id}.{ts}." prefix for ids up to about 100 bytes
// without growing; longer ids still work, with one extra allocation.
const prefixBufLen = 128

// appendPrefix appends "{id}.{ts}." to dst. The timestamp is formatted
// canonically (base 10, no padding), as the reference implementations do,
// so the signed content does not depend on how a sender spelled the number.
func appendPrefix(dst []byte, id string, ts int64) []byte {
	dst = append(dst, id...)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, ts, 10)
	return append(dst, '.')
}

// macWithPrefix appends HMAC-SHA256(key, prefix || body) to dst. Taking the
// prefix ready-made lets Verify build it once for all secrets, and hashing it
// in one Write instead of four keeps per-request overhead down.
func macWithPrefix(dst, key, prefix, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(prefix)
	m.Write(body)
	return m.Sum(dst)
}
