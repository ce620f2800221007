package liveperson

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/ascii"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/strictjson"
)

// Settings is the account item's settings map.
type Settings struct {
	// BotID is the Bot ID entered in the Custom Endpoint vendor settings;
	// requests for any other bot are answered 404, as the OpenAPI file says.
	BotID string `json:"botId"`
	// Environments besides "draft" (always offered) that the bot answers.
	Environments []string `json:"environments,omitempty"`
	// Version is reported by the state endpoint; default "1.0.0".
	Version string `json:"version,omitempty"`

	// Sentinel App-JWT verification: one of a static PEM public key
	// (Sentinel v1; several PEM blocks are all accepted, for a rotation) or
	// the JWKS URL of Sentinel v2.
	JWTPublicKeyPEM string `json:"jwtPublicKeyPem,omitempty"`
	// JWTKeyIDs are the kids tokens signed with the static keys may carry.
	// A token with no kid is verified with the static keys; a token whose
	// kid is not listed is refused, like a kid missing from a JWKS.
	JWTKeyIDs []string `json:"jwtKeyIds,omitempty"`
	JWKSURL   string   `json:"jwksUrl,omitempty"`
	// JWTIssuer is the expected iss; default "Sentinel".
	JWTIssuer string `json:"jwtIssuer,omitempty"`
	// AcceptDeprecatedScope admits tokens with the older
	// "ihub.tpb.customendpoint" scope that LivePerson's App Installation
	// example still shows and its reference service still accepts (with a
	// log line): default true, counted in the DeprecatedScope metric; false
	// refuses them.
	AcceptDeprecatedScope *bool `json:"acceptDeprecatedScope,omitempty"`
	// JWTLeewaySeconds tolerates clock skew on exp/nbf; default 30, max 60.
	JWTLeewaySeconds *int `json:"jwtLeewaySeconds,omitempty"`
	// JWKSCacheSeconds is how long fetched keys are used; default 300.
	JWKSCacheSeconds int `json:"jwksCacheSeconds,omitempty"`

	// Public API domain: zone z1|z2|z3 (from the account's
	// botConnectorsDomain), or an explicit base URL.
	Zone       string `json:"zone,omitempty"`
	APIBaseURL string `json:"apiBaseUrl,omitempty"`
	// Channel is messaging (default) or chat; chat conversations get button
	// cards instead of quick replies, which LivePerson supports in
	// messaging only.
	Channel string `json:"channel,omitempty"`
	// CommandTTLSeconds is the ttl of Public API commands, 10-120; default 30.
	CommandTTLSeconds int `json:"commandTtlSeconds,omitempty"`
	// CarouselClickSuffix appends " (n/N)" to the text a carousel button
	// publishes, so a click maps back to its card even when LivePerson does
	// not pass the click metadata on; default true.
	CarouselClickSuffix *bool `json:"carouselClickSuffix,omitempty"`

	// Skills maps the AI agent's escalateTo names to LivePerson skill names
	// (case-sensitive); DefaultSkill serves the rest.
	Skills       map[string]string `json:"skills,omitempty"`
	DefaultSkill string            `json:"defaultSkill,omitempty"`
	// TransferWaitSeconds bounds the wait for a transfer command to complete
	// before the escalation is reported; 0 trusts the accepted request.
	// Default 5, max 10.
	TransferWaitSeconds *int `json:"transferWaitSeconds,omitempty"`
	// CloseOnEnd closes the LivePerson conversation when the AI agent's
	// session ends.
	CloseOnEnd bool `json:"closeOnEnd,omitempty"`
	// StartEvent is no longer a setting (START never starts a second
	// session); it is read only to refuse it with that reason.
	StartEvent *string `json:"startEvent,omitempty"`
}

// Zones maps a LivePerson zone (from the account's botConnectorsDomain,
// z1.bot-connectors.liveperson.net etc.) to its Public API domain.
var Zones = map[string]string{
	"z1": "https://bot-platform-api.fs.liveperson.com",
	"z2": "https://bot-platform-api.emea.fs.liveperson.com",
	"z3": "https://bot-platform-api.apac.fs.liveperson.com",
}

// Scopes of the Sentinel App-JWT that LivePerson sends.
const (
	ScopeCustomEndpoint = "thirdpartybots.customendpoint.bot"
	ScopeDeprecated     = "ihub.tpb.customendpoint"
	DefaultIssuer       = "Sentinel"
	DefaultEnvironment  = "draft"
	maxEnvironments     = 10
	maxKeyIDs           = 10
	maxKeyIDLen         = 128
	maxSkills           = 100
	defaultCommandTTL   = 30
	defaultLeeway       = 30
	defaultJWKSCache    = 300
	defaultTransferWait = 5
	channelMessaging    = "messaging"
	channelChat         = "chat"
)

// The formats of the IDs in settings and paths (shared/ascii says why not
// regexps).
func validBotID(s string) bool { return ascii.Token(s, 36, "-") }
func validEnv(s string) bool   { return ascii.Token(s, 64, "_-") }

// settings is the validated, defaulted form the adapter works with.
type settings struct {
	Settings
	envs         []string // draft first, then the configured ones
	staticKeys   []*rsa.PublicKey
	staticKIDs   map[string]bool
	leeway       time.Duration
	jwksTTL      time.Duration
	baseURL      string
	transferWait time.Duration
	clickSuffix  bool
	// acceptDeprecated is AcceptDeprecatedScope with its default.
	acceptDeprecated bool
}

func (s *settings) hasEnv(env string) bool {
	for _, e := range s.envs {
		if e == env {
			return true
		}
	}
	return false
}

func parseSettings(raw json.RawMessage, urls *egress.Client) (*settings, error) {
	var s Settings
	if err := strictjson.Decode(raw, &s); err != nil {
		return nil, err
	}
	out := &settings{Settings: s}
	if !validBotID(s.BotID) {
		return nil, errors.New("botId: required, 1-36 letters, digits and - (the Bot ID of the Custom Endpoint vendor settings)")
	}
	if len(s.Environments) > maxEnvironments {
		return nil, fmt.Errorf("environments: at most %d", maxEnvironments)
	}
	out.envs = []string{DefaultEnvironment}
	for i, e := range s.Environments {
		if !validEnv(e) {
			return nil, fmt.Errorf("environments[%d]: letters, digits, _ and - (max 64)", i)
		}
		if e != DefaultEnvironment && !out.hasEnv(e) {
			out.envs = append(out.envs, e)
		}
	}
	if out.Version == "" {
		out.Version = "1.0.0"
	}
	if len(out.Version) > 64 {
		return nil, errors.New("version: at most 64 characters")
	}
	if err := out.keySettings(urls); err != nil {
		return nil, err
	}
	if err := out.apiSettings(urls); err != nil {
		return nil, err
	}
	if err := out.escalationSettings(); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *settings) keySettings(urls *egress.Client) error {
	switch {
	case s.JWTPublicKeyPEM != "" && s.JWKSURL != "":
		return errors.New("jwtPublicKeyPem and jwksUrl: set one, not both")
	case s.JWTPublicKeyPEM != "":
		keys, err := parsePublicKeys(s.JWTPublicKeyPEM)
		if err != nil {
			return fmt.Errorf("jwtPublicKeyPem: %w", err)
		}
		s.staticKeys = keys
		if len(s.JWTKeyIDs) > maxKeyIDs {
			return fmt.Errorf("jwtKeyIds: at most %d", maxKeyIDs)
		}
		s.staticKIDs = map[string]bool{}
		for i, k := range s.JWTKeyIDs {
			if k == "" || len(k) > maxKeyIDLen || strings.TrimSpace(k) != k {
				return fmt.Errorf("jwtKeyIds[%d]: 1-%d characters, no surrounding spaces", i, maxKeyIDLen)
			}
			s.staticKIDs[k] = true
		}
	case s.JWKSURL != "":
		if len(s.JWTKeyIDs) > 0 {
			return errors.New("jwtKeyIds: only with jwtPublicKeyPem (a JWKS names its own keys)")
		}
		if err := urls.CheckURL(s.JWKSURL); err != nil {
			return fmt.Errorf("jwksUrl: %w", err)
		}
	default:
		return errors.New("jwtPublicKeyPem or jwksUrl: required, to verify LivePerson's Sentinel App-JWT")
	}
	if s.JWTIssuer == "" {
		s.JWTIssuer = DefaultIssuer
	}
	s.acceptDeprecated = s.AcceptDeprecatedScope == nil || *s.AcceptDeprecatedScope
	s.leeway = defaultLeeway * time.Second
	if s.JWTLeewaySeconds != nil {
		if *s.JWTLeewaySeconds < 0 || *s.JWTLeewaySeconds > 60 {
			return errors.New("jwtLeewaySeconds: must be between 0 and 60")
		}
		s.leeway = time.Duration(*s.JWTLeewaySeconds) * time.Second
	}
	switch {
	case s.JWKSCacheSeconds == 0:
		s.jwksTTL = defaultJWKSCache * time.Second
	case s.JWKSCacheSeconds < 60 || s.JWKSCacheSeconds > 86400:
		return errors.New("jwksCacheSeconds: must be between 60 and 86400")
	default:
		s.jwksTTL = time.Duration(s.JWKSCacheSeconds) * time.Second
	}
	return nil
}

func (s *settings) apiSettings(urls *egress.Client) error {
	switch {
	case s.Zone != "" && s.APIBaseURL != "":
		return errors.New("zone and apiBaseUrl: set one, not both")
	case s.Zone != "":
		u, ok := Zones[s.Zone]
		if !ok {
			return fmt.Errorf("zone: must be one of %s (see the account's botConnectorsDomain)", strings.Join(zoneNames(), ", "))
		}
		s.baseURL = u
	case s.APIBaseURL != "":
		if err := urls.CheckURL(s.APIBaseURL); err != nil {
			return fmt.Errorf("apiBaseUrl: %w", err)
		}
		s.baseURL = strings.TrimRight(s.APIBaseURL, "/")
	default:
		return errors.New("zone or apiBaseUrl: required, for the Third-Party Bots Public API")
	}
	switch s.Channel {
	case "":
		s.Channel = channelMessaging
	case channelMessaging, channelChat:
	default:
		return errors.New("channel: must be messaging or chat")
	}
	switch {
	case s.CommandTTLSeconds == 0:
		s.CommandTTLSeconds = defaultCommandTTL
	case s.CommandTTLSeconds < 10 || s.CommandTTLSeconds > 120:
		return errors.New("commandTtlSeconds: must be between 10 and 120")
	}
	s.clickSuffix = s.CarouselClickSuffix == nil || *s.CarouselClickSuffix
	if s.StartEvent != nil {
		return errors.New("startEvent: no longer a setting; remove it: the AI-agent session starts with PUT conversation and START never starts a second one (one welcome per conversation)")
	}
	return nil
}

func (s *settings) escalationSettings() error {
	if len(s.Skills) > maxSkills {
		return fmt.Errorf("skills: at most %d", maxSkills)
	}
	for k, v := range s.Skills {
		if k == "" || strings.TrimSpace(v) == "" || len(v) > 256 {
			return fmt.Errorf("skills[%q]: a non-empty LivePerson skill name (max 256)", k)
		}
	}
	if len(s.DefaultSkill) > 256 {
		return errors.New("defaultSkill: at most 256 characters")
	}
	s.transferWait = defaultTransferWait * time.Second
	if s.TransferWaitSeconds != nil {
		if *s.TransferWaitSeconds < 0 || *s.TransferWaitSeconds > 10 {
			return errors.New("transferWaitSeconds: must be between 0 and 10")
		}
		s.transferWait = time.Duration(*s.TransferWaitSeconds) * time.Second
	}
	return nil
}

func zoneNames() []string {
	out := make([]string, 0, len(Zones))
	for z := range Zones {
		out = append(out, z)
	}
	sort.Strings(out)
	return out
}

// ParseSettings implements source.Adapter: the account's validated,
// defaulted *settings (its PEM keys parsed once, when the item is loaded),
// with its URLs checked in the adapter's mode.
func (a *Adapter) ParseSettings(raw json.RawMessage) (any, error) { return parseSettings(raw, a.HTTP) }

// settingsOf returns an account's parsed settings.
func settingsOf(acct *source.Account) (*settings, error) { return source.SettingsOf[*settings](acct) }
