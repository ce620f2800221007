package liveperson

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
)

// RSA key sizes we accept: LivePerson signs with 2048-bit keys; anything
// smaller is forgeable, anything huge is a denial-of-service lever.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

var (
	errUnknownKey      = errors.New("no key with the token's kid")
	errKeysUnavailable = errors.New("signing keys could not be fetched")
)

// parsePublicKeys reads every RSA public key in a PEM text (SubjectPublicKeyInfo
// "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY"). A bare base64 body, as LivePerson
// publishes its v1 key, is accepted too.
func parsePublicKeys(text string) ([]*rsa.PublicKey, error) {
	text = strings.TrimSpace(text)
	if !strings.Contains(text, "-----BEGIN") {
		text = "-----BEGIN PUBLIC KEY-----\n" + text + "\n-----END PUBLIC KEY-----"
	}
	var keys []*rsa.PublicKey
	rest := []byte(text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var pub any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %d does not parse: %w", len(keys)+1, err)
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("PEM block %d is not an RSA key", len(keys)+1)
		}
		if err := checkRSA(rk); err != nil {
			return nil, err
		}
		keys = append(keys, rk)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	return keys, nil
}

func checkRSA(k *rsa.PublicKey) error {
	if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
		return fmt.Errorf("RSA key of %d bits; %d to %d required", n, minRSABits, maxRSABits)
	}
	if k.E < 3 || k.E%2 == 0 {
		return errors.New("RSA key has an invalid exponent")
	}
	return nil
}

// JWK is the part of an RSA JSON Web Key that verification needs.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// jwkRSA turns an RSA signing JWK into a public key (RFC 7518 §6.3.1: n and
// e are unsigned big-endian integers, base64url without padding).
func jwkRSA(k JWK) (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("kty %q is not RSA", k.Kty)
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, fmt.Errorf("use %q is not sig", k.Use)
	}
	if k.Alg != "" && k.Alg != "RS256" {
		return nil, fmt.Errorf("alg %q is not RS256", k.Alg)
	}
	n, err := b64uint(k.N)
	if err != nil || len(n) == 0 {
		return nil, errors.New("n is not base64url")
	}
	e, err := b64uint(k.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("e is not a base64url integer of at most 4 bytes")
	}
	exp := new(big.Int).SetBytes(e).Int64()
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
	if err := checkRSA(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

func b64uint(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// keyCache holds Sentinel v2 key sets by URL. Keys are refetched after their
// TTL, and at most once a minute when a token names an unknown kid (a key
// rotation), so a flood of forged kids cannot make us hammer Sentinel.
type keyCache struct {
	mu    sync.Mutex
	byURL map[string]*jwksEntry
}

type jwksEntry struct {
	mu          sync.Mutex // held while fetching: concurrent callers share one fetch
	byKid       map[string]*rsa.PublicKey
	all         []*rsa.PublicKey
	fetched     time.Time // last successful fetch
	attempted   time.Time // last fetch attempt
	lastFailed  bool
	lastFailure error
}

const (
	refetchUnknownKid = time.Minute
	staleKeysFor      = time.Hour // served when Sentinel is unreachable
	failedFetchPause  = 5 * time.Second
	jwksFetchTimeout  = 3 * time.Second
	jwksBodyLimit     = 64 << 10
	maxJWKSKeys       = 20
)

func (c *keyCache) entry(url string) *jwksEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byURL[url]
	if e == nil {
		e = &jwksEntry{}
		c.byURL[url] = e
	}
	return e
}

// lookup returns the keys to try for kid: the one key with that kid, or all
// of them when the token names none.
func (c *keyCache) lookup(hc *egress.Client, url, kid string, ttl time.Duration, now time.Time) ([]*rsa.PublicKey, error) {
	e := c.entry(url)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fetched.IsZero() || !now.Before(e.fetched.Add(ttl)) {
		if err := e.refresh(hc, url, now); err != nil && (e.fetched.IsZero() || !now.Before(e.fetched.Add(staleKeysFor))) {
			return nil, err
		}
	}
	if kid == "" {
		if len(e.all) == 0 {
			return nil, errUnknownKey
		}
		return e.all, nil
	}
	if k := e.byKid[kid]; k != nil {
		return []*rsa.PublicKey{k}, nil
	}
	if now.Sub(e.attempted) >= refetchUnknownKid {
		if err := e.refresh(hc, url, now); err != nil && e.fetched.IsZero() {
			return nil, err
		}
		if k := e.byKid[kid]; k != nil {
			return []*rsa.PublicKey{k}, nil
		}
	}
	return nil, errUnknownKey
}

func (e *jwksEntry) refresh(hc *egress.Client, url string, now time.Time) error {
	if e.lastFailed && now.Sub(e.attempted) < failedFetchPause {
		return e.lastFailure
	}
	e.attempted = now
	byKid, all, err := fetchJWKS(hc, url)
	if err != nil {
		e.lastFailed, e.lastFailure = true, fmt.Errorf("%w: %w", errKeysUnavailable, err)
		return e.lastFailure
	}
	e.byKid, e.all, e.fetched, e.lastFailed, e.lastFailure = byKid, all, now, false, nil
	return nil
}

// fetchJWKS reads a key set. Keys that are not RSA signing keys are skipped;
// a set with none left is an error.
func fetchJWKS(hc *egress.Client, url string) (map[string]*rsa.PublicKey, []*rsa.PublicKey, error) {
	// Authenticate has no request context; the fetch gets its own bound.
	resp, err := hc.Do(context.Background(), &egress.Request{
		Op: "liveperson JWKS", URL: url, Header: http.Header{"Accept": {"application/json"}},
		Timeout: jwksFetchTimeout, MaxBody: jwksBodyLimit,
	})
	if err != nil {
		return nil, nil, err
	}
	body := resp.Body
	var set struct {
		Keys []JWK `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, nil, errors.New("JWKS: not a JSON key set")
	}
	byKid := map[string]*rsa.PublicKey{}
	var all []*rsa.PublicKey
	for _, k := range set.Keys {
		if len(all) == maxJWKSKeys {
			break
		}
		pub, err := jwkRSA(k)
		if err != nil {
			continue
		}
		all = append(all, pub)
		if k.Kid != "" {
			byKid[k.Kid] = pub
		}
	}
	if len(all) == 0 {
		return nil, nil, errors.New("JWKS: no RSA signing key")
	}
	return byKid, all, nil
}
