package twilio_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"net/url"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source/twilio"
	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
)

// Vectors from twilio/twilio-go client/request_validator_test.go (Auth
// Token "12345", recomputed here with Python's hmac). Twilio publishes no
// HMAC-SHA256 vectors; those rows were computed the same way from the same
// inputs (key "12345"), for the Webhooks Rule variant whose signed string
// is unchanged (twilio-node examples/WebhookSignatureValidation.md).
const (
	sdkURL      = "https://mycompany.com/myapp.php?foo=1&bar=2"
	sdkBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	sdkJSON     = `{"property": "value", "boolean": true}`
)

var sdkParams = url.Values{
	"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
	"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
}

func TestVerifyPublishedVectors(t *testing.T) {
	keys := twilio.Keys{AuthTokens: [][]byte{[]byte("12345")}, SharedKeys: [][]byte{[]byte("12345")}}
	sha256Settings := "key=KSxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,algorithm=HMAC_SHA256"
	tests := []struct {
		name     string
		url      string
		body     string
		form     bool
		sig      string
		settings string
		want     error
	}{
		{"form, HMAC-SHA1", sdkURL, sdkParams.Encode(), true, "vOEb5UThFn24KEfnOFLQY2AE5FY=", "", nil},
		{"form, HMAC-SHA1, signed without the port, called with :1234", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", sdkParams.Encode(), true, "vOEb5UThFn24KEfnOFLQY2AE5FY=", "", nil},
		{"form, HMAC-SHA1, :443 added", "https://mycompany.com:443/myapp.php?foo=1&bar=2", sdkParams.Encode(), true, "vOEb5UThFn24KEfnOFLQY2AE5FY=", "", nil},
		{"form, HMAC-SHA1, http", "http://mycompany.com/myapp.php?foo=1&bar=2", sdkParams.Encode(), true, "n2xBNyzSW7rfYStDtOFiFMv7qNo=", "", nil},
		{"form, HMAC-SHA1, http :1234", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", sdkParams.Encode(), true, "n2xBNyzSW7rfYStDtOFiFMv7qNo=", "", nil},
		{"form body property=value", sdkURL, "property=value&boolean=true", true, "NBdBDr/T/lgjI+tlgpXjKZQZs/k=", "", nil},
		{"params sorted the wrong way (SDK's negative vector)", sdkURL, sdkParams.Encode(), true, "95+Bu0JVPi0r/SsESZCVf0dWAjw=", "", twilio.ErrBadSignature},
		{"JSON with bodySHA256", sdkURL + "&bodySHA256=" + sdkBodyHash, sdkJSON, false, "a9nBmqA0ju/hNViExpshrM61xv4=", "", nil},
		{"JSON, bodySHA256 only", "https://mycompany.com/myapp.php?bodySHA256=" + sdkBodyHash, sdkJSON, false, "y77kIzt2vzLz71DgmJGsen2scGs=", "", nil},
		{"JSON, body changed", sdkURL + "&bodySHA256=" + sdkBodyHash, `{"property": "value", "boolean": false}`, false, "a9nBmqA0ju/hNViExpshrM61xv4=", "", twilio.ErrBodyHash},
		{"JSON, signature of another URL", sdkURL + "&bodySHA256=" + sdkBodyHash, sdkJSON, false, "vOEb5UThFn24KEfnOFLQY2AE5FY=", "", twilio.ErrBadSignature},
		{"JSON, hash not hex", sdkURL + "&bodySHA256=zz", sdkJSON, false, "a9nBmqA0ju/hNViExpshrM61xv4=", "", twilio.ErrBadBodyHash},
		{"form, HMAC-SHA256", sdkURL, sdkParams.Encode(), true, "Tr24A76zH7GGW6jNZFsb+qm3OfcUvVEt87YCHvA7WFM=", sha256Settings, nil},
		{"JSON, HMAC-SHA256", sdkURL + "&bodySHA256=" + sdkBodyHash, sdkJSON, false, "+UOCWf84gdgo/5Hpg4m5/EgKnJA2/TbOw5sPNVr3bPk=", sha256Settings, nil},
		{"a SHA-1 signature announced as SHA-256", sdkURL, sdkParams.Encode(), true, "vOEb5UThFn24KEfnOFLQY2AE5FY=", sha256Settings, twilio.ErrBadSignature},
		{"a SHA-256 signature without the settings header", sdkURL, sdkParams.Encode(), true, "Tr24A76zH7GGW6jNZFsb+qm3OfcUvVEt87YCHvA7WFM=", "", twilio.ErrBadSignature},
		{"unknown algorithm", sdkURL, sdkParams.Encode(), true, "x", "key=K,algorithm=HMAC_MD5", twilio.ErrBadSettings},
		{"settings without algorithm", sdkURL, sdkParams.Encode(), true, "x", "key=K", twilio.ErrBadSettings},
		{"no signature", sdkURL, sdkParams.Encode(), true, "", "", twilio.ErrNoSignature},
		{"a parameter added", sdkURL, sdkParams.Encode() + "&Extra=1", true, "vOEb5UThFn24KEfnOFLQY2AE5FY=", "", twilio.ErrBadSignature},
		{"query changed", "https://mycompany.com/myapp.php?foo=1&bar=3", sdkParams.Encode(), true, "vOEb5UThFn24KEfnOFLQY2AE5FY=", "", twilio.ErrBadSignature},
		{"JSON body without bodySHA256", sdkURL, sdkJSON, false, "vOEb5UThFn24KEfnOFLQY2AE5FY=", "", twilio.ErrUnsignedParameters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := twilio.Verify(twilio.Request{URL: tc.url, Body: []byte(tc.body), Form: tc.form, Signature: tc.sig, Settings: tc.settings}, keys)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// The research note's older vector (five parameters).
func TestSignFivePublishedParameters(t *testing.T) {
	p := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"}, "From": {"+14158675309"}, "To": {"+18005551212"}}
	for u, want := range map[string]string{
		sdkURL: "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
		"https://mycompany.com:443/myapp.php?foo=1&bar=2": "kvajT1Ptam85bY51eRf/AJRuM3w=",
		"http://mycompany.com:1234/myapp.php?foo=1&bar=2": "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
	} {
		if got := twilio.Sign([]byte("12345"), twilio.HMACSHA1, u, p); got != want {
			t.Errorf("%s: %s, want %s", u, got, want)
		}
	}
}

// The fake signs independently of the verifier; both agree with the
// published vectors, so neither can drift alone.
func TestFakeSignsLikeTwilio(t *testing.T) {
	if got := twiliotest.Signature(sha1.New, "12345", sdkURL, sdkParams); got != "vOEb5UThFn24KEfnOFLQY2AE5FY=" {
		t.Fatalf("fake HMAC-SHA1: %s", got)
	}
	if got := twiliotest.Signature(sha256.New, "12345", sdkURL, sdkParams); got != "Tr24A76zH7GGW6jNZFsb+qm3OfcUvVEt87YCHvA7WFM=" {
		t.Fatalf("fake HMAC-SHA256: %s", got)
	}
	if got := twiliotest.Signature(sha1.New, "12345", "https://mycompany.com/myapp.php?bodySHA256="+sdkBodyHash, nil); got != "y77kIzt2vzLz71DgmJGsen2scGs=" {
		t.Fatalf("fake JSON: %s", got)
	}
}

func TestVerifyRotation(t *testing.T) {
	sig := twilio.Sign([]byte("old-token"), twilio.HMACSHA1, sdkURL, sdkParams)
	r := twilio.Request{URL: sdkURL, Body: []byte(sdkParams.Encode()), Form: true, Signature: sig}
	if err := twilio.Verify(r, twilio.Keys{AuthTokens: [][]byte{[]byte("new-token"), []byte("old-token")}}); err != nil {
		t.Fatalf("the previous token during a rotation: %v", err)
	}
	if err := twilio.Verify(r, twilio.Keys{AuthTokens: [][]byte{[]byte("new-token")}}); !errors.Is(err, twilio.ErrBadSignature) {
		t.Fatalf("after the rotation: %v", err)
	}
	r.Settings = "key=K1,algorithm=HMAC_SHA256"
	r.Signature = twilio.Sign([]byte("shared-2"), twilio.HMACSHA256, sdkURL, sdkParams)
	if err := twilio.Verify(r, twilio.Keys{AuthTokens: [][]byte{[]byte("new-token")}}); !errors.Is(err, twilio.ErrNoKey) {
		t.Fatalf("SHA-256 without shared keys: %v", err)
	}
	if err := twilio.Verify(r, twilio.Keys{SharedKeys: [][]byte{[]byte("shared-1"), []byte("shared-2")}}); err != nil {
		t.Fatalf("shared key rotation: %v", err)
	}
}

func TestSignatureSettings(t *testing.T) {
	tests := []struct {
		header string
		alg    twilio.Algorithm
		shared bool
		bad    bool
	}{
		{"", twilio.HMACSHA1, false, false},
		{"key=KS123,algorithm=HMAC_SHA256", twilio.HMACSHA256, true, false},
		{" algorithm = hmac_sha256 , key = KS1 ", twilio.HMACSHA256, true, false},
		{"key=KS1,algorithm=HMAC_SHA1", twilio.HMACSHA1, true, false},
		{"algorithm", "", false, true},
		{"key=KS1,algorithm=RSA", "", false, true},
	}
	for _, tc := range tests {
		alg, _, shared, err := twilio.SignatureSettings(tc.header)
		if (err != nil) != tc.bad || alg != tc.alg || shared != tc.shared {
			t.Errorf("%q: %v %v %v", tc.header, alg, shared, err)
		}
	}
}
