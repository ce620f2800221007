package webhookauth

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		scheme Scheme
		want   string // full error message; "" means valid
	}{
		{name: "header minimal", scheme: Scheme{Kind: SchemeHeader}},
		{name: "header full", scheme: Scheme{Kind: SchemeHeader, Header: "X-Api-Key", Prefix: "Token "}},
		{name: "hmac minimal", scheme: Scheme{Kind: SchemeHMAC}},
		{name: "hmac hex", scheme: Scheme{Kind: SchemeHMAC, Header: "X-Hub-Signature-256", Encoding: EncodingHex}},
		{name: "hmac base64", scheme: Scheme{Kind: SchemeHMAC, Encoding: EncodingBase64}},
		{name: "token minimal", scheme: Scheme{Kind: SchemeToken}},
		{name: "token custom param", scheme: Scheme{Kind: SchemeToken, Param: "api_key"}},
		{name: "none", scheme: Scheme{Kind: SchemeNone}},
		{name: "defaults applied stay valid", scheme: Scheme{Kind: SchemeHMAC}.WithDefaults()},

		{name: "empty kind", scheme: Scheme{}, want: "webhookAuth.scheme: required (header, hmac-sha256, token or none)"},
		{name: "empty kind with fields", scheme: Scheme{Header: "X"}, want: "webhookAuth.scheme: required (header, hmac-sha256, token or none)"},
		{name: "unknown kind", scheme: Scheme{Kind: "basic"}, want: `webhookAuth.scheme: unknown "basic", must be header, hmac-sha256, token or none`},
		{name: "unknown kind truncated", scheme: Scheme{Kind: strings.Repeat("x", 50)}, want: `webhookAuth.scheme: unknown "` + strings.Repeat("x", 40) + `...", must be header, hmac-sha256, token or none`},
		{name: "bad encoding", scheme: Scheme{Kind: SchemeHMAC, Encoding: "HEX"}, want: "webhookAuth.encoding: must be hex or base64"},
		{name: "encoding on header", scheme: Scheme{Kind: SchemeHeader, Encoding: EncodingHex}, want: "webhookAuth.encoding: only used with scheme hmac-sha256"},
		{name: "param on header", scheme: Scheme{Kind: SchemeHeader, Param: "t"}, want: "webhookAuth.param: only used with scheme token"},
		{name: "prefix on hmac", scheme: Scheme{Kind: SchemeHMAC, Prefix: "sha256="}, want: "webhookAuth.prefix: only used with scheme header"},
		{name: "header on token", scheme: Scheme{Kind: SchemeToken, Header: "X"}, want: "webhookAuth.header: only used with scheme header or hmac-sha256"},
		{name: "bad header name", scheme: Scheme{Kind: SchemeHeader, Header: "X Api Key"}, want: "webhookAuth.header: must be a valid HTTP header name"},
		{name: "header name with colon", scheme: Scheme{Kind: SchemeHMAC, Header: "X-Sig:"}, want: "webhookAuth.header: must be a valid HTTP header name"},
		{name: "prefix with newline", scheme: Scheme{Kind: SchemeHeader, Prefix: "Bearer\n"}, want: "webhookAuth.prefix: must be printable ASCII"},
		{name: "prefix non-ASCII", scheme: Scheme{Kind: SchemeHeader, Prefix: "Bearér "}, want: "webhookAuth.prefix: must be printable ASCII"},
		{name: "bad param", scheme: Scheme{Kind: SchemeToken, Param: "a&b"}, want: "webhookAuth.param: must be a plain query parameter name (no spaces, control characters, '&', '=', '#' or '?')"},
		{name: "none with fields", scheme: Scheme{Kind: SchemeNone, Header: "X", Param: "t"}, want: "webhookAuth.header: only used with scheme header or hmac-sha256\nwebhookAuth.param: only used with scheme token"},
		{name: "several problems", scheme: Scheme{Kind: SchemeHMAC, Encoding: "b64", Param: "t", Header: "a b"},
			want: "webhookAuth.param: only used with scheme token\nwebhookAuth.encoding: must be hex or base64\nwebhookAuth.header: must be a valid HTTP header name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.scheme.Validate()
			if tt.want == "" {
				checkErr(t, err, nil)
				return
			}
			checkErr(t, err, ErrBadScheme)
			if err.Error() != tt.want {
				t.Fatalf("Validate() = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Scheme
		want Scheme
	}{
		{name: "header", in: Scheme{Kind: SchemeHeader}, want: Scheme{Kind: SchemeHeader, Header: "Authorization"}},
		{name: "header keeps values", in: Scheme{Kind: SchemeHeader, Header: "X-Key", Prefix: "Bearer "}, want: Scheme{Kind: SchemeHeader, Header: "X-Key", Prefix: "Bearer "}},
		{name: "hmac", in: Scheme{Kind: SchemeHMAC}, want: Scheme{Kind: SchemeHMAC, Header: "X-Signature", Encoding: "hex"}},
		{name: "hmac keeps values", in: Scheme{Kind: SchemeHMAC, Header: "X-Sig", Encoding: "base64"}, want: Scheme{Kind: SchemeHMAC, Header: "X-Sig", Encoding: "base64"}},
		{name: "token", in: Scheme{Kind: SchemeToken}, want: Scheme{Kind: SchemeToken, Param: "token"}},
		{name: "none untouched", in: Scheme{Kind: SchemeNone}, want: Scheme{Kind: SchemeNone}},
		{name: "unknown untouched", in: Scheme{Kind: "x"}, want: Scheme{Kind: "x"}},
		{name: "unused fields left for Validate", in: Scheme{Kind: SchemeToken, Encoding: "hex"}, want: Scheme{Kind: SchemeToken, Encoding: "hex", Param: "token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithDefaults(); got != tt.want {
				t.Fatalf("WithDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSchemeJSON(t *testing.T) {
	var s Scheme
	in := `{"scheme":"hmac-sha256","header":"X-Sig","encoding":"base64"}`
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want := Scheme{Kind: SchemeHMAC, Header: "X-Sig", Encoding: EncodingBase64}
	if s != want {
		t.Fatalf("decoded %+v, want %+v", s, want)
	}
	out, err := json.Marshal(Scheme{Kind: SchemeToken})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"scheme":"token"}` {
		t.Fatalf("encoded %s, want only the scheme (omitempty)", out)
	}
}

// TestSchemeTagsAgree keeps the JSON and DynamoDB attribute names in step,
// so a config round-trips between the API and the table unchanged.
func TestSchemeTagsAgree(t *testing.T) {
	typ := reflect.TypeFor[Scheme]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		j, d := f.Tag.Get("json"), f.Tag.Get("dynamodbav")
		if j == "" || j != d {
			t.Errorf("field %s: json tag %q, dynamodbav tag %q", f.Name, j, d)
		}
	}
}
