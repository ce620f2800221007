package webhookauth

import (
	"encoding/base64"
	"encoding/hex"
)

// Sign returns the headers and query parameters a sender must add for s to
// authenticate body with secret. It exists for our fake AI agent and for
// tests, so that they exercise the same rules Verify enforces.
//
// Both maps are always non-nil. For SchemeNone, or an s that fails Validate,
// they are empty (Verify will report the invalid scheme). hmac-sha256
// signatures are sent without the optional "sha256=" prefix.
func Sign(s Scheme, secret string, body []byte) (headers map[string]string, query map[string]string) {
	headers, query = map[string]string{}, map[string]string{}
	if s.Validate() != nil {
		return headers, query
	}
	s = s.WithDefaults()
	switch s.Kind {
	case SchemeHeader:
		headers[s.Header] = s.Prefix + secret
	case SchemeHMAC:
		mac := bodyMAC(secret, body)
		if s.Encoding == EncodingBase64 {
			headers[s.Header] = base64.StdEncoding.EncodeToString(mac)
		} else {
			headers[s.Header] = hex.EncodeToString(mac)
		}
	case SchemeToken:
		query[s.Param] = secret
	}
	return headers, query
}
