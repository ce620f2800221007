// Package tenant holds the configuration items operators write to the
// Tenants table: which AI agent serves a chat platform account, how an AI
// agent authenticates its webhooks, and its actions. Items are validated
// strictly, naming the item and the field, both when an operator writes them
// and when a function reads them.
package tenant

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"

	"github.com/crmbridge/crmbridge/shared/webhookauth"
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
	Source            string          // e.g. generic, sunshine
	Account           string          // the platform's account ID
	AgentID           string          // the AI agent serving it
	Enabled           bool            // false answers 403 to the platform
	CredentialsSecret string          // Secrets Manager name of the platform credentials
	Settings          json.RawMessage // adapter-specific, validated by the adapter
	Metadata          []MetaRule      // which user fields become session parameters
	DisplayName       string          // free text for operators
}

// MetaRule passes one user field to the AI agent as a session parameter.
type MetaRule struct {
	Field    string `dynamodbav:"field" json:"field"`
	Key      string `dynamodbav:"key,omitempty" json:"key,omitempty"` // defaults to Field
	Sanitize bool   `dynamodbav:"sanitize" json:"sanitize"`
}

// Agent is one AI agent's configuration.
type Agent struct {
	AgentID     string
	Secret      string             // Secrets Manager name holding apiKey and webhookSecret
	BaseURL     string             // empty means the deployment default
	WebhookAuth webhookauth.Scheme // how its webhook calls to us are verified
	Teams       json.RawMessage    // isTeamOnline configuration (see the escalation package)
}

// Error names the item and field that are wrong.
type Error struct {
	Item    string // e.g. SOURCE#generic#acme/CONFIG
	Field   string
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("item %s: %s", e.Item, e.Problem)
	}
	return fmt.Sprintf("item %s: field %s: %s", e.Item, e.Field, e.Problem)
}

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	accountRE = regexp.MustCompile(`^[A-Za-z0-9._@+=-]{1,128}$`)
	agentRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	secretRE  = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	fieldRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// ValidAccount reports whether s can be an account ID. Colons are excluded
// because they separate the parts of a platformConversationId.
func ValidAccount(s string) bool { return accountRE.MatchString(s) }

// ValidSourceName reports whether s can be a source name.
func ValidSourceName(s string) bool { return nameRE.MatchString(s) }

// ValidAgentID reports whether s can be an agent ID.
func ValidAgentID(s string) bool { return agentRE.MatchString(s) }

// ValidActionName reports whether s can be an action name.
func ValidActionName(s string) bool { return fieldRE.MatchString(s) }

func validateMetadata(item string, rules []MetaRule) error {
	seen := map[string]bool{}
	for i, r := range rules {
		f := fmt.Sprintf("metadata[%d]", i)
		if !fieldRE.MatchString(r.Field) {
			return &Error{Item: item, Field: f + ".field", Problem: "required: letters, digits, _ . - (max 64)"}
		}
		if r.Key != "" && !fieldRE.MatchString(r.Key) {
			return &Error{Item: item, Field: f + ".key", Problem: "letters, digits, _ . - (max 64)"}
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

func validateBaseURL(item, u string) error {
	if u == "" || AllowedURL(u) {
		return nil
	}
	return &Error{Item: item, Field: "baseUrl", Problem: "must be an https:// URL (http:// only for 127.0.0.1 or localhost)"}
}

// AllowedURL reports whether u is https, or http on loopback. Adapters use it
// for callback URLs so tenants cannot point us at plain-text endpoints. The
// URL is parsed rather than prefix-matched: "http://127.0.0.1:@example.com/"
// starts like a loopback URL but its host is example.com.
func AllowedURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Opaque != "" {
		return false
	}
	host := p.Hostname()
	switch p.Scheme {
	case "https":
		return host != ""
	case "http":
		// Plain http for the local stack and tests only.
		return host == "127.0.0.1" || host == "localhost" || host == "::1"
	}
	return false
}
