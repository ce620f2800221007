package sunshine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/ascii"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/strictjson"
)

// Defaults for optional settings.
const (
	DefaultBaseURL        = "https://api.smooch.io"
	DefaultHandoverTarget = "zd:agentWorkspace"
	DefaultTagSeparator   = " "
)

// Reply styles for the AI agent's buttons.
const (
	ReplyStyleReply    = "reply"    // quick replies; the tap comes back as a conversation:message
	ReplyStylePostback = "postback" // buttons; the tap comes back as a conversation:postback
)

// Settings is the account item's settings map.
type Settings struct {
	// BaseURL is the API host: https://api.smooch.io (US, default),
	// https://api.eu-1.smooch.io (EU) or https://{subdomain}.zendesk.com/sc.
	BaseURL string `json:"baseUrl"`
	// IntegrationID is our custom integration. Events are acted on only
	// while its switchboard integration is the conversation's active one.
	IntegrationID string `json:"integrationId"`
	// ActWithoutSwitchboard acts on events that carry no
	// activeSwitchboardIntegration (switchboard disabled or released).
	ActWithoutSwitchboard bool `json:"actWithoutSwitchboard"`
	// HandoverTarget is passControl's switchboardIntegration when the AI
	// agent names none: an id, a name, an integrationType or "next".
	HandoverTarget string `json:"handoverTarget"`
	// EscalationTargets maps the AI agent's escalateTo names (free text set
	// in its dashboard) to switchboard targets. An unmapped name hands over
	// to HandoverTarget and travels in the handover metadata as escalateTo.
	EscalationTargets map[string]string `json:"escalationTargets"`
	DisplayName       string            `json:"displayName"`
	AvatarURL         string            `json:"avatarUrl"`
	TypingIndicator   bool              `json:"typingIndicator"`
	ReplyStyle        string            `json:"replyStyle"`
	// AIDisclaimer marks bot messages with author.subtypes ["AI"], so
	// Zendesk appends its AI disclaimer.
	AIDisclaimer bool    `json:"aiDisclaimer"`
	TagSeparator *string `json:"tagSeparator"`
	// Attachments says whether the app's attachments open without
	// credentials: "private" (default) or "public". With private
	// attachments a visitor's mediaUrl needs an authorization header, which
	// the AI agent does not have, so it is passed on marked private (see
	// source.Attachment); the webhook does not say which kind an app uses.
	Attachments string `json:"attachments"`
}

// Attachment modes.
const (
	AttachmentsPrivate = "private"
	AttachmentsPublic  = "public"
)

// The formats of the settings (shared/ascii says why not regexps).
func validID(s string) bool        { return ascii.Token(s, 64, "_-") }
func validTarget(s string) bool    { return ascii.Token(s, 128, "_:.-") }
func validSeparator(s string) bool { return ascii.Of(s, 3, " ,;|") }

// ParseSettings implements source.Adapter: the account's *Settings, with its
// URLs checked in the adapter's mode.
func (a *Adapter) ParseSettings(raw json.RawMessage) (any, error) { return parseSettings(raw, a.HTTP) }

// parseSettings decodes, checks and fills defaults. Unknown fields are
// refused so a misspelt setting is caught when the item is written, not
// when a visitor is left without an answer.
func parseSettings(raw json.RawMessage, urls *egress.Client) (*Settings, error) {
	var s Settings
	if err := strictjson.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.BaseURL == "" {
		s.BaseURL = DefaultBaseURL
	}
	s.BaseURL = strings.TrimRight(s.BaseURL, "/")
	if err := checkURL(urls, "baseUrl", s.BaseURL); err != nil {
		return nil, err
	}
	if s.IntegrationID == "" {
		return nil, errors.New("integrationId: required (the id of the custom integration whose webhook calls the bridge)")
	}
	if !validID(s.IntegrationID) {
		return nil, errors.New("integrationId: 1-64 letters, digits, _ or -")
	}
	if s.HandoverTarget == "" {
		s.HandoverTarget = DefaultHandoverTarget
	}
	if !validTarget(s.HandoverTarget) {
		return nil, errors.New("handoverTarget: a switchboard integration id, name or type, or next (1-128 of letters, digits, _ : . -)")
	}
	for name, target := range s.EscalationTargets {
		if name == "" || !validTarget(target) {
			return nil, fmt.Errorf("escalationTargets.%s: a switchboard integration id, name or type, or next", name)
		}
	}
	if utf8.RuneCountInString(s.DisplayName) > 128 || !utf8.ValidString(s.DisplayName) {
		return nil, errors.New("displayName: at most 128 characters")
	}
	if s.AvatarURL != "" {
		if err := checkURL(urls, "avatarUrl", s.AvatarURL); err != nil {
			return nil, err
		}
	}
	switch s.ReplyStyle {
	case "":
		s.ReplyStyle = ReplyStyleReply
	case ReplyStyleReply, ReplyStylePostback:
	default:
		return nil, fmt.Errorf("replyStyle: must be %q or %q", ReplyStyleReply, ReplyStylePostback)
	}
	switch s.Attachments {
	case "":
		s.Attachments = AttachmentsPrivate
	case AttachmentsPrivate, AttachmentsPublic:
	default:
		return nil, fmt.Errorf("attachments: must be %q (visitors' files need the app's credentials to open) or %q", AttachmentsPrivate, AttachmentsPublic)
	}
	if s.TagSeparator == nil {
		sep := DefaultTagSeparator
		s.TagSeparator = &sep
	}
	if !validSeparator(*s.TagSeparator) {
		return nil, errors.New(`tagSeparator: 1-3 of space , ; | (e.g. " " or ",")`)
	}
	return &s, nil
}

func (s *Settings) separator() string { return *s.TagSeparator }

func checkURL(urls *egress.Client, field, u string) error {
	if err := urls.CheckURL(u); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil {
		return fmt.Errorf("%s: must be an absolute URL without user, query or fragment", field)
	}
	return nil
}

// Credentials is the account's secret: an API key (Basic auth) and the
// webhook's shared secret (two during a rotation).
type Credentials struct {
	KeyID                 string `json:"keyId"`
	KeySecret             string `json:"keySecret"`
	WebhookSecret         string `json:"webhookSecret"`
	PreviousWebhookSecret string `json:"previousWebhookSecret,omitempty"`
}

// ValidateCredentials implements source.Adapter. Errors name the field,
// never the value.
func (a *Adapter) ValidateCredentials(raw []byte) error {
	_, err := parseCredentials(raw)
	return err
}

// parsedCredentials parses an account's credentials once per value.
var parsedCredentials = source.NewCredentials(parseCredentials)

func parseCredentials(raw []byte) (*Credentials, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("no credentials: set credentialsSecret on the account")
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, errors.New("credentials: not a JSON object with keyId, keySecret and webhookSecret")
	}
	switch {
	case c.KeyID == "":
		return nil, errors.New("credentials keyId: required (an app_ or int_ API key id)")
	case strings.ContainsAny(c.KeyID, ": \t\r\n"):
		return nil, errors.New("credentials keyId: must not contain a colon or whitespace")
	case c.KeySecret == "":
		return nil, errors.New("credentials keySecret: required")
	case c.WebhookSecret == "":
		return nil, errors.New("credentials webhookSecret: required (the custom integration webhook's shared secret)")
	}
	return &c, nil
}

func (c *Credentials) webhookSecrets() []string {
	out := []string{c.WebhookSecret}
	if c.PreviousWebhookSecret != "" {
		out = append(out, c.PreviousWebhookSecret)
	}
	return out
}
