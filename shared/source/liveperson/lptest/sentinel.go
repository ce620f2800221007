package lptest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Scopes and issuer as LivePerson sets them.
const (
	Scope           = "thirdpartybots.customendpoint.bot"
	DeprecatedScope = "ihub.tpb.customendpoint"
	Issuer          = "Sentinel"
)

// Sentinel issues App-JWTs for one LivePerson account, the way LivePerson's
// Sentinel does for a Custom Endpoint bot, and serves its public keys.
type Sentinel struct {
	Account string
	Key     *rsa.PrivateKey
	KID     string

	mu      sync.Mutex
	retired []jwkKey // earlier keys still published after a rotation
	fetches int
}

type jwkKey struct {
	kid string
	pub *rsa.PublicKey
}

// NewSentinel makes a Sentinel with a fresh 2048-bit key.
func NewSentinel(account string) (*Sentinel, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &Sentinel{Account: account, Key: k, KID: randomKID()}, nil
}

func randomKID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "appjwt-" + hex.EncodeToString(b[:])
}

// demoKeyPEM is a TEST-ONLY key pair. Its public half is configured on the
// demo tenant (events/tenant/source-liveperson-demo.json), so the sample
// events can be re-signed and replayed against the local stack. It protects
// nothing.
//
//go:embed demo_sentinel_key.pem
var demoKeyPEM []byte

// Demo identifiers, as in the demo tenant items under events/tenant.
const (
	DemoAccount = "90412077"
	DemoBotID   = "3f1c6a2e-8d4b-4e0f-9a77-2b5c1d9e6f10"
	DemoAgentID = "64f1c0ffee0ddba11ad0be57"
	DemoKID     = "crmbridge-demo-1"
)

// DemoSentinel is the Sentinel of the demo account, with the embedded test
// key.
func DemoSentinel() (*Sentinel, error) {
	block, _ := pem.Decode(demoKeyPEM)
	if block == nil {
		return nil, errors.New("demo key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("demo key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("demo key: not RSA")
	}
	return &Sentinel{Account: DemoAccount, Key: rk, KID: DemoKID}, nil
}

// PublicKeyPEM is the "PUBLIC KEY" PEM of the current key, what an account's
// jwtPublicKeyPem setting holds.
func (s *Sentinel) PublicKeyPEM() string {
	der, err := x509.MarshalPKIXPublicKey(&s.Key.PublicKey)
	if err != nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Claims of a token. Zero times are left out.
type Claims struct {
	Issuer    string
	Audience  []string
	Scope     string
	Subject   string
	IssuedAt  time.Time
	NotBefore time.Time
	Expires   time.Time
}

// ValidClaims are the claims LivePerson sends: issued now for the account
// with the Custom Endpoint scope, valid for an hour.
func (s *Sentinel) ValidClaims(now time.Time) Claims {
	return Claims{Issuer: Issuer, Audience: []string{s.Account}, Scope: Scope, Subject: "tpb-custom-endpoint",
		IssuedAt: now, Expires: now.Add(time.Hour)}
}

func (c Claims) mapClaims() jwt.MapClaims {
	m := jwt.MapClaims{}
	set := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	set("iss", c.Issuer, c.Issuer != "")
	set("sub", c.Subject, c.Subject != "")
	set("scope", c.Scope, c.Scope != "")
	switch len(c.Audience) {
	case 0:
	case 1:
		m["aud"] = c.Audience[0]
	default:
		m["aud"] = c.Audience
	}
	set("iat", c.IssuedAt.Unix(), !c.IssuedAt.IsZero())
	set("nbf", c.NotBefore.Unix(), !c.NotBefore.IsZero())
	set("exp", c.Expires.Unix(), !c.Expires.IsZero())
	return m
}

// Sign makes an RS256 token with the Sentinel's key and kid.
func (s *Sentinel) Sign(c Claims) (string, error) {
	return SignRS256(c, s.Key, s.KID)
}

// SignRS256 signs with any RSA key, e.g. one the account does not trust.
func SignRS256(c Claims, key *rsa.PrivateKey, kid string) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c.mapClaims())
	if kid != "" {
		t.Header["kid"] = kid
	}
	return t.SignedString(key)
}

// TokenKind names a token for the verification matrix.
type TokenKind string

// Token kinds.
const (
	TokenValid           TokenKind = "valid"
	TokenExpired         TokenKind = "expired"
	TokenWrongAudience   TokenKind = "wrong-audience"
	TokenWrongScope      TokenKind = "wrong-scope"
	TokenDeprecatedScope TokenKind = "deprecated-scope"
	TokenWrongIssuer     TokenKind = "wrong-issuer"
	TokenNoExpiry        TokenKind = "no-exp"
	TokenNotYetValid     TokenKind = "not-yet-valid"
	TokenUnknownKID      TokenKind = "unknown-kid"
	// TokenAlgNone is unsigned ("alg":"none").
	TokenAlgNone TokenKind = "alg-none"
	// TokenAlgHS256 is HMAC-signed with the public key's PEM as the secret:
	// the classic algorithm-confusion forgery.
	TokenAlgHS256 TokenKind = "alg-hs256"
	// TokenAlgRS512 is a genuine signature with another RSA algorithm.
	TokenAlgRS512 TokenKind = "alg-rs512"
)

// Token makes a token of the given kind, issued at now.
func (s *Sentinel) Token(kind TokenKind, now time.Time) (string, error) {
	c := s.ValidClaims(now)
	switch kind {
	case TokenValid:
	case TokenExpired:
		c.IssuedAt, c.Expires = now.Add(-2*time.Hour), now.Add(-time.Hour)
	case TokenWrongAudience:
		c.Audience = []string{s.Account + "0"}
	case TokenWrongScope:
		c.Scope = "msg.consumer"
	case TokenDeprecatedScope:
		c.Scope = DeprecatedScope
	case TokenWrongIssuer:
		c.Issuer = "NotSentinel"
	case TokenNoExpiry:
		c.Expires = time.Time{}
	case TokenNotYetValid:
		c.NotBefore = now.Add(10 * time.Minute)
	case TokenUnknownKID:
		return SignRS256(c, s.Key, "no-such-kid")
	case TokenAlgNone:
		t := jwt.NewWithClaims(jwt.SigningMethodNone, c.mapClaims())
		return t.SignedString(jwt.UnsafeAllowNoneSignatureType)
	case TokenAlgHS256:
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, c.mapClaims())
		t.Header["kid"] = s.KID
		return t.SignedString([]byte(s.PublicKeyPEM()))
	case TokenAlgRS512:
		t := jwt.NewWithClaims(jwt.SigningMethodRS512, c.mapClaims())
		t.Header["kid"] = s.KID
		return t.SignedString(s.Key)
	default:
		return "", fmt.Errorf("unknown token kind %q", kind)
	}
	return s.Sign(c)
}

// Bearer is an Authorization header value with a valid token.
func (s *Sentinel) Bearer(now time.Time) (string, error) {
	t, err := s.Token(TokenValid, now)
	return "Bearer " + t, err
}

// Rotate switches to a new key and kid; the old key stays in the JWKS, as
// during a real rotation.
func (s *Sentinel) Rotate() error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired = append(s.retired, jwkKey{kid: s.KID, pub: &s.Key.PublicKey})
	s.Key, s.KID = k, randomKID()
	return nil
}

// JWKS is the key set Sentinel v2 publishes.
func (s *Sentinel) JWKS() []byte {
	s.mu.Lock()
	keys := append([]jwkKey{{kid: s.KID, pub: &s.Key.PublicKey}}, s.retired...)
	s.mu.Unlock()
	type jwk struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{}
	for _, k := range keys {
		set.Keys = append(set.Keys, jwk{Kty: "RSA", Kid: k.kid, Use: "sig", Alg: "RS256",
			N: base64.RawURLEncoding.EncodeToString(k.pub.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.pub.E)).Bytes())})
	}
	b, _ := json.Marshal(set)
	return b
}

// JWKSPath is where Sentinel v2 serves its keys.
const JWKSPath = "/sentinel/well-known/jwks"

// ServeHTTP serves the JWKS and counts the fetches.
func (s *Sentinel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != JWKSPath {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.fetches++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.JWKS())
}

// Fetches counts JWKS requests.
func (s *Sentinel) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Start serves the JWKS on addr ("" picks a free loopback port) and returns
// the jwksUrl to configure and a stop function.
func (s *Sentinel) Start(addr string) (jwksURL string, stop func(), err error) {
	base, stop, err := serve(addr, s)
	return base + JWKSPath, stop, err
}

// serve runs h on a loopback listener.
func serve(addr string, h http.Handler) (string, func(), error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}
