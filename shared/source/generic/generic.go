// Package generic is the source for platforms without an adapter of their
// own: our documented contract, signed both ways with Standard Webhooks.
// Inbound events arrive at POST /sources/generic/{account}; bot output,
// handovers, team checks and actions go to the account's callback URL as
// signed events.
package generic

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/strictjson"
)

// Name is the source name in URLs and items.
const Name = "generic"

// Settings is the account item's settings map.
type Settings struct {
	CallbackURL    string `json:"callbackUrl"`
	TimeoutSeconds int    `json:"timeoutSeconds,omitempty"` // per callback attempt; default 10
}

// Credentials is the account's secret: the key the tenant signs inbound
// events with (two during a rotation) and the key we sign callbacks with.
type Credentials struct {
	InboundSecret         string `json:"inboundSecret"`
	PreviousInboundSecret string `json:"previousInboundSecret,omitempty"`
	CallbackSecret        string `json:"callbackSecret"`
}

// Adapter implements the generic source.
type Adapter struct {
	HTTP *egress.Client
	Now  func() time.Time // required: the bridge's clock
	// Tolerance for webhook-timestamp; default ±5 minutes.
	Tolerance time.Duration
}

// New returns the adapter over the bridge's HTTP client and clock.
func New(hc *egress.Client, now func() time.Time) *Adapter { return &Adapter{HTTP: hc, Now: now} }

// Name implements source.Adapter.
func (a *Adapter) Name() string { return Name }

// Budget: Standard Webhooks senders wait 15-30 s; we answer well inside.
func (a *Adapter) Budget() time.Duration { return 15 * time.Second }

// ParseSettings implements source.Adapter: the account's *Settings, with the
// callback URL checked in the bridge's mode.
func (a *Adapter) ParseSettings(raw json.RawMessage) (any, error) { return parseSettings(raw, a.HTTP) }

func parseSettings(raw json.RawMessage, urls *egress.Client) (*Settings, error) {
	var s Settings
	if err := strictjson.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.CallbackURL == "" {
		return nil, errors.New("callbackUrl: required")
	}
	if err := urls.CheckURL(s.CallbackURL); err != nil {
		return nil, fmt.Errorf("callbackUrl: %w", err)
	}
	if s.TimeoutSeconds < 0 || s.TimeoutSeconds > 25 {
		return nil, errors.New("timeoutSeconds: must be between 1 and 25")
	}
	if s.TimeoutSeconds == 0 {
		s.TimeoutSeconds = 10
	}
	return &s, nil
}

// ValidateCredentials implements source.Adapter.
func (a *Adapter) ValidateCredentials(raw []byte) error {
	_, err := parseCredentials(raw)
	return err
}

type keys struct {
	inbound  []stdwebhook.Secret
	callback stdwebhook.Secret
}

// parsedCredentials parses an account's credentials once per value.
var parsedCredentials = source.NewCredentials(parseCredentials)

func parseCredentials(raw []byte) (*keys, error) {
	if len(raw) == 0 {
		return nil, errors.New("no credentials: set credentialsSecret on the account")
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, errors.New("credentials: not a JSON object with inboundSecret and callbackSecret")
	}
	k := &keys{}
	for _, f := range []struct{ name, val string }{{"inboundSecret", c.InboundSecret}, {"previousInboundSecret", c.PreviousInboundSecret}} {
		if f.val == "" {
			continue
		}
		s, err := stdwebhook.ParseSecret(f.val)
		if err != nil {
			return nil, fmt.Errorf("credentials %s: %w", f.name, err)
		}
		k.inbound = append(k.inbound, s)
	}
	if len(k.inbound) == 0 {
		return nil, errors.New("credentials inboundSecret: required")
	}
	if c.CallbackSecret == "" {
		return nil, errors.New("credentials callbackSecret: required")
	}
	s, err := stdwebhook.ParseSecret(c.CallbackSecret)
	if err != nil {
		return nil, fmt.Errorf("credentials callbackSecret: %w", err)
	}
	k.callback = s
	return k, nil
}
