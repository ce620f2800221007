package twilio

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/crmbridge/crmbridge/shared/apigw"
)

// FuzzVerify: any URL, body and headers; Verify never panics, answers one
// of its named errors, and what Sign produced always verifies.
func FuzzVerify(f *testing.F) {
	f.Add("https://mycompany.com/myapp.php?foo=1&bar=2", []byte("CallSid=CA1234567890ABCDE&Digits=1234"), true, "vOEb5UThFn24KEfnOFLQY2AE5FY=", "")
	f.Add("https://mycompany.com/myapp.php?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", []byte(`{"property": "value", "boolean": true}`), false, "y77kIzt2vzLz71DgmJGsen2scGs=", "")
	f.Add("https://[::1]:443/x", []byte("a=1&a=2&b"), true, "x", "key=K,algorithm=HMAC_SHA256")
	f.Add("http://h:99999/%zz", []byte("%%"), true, "", "algorithm=")
	named := []error{ErrNoSignature, ErrBadSignature, ErrBadSettings, ErrNoKey, ErrBodyHash, ErrBadBodyHash, ErrUnsignedParameters}
	keys := Keys{AuthTokens: [][]byte{[]byte("12345")}, SharedKeys: [][]byte{[]byte("shared")}}
	f.Fuzz(func(t *testing.T, u string, body []byte, form bool, sig, settings string) {
		err := Verify(Request{URL: u, Body: body, Form: form, Signature: sig, Settings: settings}, keys)
		if err != nil {
			known := false
			for _, n := range named {
				known = known || errors.Is(err, n)
			}
			if !known {
				t.Fatalf("unnamed error %v", err)
			}
		}
		pu, perr := url.Parse(u)
		params, ferr := url.ParseQuery(string(body))
		if perr != nil || pu.Host == "" || (pu.Scheme != "https" && pu.Scheme != "http") || ferr != nil || !form || pu.Query().Get("bodySHA256") != "" {
			return
		}
		good := Sign([]byte("12345"), HMACSHA1, u, params)
		if err := Verify(Request{URL: u, Body: body, Form: true, Signature: good}, keys); err != nil {
			t.Fatalf("a signature of %q did not verify: %v", u, err)
		}
	})
}

// FuzzParams: any body and content type; Params never panics, refuses with
// an *apigw.Error, and stays within its bounds.
func FuzzParams(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "", []byte("MessageSid=SM1&Body=hi&NumMedia=0"))
	f.Add("application/json", "bodySHA256=00", []byte(`{"Body":"hi","NumMedia":1,"nested":{"a":1},"n":null}`))
	f.Add("text/plain", "", []byte("hello"))
	f.Add("application/json", "bodySHA256=1", []byte(`{"x":"\ud800"}`))
	f.Fuzz(func(t *testing.T, ct, query string, body []byte) {
		q, _ := url.ParseQuery(query)
		req := &apigw.Request{Header: map[string][]string{"Content-Type": {ct}}, Query: q, Body: body}
		p, err := Params(req)
		if err != nil {
			var ae *apigw.Error
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("not a 4xx *apigw.Error: %v", err)
			}
			return
		}
		if len(p) > maxParams {
			t.Fatalf("%d parameters", len(p))
		}
		for _, vs := range p {
			if len(vs) != 1 || len(vs[0]) > maxParamValue {
				t.Fatalf("values %q", vs)
			}
		}
	})
}

// FuzzSplitParts: every part fits the channel, and no character but
// spacing is lost or added.
func FuzzSplitParts(f *testing.F) {
	f.Add("The quick brown fox jumps over the lazy dog. ", uint8(1), true)
	f.Add(strings.Repeat("Grüße 👋 ", 40), uint8(2), true)
	f.Add(strings.Repeat("x", 2000), uint8(3), false)
	f.Add("line one\nline two\n\n\nline three", uint8(1), true)
	f.Fuzz(func(t *testing.T, text string, maxSeg uint8, sms bool) {
		r := renderer{channel: ChannelWhatsApp, maxSegments: int(maxSeg%10) + 1}
		if sms {
			r.channel = ChannelSMS
		}
		parts := splitParts(text, r.fits)
		var got strings.Builder
		for i, p := range parts {
			if !r.fits(p) {
				t.Fatalf("part %d does not fit: %q", i, p)
			}
			if len(parts) > 1 {
				prefix := "(" + itoa(i+1) + "/" + itoa(len(parts)) + ") "
				if !strings.HasPrefix(p, prefix) {
					t.Fatalf("part %d lacks its number: %q", i, p)
				}
				p = strings.TrimPrefix(p, prefix)
			}
			got.WriteString(p)
		}
		if noSpace(got.String()) != noSpace(text) {
			t.Fatalf("content changed:\n%q\n%q", text, parts)
		}
	})
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// FuzzAnswer: a typed answer maps to an option's text or stays the
// visitor's own.
func FuzzAnswer(f *testing.F) {
	c1 := 1
	opts := []option{{Text: "Yes"}, {Text: "No"}, {Text: "Choose Pro", Card: &c1, Label: "Pro"}}
	for _, s := range []string{"2", "2)", " no ", "PRO", "o3", "#1", "(3)", "", "99", "🙂"} {
		f.Add(s, "")
	}
	f.Add("", "o2")
	f.Fuzz(func(t *testing.T, text, payload string) {
		got, card := answer(text, payload, opts)
		if got == text && card == nil {
			return
		}
		for _, o := range opts {
			if o.Text == got {
				if card != nil && (o.Card == nil || *o.Card != *card) {
					t.Fatalf("card %d for %q", *card, got)
				}
				return
			}
		}
		t.Fatalf("%q (payload %q) became %q", text, payload, got)
	})
}
