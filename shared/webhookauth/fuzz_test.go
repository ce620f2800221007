package webhookauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// FuzzVerifyHMAC feeds arbitrary signature header values and bodies to the
// hmac-sha256 scheme. It checks that Verify never panics, returns nil or
// exactly one sentinel, accepts a header only if it really encodes the
// body's MAC, always accepts what Sign produces (in both encodings, with or
// without the sha256= prefix), and rejects a Sign'ed header once the body
// changes.
func FuzzVerifyHMAC(f *testing.F) {
	f.Add("", []byte(""))
	f.Add("sha256=", []byte(body))
	f.Add("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", []byte("what do ya want for nothing?"))
	f.Add("zz", []byte{0xff})
	f.Add(strings.Repeat("A", 44), []byte("{}"))

	hexScheme := Scheme{Kind: SchemeHMAC}
	b64Scheme := Scheme{Kind: SchemeHMAC, Encoding: EncodingBase64}
	f.Fuzz(func(t *testing.T, value string, body []byte) {
		req := Request{Header: func(string) string { return value }, Body: body}
		err := Verify(hexScheme, rotation, req)
		if err == nil {
			// Only the true MAC under one of the secrets may pass.
			v := value
			if len(v) >= len(signaturePrefix) && strings.EqualFold(v[:len(signaturePrefix)], signaturePrefix) {
				v = v[len(signaturePrefix):]
			}
			if !strings.EqualFold(v, hexMAC(oldSecret, body)) && !strings.EqualFold(v, hexMAC(newSecret, body)) {
				t.Fatalf("accepted %q for body %q", value, body)
			}
		} else {
			checkErr(t, err, sentinelOf(t, err))
		}
		if err := Verify(b64Scheme, rotation, req); err != nil {
			checkErr(t, err, sentinelOf(t, err))
		}

		for _, s := range []Scheme{hexScheme, b64Scheme} {
			for _, secret := range rotation {
				h, _ := Sign(s, secret, body)
				signed := Request{Header: func(string) string { return h["X-Signature"] }, Body: body}
				if err := Verify(s, rotation, signed); err != nil {
					t.Fatalf("%s: Sign'ed request failed: %v", s.Encoding, err)
				}
				prefixed := Request{Header: func(string) string { return "sha256=" + h["X-Signature"] }, Body: body}
				if err := Verify(s, rotation, prefixed); err != nil {
					t.Fatalf("%s: Sign'ed request with sha256= failed: %v", s.Encoding, err)
				}
				tampered := bytes.Clone(body)
				if len(tampered) == 0 {
					tampered = append(tampered, 0)
				} else {
					tampered[len(value)%len(tampered)] ^= 0x80
				}
				signed.Body = tampered
				checkErr(t, Verify(s, rotation, signed), ErrMismatch)
			}
		}
	})
}

// hexMAC computes the expected signature independently of the package code.
func hexMAC(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// sentinelOf returns the sentinel err wraps, failing t if none does.
func sentinelOf(t *testing.T, err error) error {
	t.Helper()
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
	return nil
}
