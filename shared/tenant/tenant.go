// Package tenant holds the configuration items operators write to the
// Tenants table: which AI agent serves a chat platform account, how an AI
// agent authenticates its webhooks, and its actions. Items are validated
// strictly, naming the item and the field (unknown fields included), both
// when an operator writes them and when a function reads them; the parts
// other packages own (platform settings, teams, action specs) are parsed
// once by their hooks and cached with the item.
package tenant

import (
	"fmt"
	"time"

	"github.com/crmbridge/crmbridge/shared/ascii"
	"github.com/crmbridge/crmbridge/shared/egress"
)

// Sort key of the main item of a source account or an agent.
const ConfigSK = "CONFIG"

// SourceKey is the partition key of a source account item.
func SourceKey(source, account string) string { return "SOURCE#" + source + "#" + account }

// AgentKey is the partition key of an agent's items.
func AgentKey(agentID string) string { return "AGENT#" + agentID }

// ActionSK is the sort key of an agent's action.
func ActionSK(name string) string { return "ACTION#" + name }

// Source maps one chat platform account to an AI agent.
type Source struct {
	Source            string     // e.g. generic, sunshine
	Account           string     // the platform's account ID
	AgentID           string     // the AI agent serving it
	Enabled           bool       // false answers 403 to the platform
	CredentialsSecret string     // empty, or exactly SourceSecretName(Source, Account)
	Metadata          []MetaRule // which user fields become session parameters
	DisplayName       string     // free text for operators
	// Settings is the adapter's parsed form of the settings map: what
	// Hooks.Settings returned (the raw JSON, a json.RawMessage, when the
	// parser had no hook).
	Settings any
	// MaxAge is how long the bridge retries delivering one of the account's
	// events or messages before keeping it as a dead letter.
	MaxAge time.Duration
	// Fallback, when set, hands a conversation to a human when a visitor's
	// event could not reach the AI agent for Fallback.After.
	Fallback *Fallback
	// Transcript, when set, keeps the conversation's last turns (while it
	// is open) for the human who takes over.
	Transcript *Transcript
}

// Delivery is the item's delivery map.
type Delivery struct {
	MaxAgeSeconds int `json:"maxAgeSeconds"`
}

// Fallback is the item's fallback map.
type Fallback struct {
	AfterSeconds int           `json:"afterSeconds"`
	Text         string        `json:"text,omitempty"` // told to the visitor at the handover
	After        time.Duration `json:"-"`
}

// Transcript is the item's transcript map.
type Transcript struct {
	Turns    int `json:"turns"`              // how many turns to keep (visitor and bot)
	MaxChars int `json:"maxChars,omitempty"` // per turn; default 500
}

// Bounds of the delivery settings.
const (
	DefaultMaxAge      = 24 * time.Hour
	MinMaxAge          = time.Minute
	MaxMaxAge          = 13 * 24 * time.Hour // the queues keep messages 14 days
	MinFallbackAfter   = 5 * time.Second
	MaxTranscriptTurns = 50
	MaxTurnChars       = 2000
	DefaultTurnChars   = 500
	maxFallbackText    = 1000
)

func (s *Source) setDelivery(item string, d *Delivery, f *Fallback, t *Transcript) error {
	s.MaxAge = DefaultMaxAge
	if d != nil {
		age := time.Duration(d.MaxAgeSeconds) * time.Second
		if age < MinMaxAge || age > MaxMaxAge {
			return &Error{Item: item, Field: "delivery.maxAgeSeconds", Problem: fmt.Sprintf("must be between %d and %d (seconds)", int(MinMaxAge.Seconds()), int(MaxMaxAge.Seconds()))}
		}
		s.MaxAge = age
	}
	if f != nil {
		f.After = time.Duration(f.AfterSeconds) * time.Second
		if f.After < MinFallbackAfter || f.After >= s.MaxAge {
			return &Error{Item: item, Field: "fallback.afterSeconds", Problem: fmt.Sprintf("must be at least %d and below the maximum age (%d)", int(MinFallbackAfter.Seconds()), int(s.MaxAge.Seconds()))}
		}
		if len(f.Text) > maxFallbackText {
			return &Error{Item: item, Field: "fallback.text", Problem: fmt.Sprintf("at most %d bytes", maxFallbackText)}
		}
		s.Fallback = f
	}
	if t != nil {
		if t.Turns < 1 || t.Turns > MaxTranscriptTurns {
			return &Error{Item: item, Field: "transcript.turns", Problem: fmt.Sprintf("must be between 1 and %d", MaxTranscriptTurns)}
		}
		if t.MaxChars == 0 {
			t.MaxChars = DefaultTurnChars
		}
		if t.MaxChars < 1 || t.MaxChars > MaxTurnChars {
			return &Error{Item: item, Field: "transcript.maxChars", Problem: fmt.Sprintf("must be between 1 and %d", MaxTurnChars)}
		}
		s.Transcript = t
	}
	return nil
}

// MetaRule passes one user field to the AI agent as a session parameter.
type MetaRule struct {
	Field    string `json:"field"`
	Key      string `json:"key,omitempty"` // defaults to Field
	Sanitize bool   `json:"sanitize,omitempty"`
}

// Error names the item and field that are wrong.
type Error struct {
	Item    string // e.g. SOURCE#generic#acme/CONFIG
	Field   string // a path such as metadata[1].sanitize
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("item %s: %s", e.Item, e.Problem)
	}
	return fmt.Sprintf("item %s: field %s: %s", e.Item, e.Field, e.Problem)
}

// The ID formats. They are checked by hand rather than with regular
// expressions: counted repeats such as {1,128} make large automata that
// every cold start would pay for.
const (
	maxSourceName = 32
	maxAccount    = 128
	agentIDLen    = 24
	maxToken      = 64
)

// ValidSourceName reports whether s can be a source name: a lowercase
// letter, then up to 31 lowercase letters, digits and -.
func ValidSourceName(s string) bool {
	if len(s) == 0 || len(s) > maxSourceName || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidAccount reports whether s can be an account ID: 1-128 of letters,
// digits and . _ @ + = -, but not . or .. alone. Colons are excluded
// because they separate the parts of a platformConversationId, # because it
// separates key parts; the dot segments because account IDs go into
// platform API paths (/v2/apps/{app}/..., /api/v1/account/{account}/...),
// where servers would resolve them.
func ValidAccount(s string) bool {
	return s != "." && s != ".." && ascii.Token(s, maxAccount, "._@+=-")
}

// ValidAgentID reports whether s can be an AI agent's ID: its bot ID, 24
// lowercase hex characters (a MongoDB ObjectId, as in the dashboard URL).
func ValidAgentID(s string) bool {
	if len(s) != agentIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// ValidActionName reports whether s can be an action's name: 1-64 of
// letters, digits and _ . -.
func ValidActionName(s string) bool { return validToken(s) }

// validToken is 1-64 of letters, digits and _ . - (action names, metadata
// fields and session parameter keys).
func validToken(s string) bool { return ascii.Token(s, maxToken, "_.-") }

// Rules of the formats, for messages.
const (
	ruleSourceName = "lowercase letters, digits and - (a letter first, max 32)"
	ruleAccount    = "1-128 of letters, digits and . _ @ + = - (no colon, not . or ..)"
	ruleAgentID    = "24 lowercase hex characters (the AI agent's bot ID)"
	ruleToken      = "1-64 of letters, digits and _ . -"
)

func validateMetadata(item string, rules []MetaRule) error {
	seen := map[string]bool{}
	for i, r := range rules {
		f := fmt.Sprintf("metadata[%d]", i)
		if !validToken(r.Field) {
			return &Error{Item: item, Field: f + ".field", Problem: "required: " + ruleToken}
		}
		if r.Key != "" && !validToken(r.Key) {
			return &Error{Item: item, Field: f + ".key", Problem: ruleToken}
		}
		k := r.Key
		if k == "" {
			k = r.Field
		}
		if seen[k] {
			return &Error{Item: item, Field: f + ".key", Problem: fmt.Sprintf("duplicate session parameter %q", k)}
		}
		seen[k] = true
	}
	return nil
}

func validateBaseURL(item, u string, checkURL func(string) error) error {
	if u == "" {
		return nil
	}
	if checkURL == nil {
		checkURL = func(u string) error { return egress.CheckURL(u, false) }
	}
	if err := checkURL(u); err != nil {
		return &Error{Item: item, Field: "baseUrl", Problem: err.Error()}
	}
	return nil
}
