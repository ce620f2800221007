package liveperson

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
)

func authWith(t *testing.T, a *Adapter, s Settings, header string, now time.Time) error {
	t.Helper()
	r := lptest.Endpoint{Account: testAccount, BotID: testBotID, Authorization: header}.State()
	return a.Authenticate(apiRequest(t, r), account(t, s, userPass), now)
}

func TestAuthenticateStaticKey(t *testing.T) {
	s := demo(t)
	tok := func(k lptest.TokenKind) string {
		v, err := s.Token(k, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + v
	}
	foreign, err := stranger(t).Token(lptest.TokenValid, testNow)
	if err != nil {
		t.Fatal(err)
	}
	// Another key under the account's kid: only the signature gives it away.
	forged, err := lptest.SignRS256(s.ValidClaims(testNow), stranger(t).Key, s.KID)
	if err != nil {
		t.Fatal(err)
	}
	slightlyExpired, err := s.Sign(lptest.Claims{Issuer: lptest.Issuer, Audience: []string{testAccount}, Scope: lptest.Scope,
		IssuedAt: testNow.Add(-time.Hour), Expires: testNow.Add(-20 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	multiAudScope, err := s.Sign(lptest.Claims{Issuer: lptest.Issuer, Audience: []string{"other", testAccount},
		Scope: "msg.consumer " + lptest.Scope, Expires: testNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	noKID, err := lptest.SignRS256(s.ValidClaims(testNow), s.Key, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		header   string
		deprec   *bool // acceptDeprecatedScope; nil is the default
		wantCode string
		status   int
	}{
		{"valid", tok(lptest.TokenValid), nil, "", 0},
		{"no kid: the static keys", "Bearer " + noKID, nil, "", 0},
		{"a kid the account does not list", tok(lptest.TokenUnknownKID), nil, "unknown_key", 401},
		{"lowercase bearer scheme", "bearer " + strings.TrimPrefix(tok(lptest.TokenValid), "Bearer "), nil, "", 0},
		{"several audiences and scopes", "Bearer " + multiAudScope, nil, "", 0},
		{"expired within leeway", "Bearer " + slightlyExpired, nil, "", 0},
		{"expired", tok(lptest.TokenExpired), nil, "token_expired", 401},
		{"wrong audience", tok(lptest.TokenWrongAudience), nil, "wrong_audience", 401},
		{"wrong scope", tok(lptest.TokenWrongScope), nil, "wrong_scope", 401},
		// LivePerson's reference service accepts the deprecated scope (and
		// logs it): so does the bridge, unless the account refuses it.
		{"deprecated scope accepted by default", tok(lptest.TokenDeprecatedScope), nil, "", 0},
		{"deprecated scope when allowed", tok(lptest.TokenDeprecatedScope), ptr(true), "", 0},
		{"deprecated scope refused by the account", tok(lptest.TokenDeprecatedScope), ptr(false), "wrong_scope", 401},
		{"wrong issuer", tok(lptest.TokenWrongIssuer), nil, "wrong_issuer", 401},
		{"no expiry", tok(lptest.TokenNoExpiry), nil, "invalid_token", 401},
		{"not yet valid", tok(lptest.TokenNotYetValid), nil, "token_not_yet_valid", 401},
		{"wrong key under the account's kid", "Bearer " + forged, nil, "invalid_signature", 401},
		{"wrong key and kid", "Bearer " + foreign, nil, "unknown_key", 401},
		{"alg none", tok(lptest.TokenAlgNone), nil, "unsupported_alg", 401},
		{"alg confusion HS256 with the public key", tok(lptest.TokenAlgHS256), nil, "unsupported_alg", 401},
		{"RS512", tok(lptest.TokenAlgRS512), nil, "unsupported_alg", 401},
		{"missing header", "", nil, "missing_token", 401},
		{"basic scheme", "Basic dXNlcjpwYXNz", nil, "missing_token", 401},
		{"bearer without token", "Bearer ", nil, "missing_token", 401},
		{"not a JWT", "Bearer not.a.jwt", nil, "invalid_token", 401},
		{"too long", "Bearer " + strings.Repeat("a", maxTokenLen+1), nil, "invalid_token", 401},
		{"tampered payload", "Bearer " + tamper(tok(lptest.TokenValid)), nil, "invalid_signature", 401},
	}
	a := newAdapter()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := baseSettings(t)
			st.AcceptDeprecatedScope = tc.deprec
			c, status := code(t, authWith(t, a, st, tc.header, testNow))
			if c != tc.wantCode || status != tc.status {
				t.Fatalf("got %q/%d, want %q/%d", c, status, tc.wantCode, tc.status)
			}
		})
	}
}

// A token with the deprecated scope is counted and logged when accepted, by
// account and scope only.
func TestDeprecatedScopeIsCounted(t *testing.T) {
	var logs, emf bytes.Buffer
	a := newAdapter()
	a.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	a.Metrics = obs.NewMetrics(&emf, "crmbridge", "source-inbound")
	v, err := demo(t).Token(lptest.TokenDeprecatedScope, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := authWith(t, a, baseSettings(t), "Bearer "+v, testNow); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(emf.String(), `"DeprecatedScope":1`) || !strings.Contains(logs.String(), `"level":"WARN"`) ||
		!strings.Contains(logs.String(), `"account":"`+testAccount+`"`) || strings.Contains(logs.String(), v) {
		t.Fatalf("metric %s\nlog %s", emf.String(), logs.String())
	}
	emf.Reset()
	v, _ = demo(t).Token(lptest.TokenValid, testNow)
	if err := authWith(t, a, baseSettings(t), "Bearer "+v, testNow); err != nil || emf.Len() != 0 {
		t.Fatalf("current scope: %v, metric %s", err, emf.String())
	}
}

// tamper swaps the payload for another account's, keeping the signature.
func tamper(header string) string {
	parts := strings.Split(strings.TrimPrefix(header, "Bearer "), ".")
	parts[1] = strings.ReplaceAll(parts[1], "a", "b")
	return strings.Join(parts, ".")
}

// A kid that is empty or not a string names no key, with static keys and
// with a JWKS alike.
func TestAuthenticateOddKID(t *testing.T) {
	s := demo(t)
	for _, kid := range []any{"", 7, true} {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": lptest.Issuer, "aud": testAccount, "scope": lptest.Scope, "exp": testNow.Add(time.Hour).Unix()})
		tok.Header["kid"] = kid
		signed, err := tok.SignedString(s.Key)
		if err != nil {
			t.Fatal(err)
		}
		if c, status := code(t, authWith(t, newAdapter(), baseSettings(t), "Bearer "+signed, testNow)); c != "unknown_key" || status != 401 {
			t.Errorf("kid %#v: got %q/%d, want unknown_key/401", kid, c, status)
		}
	}
}

func TestAuthenticateLeewayIsConfigurable(t *testing.T) {
	tok, err := demo(t).Sign(lptest.Claims{Issuer: lptest.Issuer, Audience: []string{testAccount}, Scope: lptest.Scope,
		Expires: testNow.Add(-5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	st := baseSettings(t)
	st.JWTLeewaySeconds = ptr(0)
	if c, _ := code(t, authWith(t, newAdapter(), st, "Bearer "+tok, testNow)); c != "token_expired" {
		t.Fatalf("zero leeway: got %q, want token_expired", c)
	}
}

func TestAuthenticateStaticKeyRotation(t *testing.T) {
	st := baseSettings(t)
	st.JWTPublicKeyPEM = stranger(t).PublicKeyPEM() + "\n" + demo(t).PublicKeyPEM()
	st.JWTKeyIDs = []string{stranger(t).KID, demo(t).KID}
	for _, s := range []*lptest.Sentinel{demo(t), stranger(t)} {
		b, err := s.Bearer(testNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := authWith(t, newAdapter(), st, b, testNow); err != nil {
			t.Fatalf("key %s: %v", s.KID, err)
		}
	}
}

func TestAuthenticateMisconfiguredAccount(t *testing.T) {
	a := newAdapter()
	acct := account(t, Settings{BotID: testBotID}, userPass)
	b, _ := demo(t).Bearer(testNow)
	err := a.Authenticate(apiRequest(t, lptest.Endpoint{Account: testAccount, BotID: testBotID, Authorization: b}.State()), acct, testNow)
	if c, status := code(t, err); c != "account_misconfigured" || status != 500 {
		t.Fatalf("got %q/%d", c, status)
	}
}

func TestAuthenticateJWKS(t *testing.T) {
	s, err := lptest.NewSentinel(testAccount)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	st := baseSettings(t)
	st.JWTPublicKeyPEM, st.JWTKeyIDs, st.JWKSURL = "", nil, srv.URL+lptest.JWKSPath
	a := newAdapter()
	auth := func(now time.Time, tok string) string {
		t.Helper()
		c, _ := code(t, authWith(t, a, st, "Bearer "+tok, now))
		return c
	}
	valid := func(now time.Time) string {
		v, err := s.Token(lptest.TokenValid, now)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// Cached: two requests, one fetch.
	if c := auth(testNow, valid(testNow)); c != "" {
		t.Fatalf("first token: %s", c)
	}
	if c := auth(testNow.Add(time.Second), valid(testNow)); c != "" || s.Fetches() != 1 {
		t.Fatalf("second token: %q, fetches %d, want 1", c, s.Fetches())
	}
	// A forged kid does not refetch within the minute.
	unknown, _ := s.Token(lptest.TokenUnknownKID, testNow)
	if c := auth(testNow.Add(2*time.Second), unknown); c != "unknown_key" || s.Fetches() != 1 {
		t.Fatalf("unknown kid: %q, fetches %d", c, s.Fetches())
	}
	// Rotation: the new kid is fetched once the minute has passed.
	if err := s.Rotate(); err != nil {
		t.Fatal(err)
	}
	rotated := valid(testNow)
	if c := auth(testNow.Add(30*time.Second), rotated); c != "unknown_key" {
		t.Fatalf("new kid within a minute of the last fetch: %q, want unknown_key", c)
	}
	if c := auth(testNow.Add(61*time.Second), rotated); c != "" || s.Fetches() != 2 {
		t.Fatalf("new kid after a minute: %q, fetches %d, want 2", c, s.Fetches())
	}
	// Another unknown kid right after: no third fetch.
	if c := auth(testNow.Add(62*time.Second), unknown); c != "unknown_key" || s.Fetches() != 2 {
		t.Fatalf("unknown kid after refetch: %q, fetches %d", c, s.Fetches())
	}
	// Expired cache: refetched.
	if c := auth(testNow.Add(10*time.Minute), valid(testNow.Add(10*time.Minute))); c != "" || s.Fetches() != 3 {
		t.Fatalf("after TTL: %q, fetches %d, want 3", c, s.Fetches())
	}
	// Sentinel down after the TTL: the stale keys serve for a while.
	srv.Close()
	if c := auth(testNow.Add(20*time.Minute), valid(testNow.Add(20*time.Minute))); c != "" {
		t.Fatalf("stale keys while Sentinel is down: %q", c)
	}
}

func TestAuthenticateJWKSUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	st := baseSettings(t)
	st.JWTPublicKeyPEM, st.JWTKeyIDs, st.JWKSURL = "", nil, srv.URL+lptest.JWKSPath
	b, _ := demo(t).Bearer(testNow)
	err := authWith(t, newAdapter(), st, b, testNow)
	if c, status := code(t, err); c != "keys_unavailable" || status != 503 {
		t.Fatalf("got %q/%d, want keys_unavailable/503", c, status)
	}
}

func TestJWKRSA(t *testing.T) {
	good := JWK{Kty: "RSA", N: "", E: "AQAB"}
	_, err := jwkRSA(good)
	if err == nil {
		t.Fatal("empty n accepted")
	}
	for _, k := range []JWK{
		{Kty: "EC", N: "x", E: "AQAB"},
		{Kty: "RSA", Use: "enc", N: "x", E: "AQAB"},
		{Kty: "RSA", Alg: "RS512", N: "x", E: "AQAB"},
		{Kty: "RSA", N: "AQAB", E: "AQAB"}, // far too small
		{Kty: "RSA", N: "!!", E: "AQAB"},
		{Kty: "RSA", N: "AQAB", E: "AQABAQAB"},
	} {
		if _, err := jwkRSA(k); err == nil {
			t.Errorf("%+v accepted", k)
		}
	}
}
