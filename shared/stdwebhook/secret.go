package stdwebhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// secretPrefix marks a Standard Webhooks secret. It is optional on input
// because some senders show the secret without it.
const secretPrefix = "whsec_"

// Secret sizes in decoded bytes. The lower bound keeps keys strong enough
// for HMAC-SHA256 (and matches the spec's 24-byte minimum); the upper bound
// matches the spec's 64-byte maximum and the SHA-256 block size, beyond which
// HMAC would hash the key anyway.
const (
	minSecretLen = 24
	maxSecretLen = 64
	// newSecretLen is what NewSecret generates: the SHA-256 output size,
	// the usual recommendation for an HMAC-SHA256 key.
	newSecretLen = 32
)

// Secret is a decoded signing key. The HMAC key is these bytes, not the
// "whsec_..." text.
type Secret []byte

// ParseSecret decodes a "whsec_<base64>" secret (the prefix is optional).
// Standard base64 with or without padding is accepted, and surrounding
// whitespace is ignored because secrets often arrive from environment
// variables or files with a trailing newline. The decoded key must be 24 to
// 64 bytes long.
//
// Errors wrap ErrBadSecret and describe the problem without ever including
// the secret, since they are likely to be logged.
func ParseSecret(s string) (Secret, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, secretPrefix)
	if s == "" {
		return nil, fmt.Errorf("parse secret: empty: %w", ErrBadSecret)
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(s, "=") {
		enc = base64.RawStdEncoding
	}
	key, err := enc.DecodeString(s)
	if err != nil {
		// err is not wrapped: it only carries a byte offset, and one
		// sentinel per error keeps errors.Is unambiguous.
		return nil, fmt.Errorf("parse secret: not valid base64: %w", ErrBadSecret)
	}
	if len(key) < minSecretLen || len(key) > maxSecretLen {
		return nil, fmt.Errorf("parse secret: decoded length %d bytes, want %d to %d: %w",
			len(key), minSecretLen, maxSecretLen, ErrBadSecret)
	}
	return Secret(key), nil
}

// NewSecret returns a fresh "whsec_..." secret made of 32 bytes read from r.
// r is a parameter so tests can be deterministic; pass nil to use
// crypto/rand, which is what production callers (the CLI) should do.
func NewSecret(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var key [newSecretLen]byte
	if _, err := io.ReadFull(r, key[:]); err != nil {
		return "", fmt.Errorf("new secret: read random bytes: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key[:]), nil
}
