package twilio

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

// Credentials is the account's secret (crmbridge/sources/twilio/{accountSid}).
//
//   - AuthToken (and PreviousAuthToken while Twilio's secondary token is
//     being promoted) verify X-Twilio-Signature; SharedKeySecret (and
//     PreviousSharedKeySecret) verify webhooks a Webhooks Rule signs with a
//     SharedKey. At least one of the two kinds.
//   - APIKeySid and APIKeySecret authenticate the bridge's calls to the
//     Messages API (HTTP Basic), as Twilio recommends over the Auth Token.
//   - CallbackSecret signs what the bridge sends to the tenant's desk, and
//     DeskSecret (two during a rotation) verifies what the desk sends back
//     (Standard Webhooks whsec_ secrets); needed with handover.deskUrl.
type Credentials struct {
	AuthToken               string `json:"authToken,omitempty"`
	PreviousAuthToken       string `json:"previousAuthToken,omitempty"`
	SharedKeySecret         string `json:"sharedKeySecret,omitempty"`
	PreviousSharedKeySecret string `json:"previousSharedKeySecret,omitempty"`
	APIKeySid               string `json:"apiKeySid"`
	APIKeySecret            string `json:"apiKeySecret"`
	CallbackSecret          string `json:"callbackSecret,omitempty"`
	DeskSecret              string `json:"deskSecret,omitempty"`
	PreviousDeskSecret      string `json:"previousDeskSecret,omitempty"`
}

// creds is a validated secret.
type creds struct {
	keys      Keys
	apiKey    string
	apiSecret string
	callback  stdwebhook.Secret // nil: no desk callbacks
	desk      []stdwebhook.Secret
}

// ValidateCredentials implements source.Adapter.
func (a *Adapter) ValidateCredentials(raw []byte) error {
	_, err := parseCredentials(raw)
	return err
}

// parsedCredentials parses an account's credentials once per value.
var parsedCredentials = source.NewCredentials(parseCredentials)

func parseCredentials(raw []byte) (*creds, error) {
	if len(raw) == 0 {
		return nil, errors.New("no credentials: set credentialsSecret on the account")
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, errors.New("credentials: not a JSON object with authToken, apiKeySid and apiKeySecret")
	}
	out := &creds{apiKey: c.APIKeySid, apiSecret: c.APIKeySecret}
	for _, t := range []string{c.AuthToken, c.PreviousAuthToken} {
		if t != "" {
			out.keys.AuthTokens = append(out.keys.AuthTokens, []byte(t))
		}
	}
	for _, t := range []string{c.SharedKeySecret, c.PreviousSharedKeySecret} {
		if t != "" {
			out.keys.SharedKeys = append(out.keys.SharedKeys, []byte(t))
		}
	}
	if len(out.keys.AuthTokens)+len(out.keys.SharedKeys) == 0 {
		return nil, errors.New("credentials authToken: required (or sharedKeySecret), to verify Twilio's webhook signatures")
	}
	if c.PreviousAuthToken != "" && c.AuthToken == "" {
		return nil, errors.New("credentials previousAuthToken: only beside authToken")
	}
	if !validSid(c.APIKeySid, "SK") {
		return nil, errors.New("credentials apiKeySid: required, SK followed by 32 hex digits (a Twilio API key)")
	}
	if c.APIKeySecret == "" {
		return nil, errors.New("credentials apiKeySecret: required")
	}
	if c.CallbackSecret != "" {
		s, err := stdwebhook.ParseSecret(c.CallbackSecret)
		if err != nil {
			return nil, fmt.Errorf("credentials callbackSecret: %w", err)
		}
		out.callback = s
	}
	for _, f := range []struct{ name, val string }{{"deskSecret", c.DeskSecret}, {"previousDeskSecret", c.PreviousDeskSecret}} {
		if f.val == "" {
			continue
		}
		s, err := stdwebhook.ParseSecret(f.val)
		if err != nil {
			return nil, fmt.Errorf("credentials %s: %w", f.name, err)
		}
		out.desk = append(out.desk, s)
	}
	return out, nil
}
