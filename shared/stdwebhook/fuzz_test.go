package stdwebhook

import (
	"bytes"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary header values and bodies to Verify and checks
// three properties: it never panics and always returns nil or exactly one
// sentinel; a delivery freshly signed over the same (id, timestamp, body)
// always verifies, even next to arbitrary other entries; and flipping one
// byte of the body makes that delivery fail.
func FuzzVerify(f *testing.F) {
	f.Add(vecID, vecTimestamp, vecSignature, []byte(vecBody))
	f.Add("msg_1", "0", "v1a,AAAA v1,!!!", []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Add("a.b", " 253402300799 ", "v1,"+strings.Repeat("A", 44), []byte{0xff, 0})

	key := mustSecret(f, vecSecret)
	secrets := []Secret{key}
	f.Fuzz(func(t *testing.T, id, timestamp, signature string, body []byte) {
		now := time.Unix(vecUnix, 0)
		err := Verify(secrets, id, timestamp, signature, body, now, 0)
		if err != nil {
			checkErr(t, err, sentinelOf(t, err))
		}

		// Round trip: make the fuzzed id usable and sign at the fuzzed
		// timestamp when it is one, so odd values reach the signer too.
		id = strings.ReplaceAll(id, ".", "_")
		if id == "" {
			id = "msg"
		}
		sent := now
		if ts, ok := parseTimestamp(timestamp); ok {
			sent = time.Unix(ts, 0)
		}
		h := Headers(key, id, sent, body)
		sig := signature + " " + h[HeaderSignature]
		if err := Verify(secrets, h[HeaderID], h[HeaderTimestamp], sig, body, sent, 0); err != nil {
			t.Fatalf("freshly signed delivery failed: %v", err)
		}

		tampered := bytes.Clone(body)
		if len(tampered) == 0 {
			tampered = append(tampered, 0)
		} else {
			tampered[len(id)%len(tampered)] ^= 0x01
		}
		err = Verify(secrets, h[HeaderID], h[HeaderTimestamp], h[HeaderSignature], tampered, sent, 0)
		checkErr(t, err, ErrNoMatch)
	})
}

// sentinelOf returns the single sentinel err wraps, failing t if none does.
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

// parseSecretErrShapes are the only messages ParseSecret may produce, with
// "#" for variable numbers; matching them (digits masked) proves no input
// text is echoed back.
var parseSecretErrShapes = []string{
	"parse secret: empty: stdwebhook: bad secret",
	"parse secret: not valid base64: stdwebhook: bad secret",
	"parse secret: decoded length # bytes, want # to #: stdwebhook: bad secret",
}

// FuzzParseSecret checks that ParseSecret never panics, only accepts keys
// of legal size, round-trips what it accepts, and never echoes its input in
// an error.
func FuzzParseSecret(f *testing.F) {
	f.Add(vecSecret)
	f.Add("")
	f.Add("whsec_")
	f.Add("whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 64)))
	f.Add("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)))
	f.Add("  MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")

	digits := regexp.MustCompile(`[0-9]+`)
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseSecret(s)
		if err != nil {
			checkErr(t, err, ErrBadSecret)
			// Mask digits on both sides: the messages themselves
			// contain some ("base64").
			shape := digits.ReplaceAllString(err.Error(), "#")
			for _, want := range parseSecretErrShapes {
				if shape == digits.ReplaceAllString(want, "#") {
					return
				}
			}
			t.Fatalf("unexpected error message %q", err)
		}
		if len(key) < minSecretLen || len(key) > maxSecretLen {
			t.Fatalf("accepted a %d-byte key", len(key))
		}
		again, err := ParseSecret("whsec_" + base64.StdEncoding.EncodeToString(key))
		if err != nil || !bytes.Equal(again, key) {
			t.Fatalf("re-encoded key does not round-trip: %v", err)
		}
	})
}
