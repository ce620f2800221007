package webhookauth

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme kinds, the values of Scheme.Kind.
const (
	SchemeHeader = "header"
	SchemeHMAC   = "hmac-sha256"
	SchemeToken  = "token"
	SchemeNone   = "none"
)

// Encodings of an hmac-sha256 signature, the values of Scheme.Encoding.
const (
	EncodingHex    = "hex"
	EncodingBase64 = "base64"
)

// Defaults applied by WithDefaults. They follow common practice, since the
// agent's own conventions are not documented.
const (
	defaultAuthHeader = "Authorization"
	defaultHMACHeader = "X-Signature"
	defaultEncoding   = EncodingHex
	defaultParam      = "token"
)

// kindList is shown in messages about the scheme field.
const kindList = "header, hmac-sha256, token or none"

// Scheme is how one AI agent's webhooks authenticate. It is part of the AI
// agent's stored configuration, hence the JSON and DynamoDB tags.
type Scheme struct {
	// Kind is header, hmac-sha256, token or none.
	Kind string `json:"scheme" dynamodbav:"scheme"`
	// Header names the header carrying the credential (header and
	// hmac-sha256 only). Defaults: Authorization, X-Signature.
	Header string `json:"header,omitempty" dynamodbav:"header,omitempty"`
	// Prefix must precede the secret in the header, e.g. "Bearer " with the
	// separating space (header only). Matched case-insensitively.
	Prefix string `json:"prefix,omitempty" dynamodbav:"prefix,omitempty"`
	// Encoding of the signature: hex (default) or base64 (hmac-sha256 only).
	Encoding string `json:"encoding,omitempty" dynamodbav:"encoding,omitempty"`
	// Param names the query parameter carrying the token (token only).
	// Default: token.
	Param string `json:"param,omitempty" dynamodbav:"param,omitempty"`
}

// WithDefaults returns s with Header, Encoding and Param filled in where the
// kind uses them and they are empty. Fields the kind does not use are left
// alone, so Validate still reports them.
func (s Scheme) WithDefaults() Scheme {
	switch s.Kind {
	case SchemeHeader:
		if s.Header == "" {
			s.Header = defaultAuthHeader
		}
	case SchemeHMAC:
		if s.Header == "" {
			s.Header = defaultHMACHeader
		}
		if s.Encoding == "" {
			s.Encoding = defaultEncoding
		}
	case SchemeToken:
		if s.Param == "" {
			s.Param = defaultParam
		}
	}
	return s
}

// Validate reports every problem with s, one line per field, each naming
// the field as "webhookAuth.<field>". The result wraps ErrBadScheme.
//
// Fields the kind does not use must be empty: a leftover Prefix on an
// hmac-sha256 scheme, say, is almost certainly a mistake, and silently
// ignoring security configuration is how such mistakes go unnoticed.
func (s Scheme) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &fieldError{field: field, problem: fmt.Sprintf(format, args...)})
	}
	unused := func(field, value, usedBy string) {
		if value != "" {
			bad(field, "only used with scheme %s", usedBy)
		}
	}
	switch s.Kind {
	case "":
		bad("scheme", "required (%s)", kindList)
	case SchemeHeader:
		unused("encoding", s.Encoding, SchemeHMAC)
		unused("param", s.Param, SchemeToken)
	case SchemeHMAC:
		unused("prefix", s.Prefix, SchemeHeader)
		unused("param", s.Param, SchemeToken)
		if s.Encoding != "" && s.Encoding != EncodingHex && s.Encoding != EncodingBase64 {
			bad("encoding", "must be %s or %s", EncodingHex, EncodingBase64)
		}
	case SchemeToken:
		unused("header", s.Header, SchemeHeader+" or "+SchemeHMAC)
		unused("prefix", s.Prefix, SchemeHeader)
		unused("encoding", s.Encoding, SchemeHMAC)
		if s.Param != "" && !isParamName(s.Param) {
			bad("param", "must be a plain query parameter name (no spaces, control characters, '&', '=', '#' or '?')")
		}
	case SchemeNone:
		unused("header", s.Header, SchemeHeader+" or "+SchemeHMAC)
		unused("prefix", s.Prefix, SchemeHeader)
		unused("encoding", s.Encoding, SchemeHMAC)
		unused("param", s.Param, SchemeToken)
	default:
		bad("scheme", "unknown %q, must be %s", truncate(s.Kind, 40), kindList)
	}
	if (s.Kind == SchemeHeader || s.Kind == SchemeHMAC) && s.Header != "" && !isToken(s.Header) {
		bad("header", "must be a valid HTTP header name")
	}
	if s.Kind == SchemeHeader && !isPrintableASCII(s.Prefix) {
		bad("prefix", "must be printable ASCII")
	}
	return errors.Join(errs...)
}

// isToken reports whether s is an RFC 9110 token, the syntax of a header
// name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isPrintableASCII reports whether s holds only bytes 0x20..0x7e. Prefixes
// are limited to these so that the case-insensitive match is plain ASCII
// folding with no Unicode surprises.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isParamName reports whether s can name a query parameter without
// escaping: printable ASCII other than space and the URL delimiters.
func isParamName(s string) bool {
	return isPrintableASCII(s) && !strings.ContainsAny(s, " &=#?")
}

// truncate shortens s for inclusion in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
