package tenant

import (
	"errors"
	"fmt"
	"strings"

	"github.com/crmbridge/crmbridge/shared/ascii"
)

// Secret names belong to their tenant: an agent's secret is exactly
// crmbridge/agents/{agentId}, a source account's crmbridge/sources/{source}/
// {account}, an action's crmbridge/actions/{agentId}/{name}. Items are held
// to this when they are parsed (written or read), and Credentials again when
// it reads a secret, so one tenant's item can never make the bridge read,
// and send on, another tenant's secret. The IAM grants in template.yaml use
// the same patterns.
//
// The prefix is fixed, not configurable: item files then validate the same
// offline (crmbridge tenants validate) and in every deployment, and the code
// and the template's grants cannot disagree.
const SecretPrefix = "crmbridge/"

// Secret name prefixes by kind.
const (
	AgentSecrets  = SecretPrefix + "agents/"
	SourceSecrets = SecretPrefix + "sources/"
	ActionSecrets = SecretPrefix + "actions/"
)

// AgentSecretName is the name of an agent's secret (apiKey, webhookSecret).
func AgentSecretName(agentID string) string { return AgentSecrets + agentID }

// SourceSecretName is the name of a source account's platform credentials.
func SourceSecretName(source, account string) string {
	return SourceSecrets + source + "/" + account
}

// ActionSecretPrefix is what the names of an agent's action secrets start
// with; one path segment follows.
func ActionSecretPrefix(agentID string) string { return ActionSecrets + agentID + "/" }

// ErrForeignSecret means a secret name does not belong to the tenant that
// names it.
var ErrForeignSecret = errors.New("secret belongs to another tenant")

// CheckActionSecret reports whether name may be an action secret of
// agentID. The action package calls it for an action's http.secret.
func CheckActionSecret(agentID, name string) error {
	prefix := ActionSecretPrefix(agentID)
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return fmt.Errorf("must start with %q (an action may only use its own agent's secrets): %w", prefix, ErrForeignSecret)
	}
	if !validSecretSegment(rest) {
		return fmt.Errorf("after %q: one name of 1-128 letters, digits and _ . @ + = - (not . or ..)", prefix)
	}
	return nil
}

// validSecretSegment is one path segment of a secret name.
func validSecretSegment(s string) bool {
	return s != "." && s != ".." && ascii.Token(s, 128, "_.@+=-")
}

// SecretKind is what a secret is for, by its name.
type SecretKind int

const (
	SecretAgent  SecretKind = iota + 1 // crmbridge/agents/{agentId}
	SecretSource                       // crmbridge/sources/{source}/{account}
	SecretAction                       // crmbridge/actions/{agentId}/{name}
)

// SecretRef is a secret name taken apart.
type SecretRef struct {
	Kind    SecretKind
	AgentID string // agent and action secrets
	Source  string // source secrets
	Account string // source secrets
	Name    string // action secrets: the last segment
}

// ParseSecretName takes a secret name apart by the rules above; any other
// name is an error naming the rule.
func ParseSecretName(name string) (SecretRef, error) {
	switch {
	case strings.HasPrefix(name, AgentSecrets):
		id := strings.TrimPrefix(name, AgentSecrets)
		if !ValidAgentID(id) {
			return SecretRef{}, fmt.Errorf("secret %s: after %s comes the agent ID, %s", name, AgentSecrets, ruleAgentID)
		}
		return SecretRef{Kind: SecretAgent, AgentID: id}, nil
	case strings.HasPrefix(name, SourceSecrets):
		src, acct, ok := strings.Cut(strings.TrimPrefix(name, SourceSecrets), "/")
		if !ok || !ValidSourceName(src) || !ValidAccount(acct) {
			return SecretRef{}, fmt.Errorf("secret %s: must be %s{source}/{account} (source: %s; account: %s)", name, SourceSecrets, ruleSourceName, ruleAccount)
		}
		return SecretRef{Kind: SecretSource, Source: src, Account: acct}, nil
	case strings.HasPrefix(name, ActionSecrets):
		id, rest, ok := strings.Cut(strings.TrimPrefix(name, ActionSecrets), "/")
		if !ok || !ValidAgentID(id) || !validSecretSegment(rest) {
			return SecretRef{}, fmt.Errorf("secret %s: must be %s{agentId}/{name} (agentId: %s; name: 1-128 of letters, digits and _ . @ + = -)", name, ActionSecrets, ruleAgentID)
		}
		return SecretRef{Kind: SecretAction, AgentID: id, Name: rest}, nil
	default:
		return SecretRef{}, fmt.Errorf("secret %s: must be %s{agentId}, %s{source}/{account} or %s{agentId}/{name}", name, AgentSecrets, SourceSecrets, ActionSecrets)
	}
}
