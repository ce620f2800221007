package webhookauth

import (
	"bytes"
	"testing"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	schemes := []Scheme{
		{Kind: SchemeHeader},
		{Kind: SchemeHeader, Header: "X-Api-Key"},
		{Kind: SchemeHeader, Prefix: "Bearer "},
		{Kind: SchemeHMAC},
		{Kind: SchemeHMAC, Header: "X-Hub-Signature-256", Encoding: EncodingHex},
		{Kind: SchemeHMAC, Encoding: EncodingBase64},
		{Kind: SchemeToken},
		{Kind: SchemeToken, Param: "key"},
		{Kind: SchemeNone},
	}
	bodies := []string{"", body, "\x00\xff"}
	for _, s := range schemes {
		t.Run(s.Kind+"/"+s.Header+s.Prefix+s.Encoding+s.Param, func(t *testing.T) {
			for _, b := range bodies {
				for _, secret := range rotation {
					h, q := Sign(s, secret, []byte(b))
					checkErr(t, Verify(s, rotation, request(h, q, b)), nil)
				}
				// A secret outside the rotation must not verify.
				h, q := Sign(s, "stale-secret", []byte(b))
				want := ErrMismatch
				if s.Kind == SchemeNone {
					want = nil
				}
				checkErr(t, Verify(s, rotation, request(h, q, b)), want)
			}
		})
	}
}

// TestSignOutput pins exact output; the HMAC values were computed
// independently with Python's hmac module.
func TestSignOutput(t *testing.T) {
	tests := []struct {
		name      string
		scheme    Scheme
		wantHdr   map[string]string
		wantQuery map[string]string
	}{
		{name: "header", scheme: Scheme{Kind: SchemeHeader, Prefix: "Bearer "}, wantHdr: map[string]string{"Authorization": "Bearer k"}},
		{name: "hmac hex", scheme: Scheme{Kind: SchemeHMAC},
			wantHdr: map[string]string{"X-Signature": "406e4b43f87095aa86ca6299d25e875921fefa180f02043bb29bec5681c0c2d0"}},
		{name: "hmac base64", scheme: Scheme{Kind: SchemeHMAC, Encoding: EncodingBase64},
			wantHdr: map[string]string{"X-Signature": "QG5LQ/hwlaqGymKZ0l6HWSH++hgPAgQ7spvsVoHAwtA="}},
		{name: "token", scheme: Scheme{Kind: SchemeToken}, wantQuery: map[string]string{"token": "k"}},
		{name: "none", scheme: Scheme{Kind: SchemeNone}},
		{name: "invalid scheme", scheme: Scheme{Kind: SchemeHMAC, Encoding: "base32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := Sign(tt.scheme, "k", []byte("hello"))
			if h == nil || q == nil {
				t.Fatalf("Sign returned a nil map: %v, %v", h, q)
			}
			if !sameMap(h, tt.wantHdr) || !sameMap(q, tt.wantQuery) {
				t.Fatalf("Sign = %v, %v; want %v, %v", h, q, tt.wantHdr, tt.wantQuery)
			}
		})
	}
}

func sameMap(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

// TestSignDoesNotAliasBody guards against Sign retaining or mutating the
// caller's body.
func TestSignDoesNotAliasBody(t *testing.T) {
	b := []byte(body)
	orig := bytes.Clone(b)
	Sign(Scheme{Kind: SchemeHMAC}, newSecret, b)
	if !bytes.Equal(b, orig) {
		t.Fatal("Sign modified the body")
	}
}
