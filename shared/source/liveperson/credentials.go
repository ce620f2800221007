package liveperson

import (
	"crypto/sha256"
	"encoding/json"
	"errors"

	"github.com/crmbridge/crmbridge/shared/source"
)

// Credentials is the account's secret: the dedicated Public API bot user.
// USER_PASS needs username and password; API_KEY needs username, appKey,
// secret, accessToken and accessTokenSecret. AuthType may be left out when
// the fields make it plain.
type Credentials struct {
	AuthType          string `json:"authType,omitempty"`
	Username          string `json:"username"`
	Password          string `json:"password,omitempty"`
	AppKey            string `json:"appKey,omitempty"`
	Secret            string `json:"secret,omitempty"`
	AccessToken       string `json:"accessToken,omitempty"`
	AccessTokenSecret string `json:"accessTokenSecret,omitempty"`
}

// Login auth types of the Public API.
const (
	AuthUserPass = "USER_PASS"
	AuthAPIKey   = "API_KEY"
)

// ValidateCredentials implements source.Adapter.
func (a *Adapter) ValidateCredentials(raw []byte) error {
	_, err := parseCredentials(raw)
	return err
}

// creds is a validated secret and its fingerprint: a rotated secret drops the
// cached bearer.
type creds struct {
	Credentials
	fingerprint [32]byte
}

// parsedCredentials parses an account's credentials once per value.
var parsedCredentials = source.NewCredentials(parseCredentials)

func parseCredentials(raw []byte) (*creds, error) {
	if len(raw) == 0 {
		return nil, errors.New("no credentials: set credentialsSecret on the account (the Public API bot user)")
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, errors.New("credentials: not a JSON object with username and password (or the API key fields)")
	}
	if c.Username == "" {
		return nil, errors.New("credentials username: required (the dedicated Public API bot user)")
	}
	apiKey := c.AppKey != "" || c.Secret != "" || c.AccessToken != "" || c.AccessTokenSecret != ""
	if c.AuthType == "" {
		switch {
		case c.Password != "" && apiKey:
			return nil, errors.New("credentials: both password and API key fields are set; set authType to USER_PASS or API_KEY")
		case c.Password != "":
			c.AuthType = AuthUserPass
		case apiKey:
			c.AuthType = AuthAPIKey
		default:
			return nil, errors.New("credentials: password or appKey/secret/accessToken/accessTokenSecret required")
		}
	}
	switch c.AuthType {
	case AuthUserPass:
		if c.Password == "" {
			return nil, errors.New("credentials password: required for USER_PASS")
		}
	case AuthAPIKey:
		for _, f := range []struct{ name, val string }{
			{"appKey", c.AppKey}, {"secret", c.Secret}, {"accessToken", c.AccessToken}, {"accessTokenSecret", c.AccessTokenSecret},
		} {
			if f.val == "" {
				return nil, errors.New("credentials " + f.name + ": required for API_KEY")
			}
		}
	default:
		return nil, errors.New("credentials authType: must be USER_PASS or API_KEY")
	}
	return &creds{Credentials: c, fingerprint: sha256.Sum256(raw)}, nil
}
