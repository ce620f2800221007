package webhookauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

const (
	oldSecret = "old-secret-1f3a9c"
	newSecret = "new-secret-8b27de"
	body      = `{"event":"message","text":"hi"}`
)

// rotation is the secret list during a rotation: both are valid.
var rotation = []string{oldSecret, newSecret}

// verifyCase is one row of the per-scheme tables.
type verifyCase struct {
	name    string
	scheme  Scheme
	secrets []string
	headers map[string]string
	query   map[string]string
	body    string
	want    error
	errText string // substring the error message must contain
}

func runVerifyCases(t *testing.T, tests []verifyCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.scheme, tt.secrets, request(tt.headers, tt.query, tt.body))
			checkErr(t, err, tt.want)
			if err == nil {
				return
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.errText) {
				t.Errorf("error %q does not mention %q", msg, tt.errText)
			}
			for _, s := range tt.secrets {
				if s != "" && strings.Contains(msg, s) {
					t.Errorf("error %q leaks a secret", msg)
				}
			}
		})
	}
}

func TestVerifyHeader(t *testing.T) {
	plain := Scheme{Kind: SchemeHeader}
	bearer := Scheme{Kind: SchemeHeader, Prefix: "Bearer "}
	custom := Scheme{Kind: SchemeHeader, Header: "X-Api-Key"}
	runVerifyCases(t, []verifyCase{
		{name: "raw secret", scheme: plain, secrets: []string{newSecret}, headers: hdr("Authorization", newSecret)},
		{name: "header name case-insensitive", scheme: plain, secrets: []string{newSecret}, headers: hdr("authorization", newSecret)},
		{name: "rotation, request uses old", scheme: plain, secrets: rotation, headers: hdr("Authorization", oldSecret)},
		{name: "rotation, request uses new", scheme: plain, secrets: rotation, headers: hdr("Authorization", newSecret)},
		{name: "empty secret ignored", scheme: plain, secrets: []string{"", newSecret}, headers: hdr("Authorization", newSecret)},
		{name: "wrong", scheme: plain, secrets: rotation, headers: hdr("Authorization", "nope"), want: ErrMismatch, errText: "Authorization"},
		{name: "secret prefix only", scheme: plain, secrets: []string{newSecret}, headers: hdr("Authorization", newSecret[:len(newSecret)-1]), want: ErrMismatch},
		{name: "secret plus suffix", scheme: plain, secrets: []string{newSecret}, headers: hdr("Authorization", newSecret+"x"), want: ErrMismatch},
		{name: "secret case differs", scheme: plain, secrets: []string{newSecret}, headers: hdr("Authorization", strings.ToUpper(newSecret)), want: ErrMismatch},
		{name: "surrounding space not trimmed", scheme: plain, secrets: []string{newSecret}, headers: hdr("Authorization", " "+newSecret), want: ErrMismatch},
		{name: "comma-joined repeats", scheme: plain, secrets: []string{newSecret}, headers: hdr("Authorization", newSecret+","+newSecret), want: ErrMismatch},
		{name: "comma-joined with other", scheme: plain, secrets: []string{newSecret}, headers: hdr("Authorization", "x, "+newSecret), want: ErrMismatch},
		{name: "unexpected prefix", scheme: plain, secrets: []string{newSecret}, headers: hdr("Authorization", "Bearer "+newSecret), want: ErrMismatch},
		{name: "missing", scheme: plain, secrets: rotation, headers: nil, want: ErrMissing, errText: "Authorization"},
		{name: "empty value is missing", scheme: plain, secrets: rotation, headers: hdr("Authorization", ""), want: ErrMissing},
		{name: "no secrets", scheme: plain, secrets: nil, headers: hdr("Authorization", newSecret), want: ErrNoSecret},
		{name: "only empty secrets", scheme: plain, secrets: []string{"", ""}, headers: hdr("Authorization", ""), want: ErrNoSecret},

		{name: "bearer", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "Bearer "+newSecret)},
		{name: "bearer lower-case", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "bearer "+newSecret)},
		{name: "bearer upper-case", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "BEARER "+newSecret)},
		{name: "bearer rotation old", scheme: bearer, secrets: rotation, headers: hdr("Authorization", "Bearer "+oldSecret)},
		{name: "bearer missing prefix", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", newSecret), want: ErrMismatch, errText: "prefix"},
		{name: "bearer double space", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "Bearer  "+newSecret), want: ErrMismatch},
		{name: "bearer no space", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "Bearer"+newSecret), want: ErrMismatch},
		{name: "bearer prefix only", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "Bearer "), want: ErrMismatch},
		{name: "bearer shorter than prefix", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "Bea"), want: ErrMismatch},
		{name: "bearer unicode fold refused", scheme: Scheme{Kind: SchemeHeader, Prefix: "Basic "}, secrets: []string{newSecret}, headers: hdr("Authorization", "Baſic "+newSecret), want: ErrMismatch},
		{name: "bearer wrong secret", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "Bearer "+oldSecret), want: ErrMismatch},
		{name: "bearer comma-joined", scheme: bearer, secrets: []string{newSecret}, headers: hdr("Authorization", "Bearer "+newSecret+", Bearer "+newSecret), want: ErrMismatch},

		{name: "custom header", scheme: custom, secrets: []string{newSecret}, headers: hdr("x-api-key", newSecret)},
		{name: "custom header, secret in Authorization", scheme: custom, secrets: []string{newSecret}, headers: hdr("Authorization", newSecret), want: ErrMissing, errText: "X-Api-Key"},
	})
}

func TestVerifyHMAC(t *testing.T) {
	hexScheme := Scheme{Kind: SchemeHMAC}
	b64Scheme := Scheme{Kind: SchemeHMAC, Encoding: EncodingBase64}
	mac := func(secret, body string) []byte {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body))
		return m.Sum(nil)
	}
	newHex := hex.EncodeToString(mac(newSecret, body))
	oldHex := hex.EncodeToString(mac(oldSecret, body))
	newB64 := base64.StdEncoding.EncodeToString(mac(newSecret, body))
	sig := func(v string) map[string]string { return hdr("X-Signature", v) }
	runVerifyCases(t, []verifyCase{
		{name: "hex", scheme: hexScheme, secrets: []string{newSecret}, headers: sig(newHex), body: body},
		{name: "hex upper-case", scheme: hexScheme, secrets: []string{newSecret}, headers: sig(strings.ToUpper(newHex)), body: body},
		{name: "hex sha256= prefix", scheme: hexScheme, secrets: []string{newSecret}, headers: sig("sha256=" + newHex), body: body},
		{name: "hex SHA256= prefix", scheme: hexScheme, secrets: []string{newSecret}, headers: sig("SHA256=" + newHex), body: body},
		{name: "explicit hex encoding", scheme: Scheme{Kind: SchemeHMAC, Encoding: EncodingHex}, secrets: []string{newSecret}, headers: sig(newHex), body: body},
		{name: "rotation, request uses old", scheme: hexScheme, secrets: rotation, headers: sig(oldHex), body: body},
		{name: "rotation, request uses new", scheme: hexScheme, secrets: rotation, headers: sig(newHex), body: body},
		{name: "empty secret ignored", scheme: hexScheme, secrets: []string{"", newSecret}, headers: sig(newHex), body: body},
		{name: "empty body", scheme: hexScheme, secrets: []string{newSecret}, headers: sig(hex.EncodeToString(mac(newSecret, ""))), body: ""},
		{name: "base64", scheme: b64Scheme, secrets: []string{newSecret}, headers: sig(newB64), body: body},
		{name: "base64 unpadded", scheme: b64Scheme, secrets: []string{newSecret}, headers: sig(strings.TrimRight(newB64, "=")), body: body},
		{name: "base64 sha256= prefix", scheme: b64Scheme, secrets: rotation, headers: sig("sha256=" + newB64), body: body},
		{name: "custom header", scheme: Scheme{Kind: SchemeHMAC, Header: "X-Ultimate-Signature"}, secrets: []string{newSecret}, headers: hdr("x-ultimate-signature", newHex), body: body},

		{name: "wrong secret", scheme: hexScheme, secrets: []string{"other"}, headers: sig(newHex), body: body, want: ErrMismatch, errText: "X-Signature"},
		{name: "mutated body", scheme: hexScheme, secrets: rotation, headers: sig(newHex), body: body + " ", want: ErrMismatch},
		{name: "hex where base64 expected", scheme: b64Scheme, secrets: []string{newSecret}, headers: sig(newHex), body: body, want: ErrMismatch},
		{name: "base64 where hex expected", scheme: hexScheme, secrets: []string{newSecret}, headers: sig(newB64), body: body, want: ErrMismatch, errText: "hex"},
		{name: "bad hex", scheme: hexScheme, secrets: []string{newSecret}, headers: sig("zz" + newHex[2:]), body: body, want: ErrMismatch, errText: "not valid hex"},
		{name: "odd-length hex", scheme: hexScheme, secrets: []string{newSecret}, headers: sig(newHex[1:]), body: body, want: ErrMismatch},
		{name: "truncated hex", scheme: hexScheme, secrets: []string{newSecret}, headers: sig(newHex[:62]), body: body, want: ErrMismatch, errText: "31 bytes"},
		{name: "bad base64", scheme: b64Scheme, secrets: []string{newSecret}, headers: sig("!" + newB64[1:]), body: body, want: ErrMismatch, errText: "base64"},
		{name: "prefix only", scheme: hexScheme, secrets: []string{newSecret}, headers: sig("sha256="), body: body, want: ErrMismatch},
		{name: "prefix twice", scheme: hexScheme, secrets: []string{newSecret}, headers: sig("sha256=sha256=" + newHex), body: body, want: ErrMismatch},
		{name: "other algorithm prefix", scheme: hexScheme, secrets: []string{newSecret}, headers: sig("sha1=" + newHex), body: body, want: ErrMismatch},
		{name: "comma-joined", scheme: hexScheme, secrets: []string{newSecret}, headers: sig(newHex + "," + newHex), body: body, want: ErrMismatch},
		{name: "raw secret instead of signature", scheme: hexScheme, secrets: []string{newSecret}, headers: sig(newSecret), body: body, want: ErrMismatch},
		{name: "missing", scheme: hexScheme, secrets: rotation, body: body, want: ErrMissing, errText: "X-Signature"},
		{name: "no secrets", scheme: hexScheme, secrets: []string{}, headers: sig(newHex), body: body, want: ErrNoSecret},
		{name: "only empty secret", scheme: hexScheme, secrets: []string{""}, headers: sig(hex.EncodeToString(mac("", body))), body: body, want: ErrNoSecret},
	})
}

// TestHMACKeyIsUTF8Bytes pins the keying against RFC 4231 test case 2, so
// the scheme is interoperable with any sender using HMAC-SHA256 directly.
func TestHMACKeyIsUTF8Bytes(t *testing.T) {
	const want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	err := Verify(Scheme{Kind: SchemeHMAC}, []string{"Jefe"},
		request(hdr("X-Signature", want), nil, "what do ya want for nothing?"))
	checkErr(t, err, nil)
}

func TestVerifyToken(t *testing.T) {
	plain := Scheme{Kind: SchemeToken}
	custom := Scheme{Kind: SchemeToken, Param: "key"}
	q := func(name, value string) map[string]string { return map[string]string{name: value} }
	runVerifyCases(t, []verifyCase{
		{name: "good", scheme: plain, secrets: []string{newSecret}, query: q("token", newSecret)},
		{name: "rotation, request uses old", scheme: plain, secrets: rotation, query: q("token", oldSecret)},
		{name: "rotation, request uses new", scheme: plain, secrets: rotation, query: q("token", newSecret)},
		{name: "empty secret ignored", scheme: plain, secrets: []string{"", newSecret}, query: q("token", newSecret)},
		{name: "custom param", scheme: custom, secrets: []string{newSecret}, query: q("key", newSecret)},
		{name: "wrong", scheme: plain, secrets: rotation, query: q("token", "nope"), want: ErrMismatch, errText: "token"},
		{name: "comma-joined", scheme: plain, secrets: rotation, query: q("token", oldSecret+","+newSecret), want: ErrMismatch},
		{name: "missing", scheme: plain, secrets: rotation, want: ErrMissing, errText: "token"},
		{name: "param name is case-sensitive", scheme: plain, secrets: rotation, query: q("Token", newSecret), want: ErrMissing},
		{name: "custom param, default used", scheme: custom, secrets: rotation, query: q("token", newSecret), want: ErrMissing, errText: "key"},
		{name: "token in header is not accepted", scheme: plain, secrets: rotation, headers: hdr("token", newSecret), want: ErrMissing},
		{name: "no secrets", scheme: plain, secrets: nil, query: q("token", ""), want: ErrNoSecret},
	})
}

func TestVerifyNone(t *testing.T) {
	runVerifyCases(t, []verifyCase{
		{name: "no secrets, nothing sent", scheme: Scheme{Kind: SchemeNone}},
		{name: "secrets and garbage ignored", scheme: Scheme{Kind: SchemeNone}, secrets: rotation, headers: hdr("Authorization", "x")},
	})
}

func TestVerifyBadScheme(t *testing.T) {
	runVerifyCases(t, []verifyCase{
		{name: "empty kind", scheme: Scheme{}, secrets: rotation, want: ErrBadScheme, errText: "webhookAuth.scheme"},
		{name: "unknown kind", scheme: Scheme{Kind: "basic"}, secrets: rotation, want: ErrBadScheme, errText: `"basic"`},
		{name: "kind is case-sensitive", scheme: Scheme{Kind: "HMAC-SHA256"}, secrets: rotation, want: ErrBadScheme},
		{name: "bad encoding", scheme: Scheme{Kind: SchemeHMAC, Encoding: "base32"}, secrets: rotation, want: ErrBadScheme, errText: "webhookAuth.encoding"},
		{name: "checked before secrets", scheme: Scheme{Kind: "x"}, want: ErrBadScheme},
	})
}

// TestVerifyNilLookups checks that a Request with nil functions is treated as
// carrying nothing rather than panicking.
func TestVerifyNilLookups(t *testing.T) {
	for _, kind := range []string{SchemeHeader, SchemeHMAC, SchemeToken} {
		t.Run(kind, func(t *testing.T) {
			checkErr(t, Verify(Scheme{Kind: kind}, rotation, Request{}), ErrMissing)
		})
	}
}

// TestVerifyErrorsDoNotLeakCredential checks that a presented (wrong)
// credential, which may be a valid secret for another agent, is never
// echoed into a message that will be logged.
func TestVerifyErrorsDoNotLeakCredential(t *testing.T) {
	const presented = "presented-credential-42"
	for _, s := range []Scheme{{Kind: SchemeHeader}, {Kind: SchemeHeader, Prefix: "Bearer "}, {Kind: SchemeToken}} {
		t.Run(s.Kind+s.Prefix, func(t *testing.T) {
			h, q := map[string]string{"Authorization": s.Prefix + presented}, map[string]string{"token": presented}
			err := Verify(s, rotation, request(h, q, body))
			checkErr(t, err, ErrMismatch)
			if strings.Contains(err.Error(), presented) {
				t.Fatalf("error %q echoes the credential", err)
			}
		})
	}
}
