package twilio

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/strictjson"
)

// Settings is the account item's settings map. The account ID is the
// Twilio Account SID (AC…): Twilio's webhooks name it, and the Messages API
// is below it.
type Settings struct {
	// MessagingServiceSid sends the bot's messages through a Messaging
	// Service (MG…), which picks the sender from its pool; without it the
	// bot answers from From, or else from the number the visitor wrote to.
	MessagingServiceSid string `json:"messagingServiceSid,omitempty"`
	From                string `json:"from,omitempty"`
	// PublicBaseURL is the bridge's URL as Twilio calls it (a custom domain
	// or a proxy in front of API Gateway), e.g. https://bridge.example.com.
	// Signatures are checked against it; without it the URL is rebuilt from
	// API Gateway's domain, stage and raw path. It is also the base of the
	// status callback URL the bridge gives Twilio with each message.
	PublicBaseURL string `json:"publicBaseUrl,omitempty"`
	// StatusCallbacks asks Twilio for delivery statuses of the bot's
	// messages (default true when publicBaseUrl is set; it is required).
	StatusCallbacks *bool `json:"statusCallbacks,omitempty"`
	// APIBaseURL and MessagingBaseURL override Twilio's API hosts (tests,
	// Twilio edge locations such as https://api.dublin.ie1.twilio.com).
	APIBaseURL       string `json:"apiBaseUrl,omitempty"`
	MessagingBaseURL string `json:"messagingBaseUrl,omitempty"`
	// TimeoutSeconds bounds one Twilio API call; default 10.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`

	SMS      SMSSettings      `json:"sms"`
	WhatsApp WhatsAppSettings `json:"whatsapp"`
	// Media says what the AI agent gets for a visitor's attachment: "omit"
	// (default) a line naming its type, "url" the type and Twilio's media
	// URL, for accounts whose media URLs do not need HTTP auth.
	Media  string         `json:"media,omitempty"`
	OptOut OptOutSettings `json:"optOut"`
	// Handover configures escalate: without a deskUrl the handover is
	// refused and the AI agent runs its own fallback.
	Handover HandoverSettings `json:"handover"`
	// SessionIdleMinutes: a visitor message after this long without one
	// starts a new AI-agent session (with the session parameters again);
	// default 120, the AI agent's own session timeout.
	SessionIdleMinutes int `json:"sessionIdleMinutes,omitempty"`
	// ShareVisitorNumber lets getUserInfo and the desk's handover event
	// carry the visitor's phone number (always marked sanitize). Off by
	// default: they get the channel and the country only.
	ShareVisitorNumber bool `json:"shareVisitorNumber,omitempty"`
}

// SMSSettings shape SMS replies.
type SMSSettings struct {
	// MaxSegments bounds one SMS: longer text is split at word boundaries
	// into numbered parts. 1-10, default 3.
	MaxSegments int `json:"maxSegments,omitempty"`
	// SmartEncoding replaces typographic characters that have a GSM-7
	// equivalent (curly quotes, dashes, ellipsis, non-breaking spaces), so
	// a text is not sent as UCS-2 (70 characters a segment instead of 160)
	// for their sake alone. Default true.
	SmartEncoding *bool `json:"smartEncoding,omitempty"`
}

// WhatsAppSettings shape WhatsApp replies.
type WhatsAppSettings struct {
	// QuickReplyContentSids are the account's twilio/quick-reply Content
	// templates with one, two and three buttons (HX…, in that order; see the
	// README for their definition). With them, up to three short buttons
	// are sent as quick replies; without them, as a numbered list.
	QuickReplyContentSids []string `json:"quickReplyContentSids,omitempty"`
	// TypingIndicator shows "typing…" and marks the visitor's message read
	// while the AI agent prepares its answer. Default true.
	TypingIndicator *bool `json:"typingIndicator,omitempty"`
}

// OptOutSettings adjust the bridge's own opt-out handling, which follows
// Twilio's: see keywords.go.
type OptOutSettings struct {
	// ForwardHelp passes HELP (and its variants) to the AI agent as a
	// message; by default it is Twilio's to answer.
	ForwardHelp bool `json:"forwardHelp,omitempty"`
	// Stop, Start and Help add keywords (single words, any case) to the
	// built-in lists, for an account whose Advanced Opt-Out has its own.
	Stop  []string `json:"stop,omitempty"`
	Start []string `json:"start,omitempty"`
	Help  []string `json:"help,omitempty"`
}

// HandoverSettings configure the handover to the tenant's desk.
type HandoverSettings struct {
	// DeskURL receives escalation.requested and the visitor's messages
	// while the conversation is with a human, signed with Standard
	// Webhooks (credentials callbackSecret).
	DeskURL string `json:"deskUrl,omitempty"`
	// Text is sent to the visitor once the desk accepted the handover.
	Text           string `json:"text,omitempty"`
	TimeoutSeconds int    `json:"timeoutSeconds,omitempty"` // per desk call; default 10
}

// Media modes.
const (
	MediaOmit = "omit"
	MediaURL  = "url"
)

// Defaults and bounds.
const (
	DefaultAPIBaseURL       = "https://api.twilio.com"
	DefaultMessagingBaseURL = "https://messaging.twilio.com"
	defaultMaxSegments      = 3
	defaultTimeout          = 10
	defaultIdle             = 120
	maxHandoverText         = 1000
	maxKeywords             = 30
)

// settings is the validated, defaulted form the adapter works with.
type settings struct {
	Settings
	apiBase, msgBase, publicBase string
	from                         address // zero: answer from the number written to
	timeout, deskTimeout, idle   time.Duration
	statusCallbacks, smart       bool
	typing                       bool
	keywords                     keywordSet
}

// ParseSettings implements source.Adapter: the account's validated,
// defaulted *settings, its URLs checked in the bridge's egress mode.
func (a *Adapter) ParseSettings(raw json.RawMessage) (any, error) { return parseSettings(raw, a.HTTP) }

func parseSettings(raw json.RawMessage, urls *egress.Client) (*settings, error) {
	var s Settings
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	if err := strictjson.Decode(raw, &s); err != nil {
		return nil, err
	}
	out := &settings{Settings: s}
	checks := []func(*egress.Client) error{out.senders, out.endpoints, out.rendering, out.optOut, out.handover}
	for _, c := range checks {
		if err := c(urls); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *settings) senders(*egress.Client) error {
	if s.MessagingServiceSid != "" && !validSid(s.MessagingServiceSid, "MG") {
		return errors.New("messagingServiceSid: must be MG followed by 32 hex digits")
	}
	if s.From != "" {
		a, err := parseAddress(s.From)
		if err != nil {
			return fmt.Errorf("from: %w", err)
		}
		s.from = a
	}
	if s.MessagingServiceSid != "" && s.From != "" {
		return errors.New("messagingServiceSid and from: set one, not both")
	}
	return nil
}

func (s *settings) endpoints(urls *egress.Client) error {
	base := func(field, v, def string) (string, error) {
		if v == "" {
			return def, nil
		}
		if err := urls.CheckURL(v); err != nil {
			return "", fmt.Errorf("%s: %w", field, err)
		}
		return strings.TrimRight(v, "/"), nil
	}
	var err error
	if s.apiBase, err = base("apiBaseUrl", s.APIBaseURL, DefaultAPIBaseURL); err != nil {
		return err
	}
	if s.msgBase, err = base("messagingBaseUrl", s.MessagingBaseURL, DefaultMessagingBaseURL); err != nil {
		return err
	}
	if s.PublicBaseURL != "" {
		if s.publicBase, err = base("publicBaseUrl", s.PublicBaseURL, ""); err != nil {
			return err
		}
		if strings.ContainsAny(s.publicBase, "?#") {
			return errors.New("publicBaseUrl: no query or fragment (the bridge appends /sources/twilio/{accountSid})")
		}
	}
	s.statusCallbacks = s.publicBase != "" && (s.StatusCallbacks == nil || *s.StatusCallbacks)
	if s.StatusCallbacks != nil && *s.StatusCallbacks && s.publicBase == "" {
		return errors.New("statusCallbacks: needs publicBaseUrl (the URL Twilio calls back)")
	}
	if s.timeout, err = duration("timeoutSeconds", s.TimeoutSeconds, defaultTimeout, 1, 25, time.Second); err != nil {
		return err
	}
	s.idle, err = duration("sessionIdleMinutes", s.SessionIdleMinutes, defaultIdle, 5, 7*24*60, time.Minute)
	return err
}

func (s *settings) rendering(*egress.Client) error {
	switch {
	case s.SMS.MaxSegments == 0:
		s.SMS.MaxSegments = defaultMaxSegments
	case s.SMS.MaxSegments < 1 || s.SMS.MaxSegments > 10:
		return errors.New("sms.maxSegments: must be between 1 and 10")
	}
	s.smart = s.SMS.SmartEncoding == nil || *s.SMS.SmartEncoding
	if n := len(s.WhatsApp.QuickReplyContentSids); n != 0 && n != 3 {
		return errors.New("whatsapp.quickReplyContentSids: three Content SIDs, for one, two and three buttons")
	}
	for i, sid := range s.WhatsApp.QuickReplyContentSids {
		if !validSid(sid, "HX") {
			return fmt.Errorf("whatsapp.quickReplyContentSids[%d]: must be HX followed by 32 hex digits", i)
		}
	}
	s.typing = s.WhatsApp.TypingIndicator == nil || *s.WhatsApp.TypingIndicator
	switch s.Media {
	case "":
		s.Media = MediaOmit
	case MediaOmit, MediaURL:
	default:
		return errors.New("media: must be omit or url")
	}
	return nil
}

func (s *settings) optOut(*egress.Client) error {
	ks, err := newKeywords(s.OptOut)
	if err != nil {
		return err
	}
	s.keywords = ks
	return nil
}

func (s *settings) handover(urls *egress.Client) error {
	h := s.Handover
	if h.DeskURL != "" {
		if err := urls.CheckURL(h.DeskURL); err != nil {
			return fmt.Errorf("handover.deskUrl: %w", err)
		}
	}
	if h.Text != "" && h.DeskURL == "" {
		return errors.New("handover.text: needs handover.deskUrl (without a desk there is no handover to announce)")
	}
	if utf8.RuneCountInString(h.Text) > maxHandoverText {
		return fmt.Errorf("handover.text: at most %d characters", maxHandoverText)
	}
	var err error
	s.deskTimeout, err = duration("handover.timeoutSeconds", h.TimeoutSeconds, defaultTimeout, 1, 25, time.Second)
	return err
}

// duration reads a setting in unit: 0 is def, else it must lie in [lo, hi].
func duration(field string, v, def, lo, hi int, unit time.Duration) (time.Duration, error) {
	switch {
	case v == 0:
		return time.Duration(def) * unit, nil
	case v < lo || v > hi:
		return 0, fmt.Errorf("%s: must be between %d and %d", field, lo, hi)
	default:
		return time.Duration(v) * unit, nil
	}
}

// settingsOf returns an account's parsed settings.
func settingsOf(acct *source.Account) (*settings, error) { return source.SettingsOf[*settings](acct) }

// webhookBase is the public URL prefix of this account's routes.
func (s *settings) webhookBase(account string) string {
	return s.publicBase + "/sources/" + Name + "/" + account
}
