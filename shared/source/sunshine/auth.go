package sunshine

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
)

// HeaderAPIKey carries the webhook's shared secret on every SunCo call.
const HeaderAPIKey = "X-API-Key"

// Errors of VerifyAPIKey.
var (
	ErrMissingAPIKey = errors.New("X-API-Key header is missing")
	ErrBadAPIKey     = errors.New("X-API-Key does not match the webhook secret")
)

// VerifyAPIKey checks a presented X-API-Key against the valid secrets
// (newest first). SunCo sends a static secret, not a signature, so this is
// an equality test; it hashes both sides to compare equal-length values in
// constant time and checks every secret, so timing reveals neither the
// secret's length nor which one matched.
func VerifyAPIKey(presented string, secrets []string) error {
	if presented == "" {
		return ErrMissingAPIKey
	}
	got := sha256.Sum256([]byte(presented))
	ok := 0
	for _, s := range secrets {
		if s == "" {
			continue
		}
		want := sha256.Sum256([]byte(s))
		ok |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if ok != 1 {
		return ErrBadAPIKey
	}
	return nil
}

// Authenticate implements source.Inbound. SunCo does not retry a 401, so a
// wrong secret shows up at once in SunCo's webhook logs.
func (a *Adapter) Authenticate(req *apigw.Request, acct *source.Account, _ time.Time) error {
	c, err := parsedCredentials.Of(acct)
	if err != nil {
		return apigw.Wrap(err, http.StatusInternalServerError, "account_misconfigured", "the account's credentials are missing or invalid; see logs")
	}
	switch err := VerifyAPIKey(req.HeaderValue(HeaderAPIKey), c.webhookSecrets()); {
	case errors.Is(err, ErrMissingAPIKey):
		return apigw.Wrap(err, http.StatusUnauthorized, "missing_api_key", err.Error())
	case err != nil:
		return apigw.Wrap(err, http.StatusUnauthorized, "bad_api_key", err.Error())
	}
	return nil
}
