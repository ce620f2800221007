package liveperson

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
)

// maxTokenLen bounds the bearer we parse; Sentinel tokens are well under 2 KiB.
const maxTokenLen = 8 << 10

// appClaims are the Sentinel App-JWT claims we check. The scope is a
// space-separated string in OAuth; a JSON array is accepted as well.
type appClaims struct {
	jwt.RegisteredClaims
	Scope json.RawMessage `json:"scope,omitempty"`
}

func (c *appClaims) scopes() []string {
	var s string
	if json.Unmarshal(c.Scope, &s) == nil {
		return strings.Fields(s)
	}
	var list []string
	if json.Unmarshal(c.Scope, &list) == nil {
		return list
	}
	return nil
}

// Authenticate implements source.Inbound: the Sentinel App-JWT in the
// Authorization header must be RS256-signed by the account's key, issued by
// Sentinel for this account (aud) with the Custom Endpoint scope, and not
// expired. Every refusal is a 401 naming the reason.
func (a *Adapter) Authenticate(req *apigw.Request, acct *source.Account, now time.Time) error {
	a.init()
	st, err := settingsOf(acct)
	if err != nil {
		return apigw.Wrap(err, http.StatusInternalServerError, "account_misconfigured", "the account's settings are invalid; see logs")
	}
	return a.verifyToken(req.HeaderValue("Authorization"), st, acct.Account, now)
}

func unauthorized(code, msg string, cause error) error {
	return &apigw.Error{
		Status: http.StatusUnauthorized, Code: code, Message: msg, Err: cause,
		Headers: map[string]string{"WWW-Authenticate": `Bearer realm="crmbridge"`},
	}
}

func (a *Adapter) verifyToken(header string, st *settings, account string, now time.Time) error {
	if header == "" {
		return unauthorized("missing_token", "Authorization: Bearer <Sentinel App-JWT> is required", nil)
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return unauthorized("missing_token", "the Authorization header must be Bearer <Sentinel App-JWT>", nil)
	}
	if len(token) > maxTokenLen {
		return unauthorized("invalid_token", "the bearer token is too long", nil)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(st.JWTIssuer),
		jwt.WithAudience(account),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(st.leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var claims appClaims
	tok, err := parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		return a.keysFor(st, t, now)
	})
	if err != nil {
		return tokenError(tok, err)
	}
	deprecated := false
	for _, s := range claims.scopes() {
		if s == ScopeCustomEndpoint {
			return nil
		}
		deprecated = deprecated || s == ScopeDeprecated
	}
	if deprecated && st.acceptDeprecated {
		// LivePerson's reference service takes the older scope too, and
		// logs it; the metric says which accounts still send it.
		a.Metrics.Count("DeprecatedScope", 1, map[string]string{"Source": Name})
		a.log().Warn("liveperson token with the deprecated scope accepted", slog.String("source", Name), slog.String("account", account), slog.String("scope", ScopeDeprecated))
		return nil
	}
	msg := "the token lacks the scope " + ScopeCustomEndpoint
	if deprecated {
		msg += " (" + ScopeDeprecated + " is refused: the account sets acceptDeprecatedScope false)"
	}
	return unauthorized("wrong_scope", msg, nil)
}

// keysFor returns the keys a token may be verified with: the JWKS key named
// by its kid (all keys when it names none), or the static keys when the
// token names no kid or one of the account's jwtKeyIds. Any other kid is
// refused: a token naming a key the account does not know is not one of
// the account's tokens, whichever key it happens to verify with.
func (a *Adapter) keysFor(st *settings, t *jwt.Token, now time.Time) (any, error) {
	kidValue, named := t.Header["kid"]
	kid, _ := kidValue.(string)
	if named && kid == "" {
		return nil, errUnknownKey // a kid that is empty or not a string names no key
	}
	keys := st.staticKeys
	switch {
	case st.JWKSURL != "":
		var err error
		if keys, err = a.keys.lookup(a.HTTP, st.JWKSURL, kid, st.jwksTTL, now); err != nil {
			return nil, err
		}
	case named && !st.staticKIDs[kid]:
		return nil, errUnknownKey
	}
	set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, len(keys))}
	for i, k := range keys {
		set.Keys[i] = k
	}
	return set, nil
}

// tokenError names why a token was refused. The library's own message is the
// internal cause only: it goes to the log, not to the caller.
func tokenError(tok *jwt.Token, err error) error {
	switch {
	case errors.Is(err, errKeysUnavailable):
		return &apigw.Error{Status: http.StatusServiceUnavailable, Code: "keys_unavailable",
			Message: "the Sentinel signing keys could not be fetched; retry later", RetryAfter: 5 * time.Second, Err: err}
	case errors.Is(err, errUnknownKey):
		return unauthorized("unknown_key", "the token's signing key (kid) is not among the account's Sentinel keys", err)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthorized("invalid_token", "the bearer token is not a well-formed JWT", err)
	case tok != nil && tok.Method != nil && tok.Method.Alg() != jwt.SigningMethodRS256.Alg(),
		errors.Is(err, jwt.ErrTokenUnverifiable):
		return unauthorized("unsupported_alg", "the token must be signed with RS256", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthorized("invalid_signature", "the token's signature does not verify with the account's Sentinel key", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthorized("token_expired", "the token has expired", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthorized("invalid_token", "the token lacks a required claim (exp, iss or aud)", err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return unauthorized("wrong_audience", "the token was issued for another LivePerson account", err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return unauthorized("wrong_issuer", "the token was not issued by the configured Sentinel issuer", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthorized("token_not_yet_valid", "the token is not valid yet", err)
	default:
		return unauthorized("invalid_token", "the bearer token is not valid", err)
	}
}
