package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/url"
	"sort"
	"strings"
)

// Twilio's webhook signature (X-Twilio-Signature): an HMAC of the full URL
// Twilio called (query string included) followed by every POST parameter as
// name+value, sorted by name, base64-encoded. The key is the account's Auth
// Token with HMAC-SHA1, or, when a Webhooks Rule applies a Setting with a
// SharedKey, that key's secret with the algorithm the
// X-Twilio-Webhooks-Signature-Settings header names. A JSON body is not
// signed as parameters: Twilio adds bodySHA256 (hex SHA-256 of the body) to
// the URL's query, signs the URL alone, and the body is checked against the
// hash.

// Header names.
const (
	HeaderSignature         = "X-Twilio-Signature"
	HeaderSignatureSettings = "X-Twilio-Webhooks-Signature-Settings"
)

// Algorithm is a signature's HMAC.
type Algorithm string

// Algorithms Twilio signs with.
const (
	HMACSHA1   Algorithm = "HMAC_SHA1"
	HMACSHA256 Algorithm = "HMAC_SHA256"
)

// Errors of Verify, each a different answer to fix.
var (
	ErrNoSignature        = errors.New("no X-Twilio-Signature header")
	ErrBadSignature       = errors.New("X-Twilio-Signature does not match")
	ErrBadSettings        = errors.New("X-Twilio-Webhooks-Signature-Settings is malformed or names an unsupported algorithm")
	ErrNoKey              = errors.New("no key configured for this signature's algorithm")
	ErrBodyHash           = errors.New("bodySHA256 does not match the body")
	ErrBadBodyHash        = errors.New("bodySHA256 is not 64 hex digits")
	ErrUnsignedParameters = errors.New("the body is not form-encoded parameters")
)

// Keys are the secrets a request may be signed with; two of each during a
// rotation.
type Keys struct {
	AuthTokens [][]byte // HMAC-SHA1, Twilio's default
	SharedKeys [][]byte // the SharedKey secrets of a Webhooks Rule
}

// SignatureSettings reads X-Twilio-Webhooks-Signature-Settings
// ("key=<id>,algorithm=HMAC_SHA256"). An absent header is HMAC-SHA1 with the
// Auth Token; keyID is informational (the secrets are tried in turn).
func SignatureSettings(header string) (alg Algorithm, keyID string, shared bool, err error) {
	if strings.TrimSpace(header) == "" {
		return HMACSHA1, "", false, nil
	}
	if len(header) > 512 {
		return "", "", false, ErrBadSettings
	}
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", "", false, ErrBadSettings
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "key":
			keyID = strings.TrimSpace(v)
		case "algorithm":
			switch a := Algorithm(strings.ToUpper(strings.TrimSpace(v))); a {
			case HMACSHA1, HMACSHA256:
				alg = a
			default:
				return "", "", false, ErrBadSettings
			}
		}
	}
	if alg == "" {
		return "", "", false, ErrBadSettings
	}
	return alg, keyID, true, nil
}

// Sign computes the signature of u and params (nil for a JSON body, whose
// hash is in u) with key and alg: what Twilio puts in X-Twilio-Signature.
func Sign(key []byte, alg Algorithm, u string, params url.Values) string {
	mac := newMAC(alg, key)
	mac.Write([]byte(u))
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// A repeated parameter contributes each distinct value, sorted, as
		// Twilio's SDKs compute it.
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for i, v := range vs {
			if i > 0 && v == vs[i-1] {
				continue
			}
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func newMAC(alg Algorithm, key []byte) hash.Hash {
	if alg == HMACSHA256 {
		return hmac.New(sha256.New, key)
	}
	return hmac.New(sha1.New, key)
}

// Request is what Verify needs of a webhook: the URL Twilio called, the raw
// body and the two headers.
type Request struct {
	URL       string
	Body      []byte
	Form      bool // the body is application/x-www-form-urlencoded
	Signature string
	Settings  string // X-Twilio-Webhooks-Signature-Settings
}

// Verify checks a webhook's signature. The URL is tried as given and with
// the default port added or removed, because Twilio's back end is not
// consistent about the port. Every comparison is constant-time; the key
// that matched is not reported.
func Verify(r Request, keys Keys) error {
	sig := strings.TrimSpace(r.Signature)
	if sig == "" {
		return ErrNoSignature
	}
	alg, _, shared, err := SignatureSettings(r.Settings)
	if err != nil {
		return err
	}
	secrets := keys.AuthTokens
	if shared {
		secrets = keys.SharedKeys
	}
	if len(secrets) == 0 {
		return ErrNoKey
	}
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ErrBadSignature
	}
	var params url.Values
	bodyHash := u.Query().Get("bodySHA256")
	switch {
	case bodyHash != "":
		if err := checkBodyHash(r.Body, bodyHash); err != nil {
			return err
		}
	case r.Form:
		params, err = url.ParseQuery(string(r.Body))
		if err != nil {
			return ErrUnsignedParameters
		}
	case len(r.Body) > 0:
		return ErrUnsignedParameters
	}
	ok := 0
	for _, candidate := range portVariants(r.URL) {
		for _, k := range secrets {
			ok |= subtle.ConstantTimeCompare([]byte(Sign(k, alg, candidate, params)), []byte(sig))
		}
	}
	if ok != 1 {
		return ErrBadSignature
	}
	return nil
}

func checkBodyHash(body []byte, want string) error {
	if len(want) != 64 {
		return ErrBadBodyHash
	}
	w, err := hex.DecodeString(want)
	if err != nil {
		return ErrBadBodyHash
	}
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(sum[:], w) != 1 {
		return ErrBodyHash
	}
	return nil
}

// portVariants is the URL without any port, and with its port (the
// scheme's default when it has none): the two forms Twilio's SDKs accept.
// Only the authority changes; path and query stay byte for byte as
// received. The fragment never reaches the server (Twilio's connection
// overrides live there) and is not signed.
func portVariants(raw string) []string {
	raw, _, _ = strings.Cut(raw, "#")
	scheme, rest, _ := strings.Cut(raw, "://")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	host, port := authority, ""
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.Contains(authority[i:], "]") {
		host, port = authority[:i], authority[i+1:]
	}
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[strings.ToLower(scheme)]
	}
	out := []string{scheme + "://" + host + tail}
	if port != "" {
		out = append(out, scheme+"://"+host+":"+port+tail)
	}
	return out
}
