package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// AgentSecret is the JSON stored in an agent's secret.
type AgentSecret struct {
	APIKey                string `json:"apiKey"`
	WebhookSecret         string `json:"webhookSecret"`
	PreviousWebhookSecret string `json:"previousWebhookSecret,omitempty"` // valid during a rotation
}

// ParseAgentSecret decodes and checks an agent secret; errors never include
// the value.
func ParseAgentSecret(name string, raw []byte) (*AgentSecret, error) {
	var s AgentSecret
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("secret %s: not a JSON object with apiKey and webhookSecret", name)
	}
	if s.APIKey == "" {
		return nil, fmt.Errorf("secret %s: apiKey is missing", name)
	}
	return &s, nil
}

// WebhookSecrets are the secrets a webhook may be signed with, newest first.
func (s *AgentSecret) WebhookSecrets() []string {
	out := make([]string, 0, 2)
	for _, v := range []string{s.WebhookSecret, s.PreviousWebhookSecret} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// SecretStore is the part of the secrets cache that credentials need.
type SecretStore interface {
	Get(ctx context.Context, name string) ([]byte, error)
	// Parsed returns parse's result for the current value, parsing again
	// only when the value changed: a secret name always has one meaning,
	// so one parse function per name.
	Parsed(ctx context.Context, name string, parse func([]byte) (any, error)) (any, error)
	Invalidate(name string)
}

// Credentials reads tenants' secrets through the config loader and the
// secret cache, and is the one place that does: every read checks that the
// name belongs to the tenant asking, so no item, however it was written,
// can make the bridge read another tenant's secret. It implements
// ultimate.Keys.
type Credentials struct {
	Loader  *Loader
	Secrets SecretStore
}

// AgentSecret returns the parsed secret of an agent. The agent must be
// configured: an unknown ID costs no Secrets Manager call.
func (c *Credentials) AgentSecret(ctx context.Context, agentID string) (*AgentSecret, error) {
	a, err := c.Loader.Agent(ctx, agentID)
	if err != nil {
		return nil, err
	}
	// a.Secret must be AgentSecretName(agentID); compared in place, so a
	// warm call builds no name.
	name := a.Secret
	if !strings.HasPrefix(name, AgentSecrets) || name[len(AgentSecrets):] != agentID {
		return nil, fmt.Errorf("agent %s names secret %s: %w", agentID, a.Secret, ErrForeignSecret)
	}
	v, err := c.Secrets.Parsed(ctx, name, func(raw []byte) (any, error) { return ParseAgentSecret(name, raw) })
	if err != nil {
		return nil, err
	}
	return v.(*AgentSecret), nil
}

// APIKey returns the agent's Chat API key.
func (c *Credentials) APIKey(ctx context.Context, agentID string) (string, error) {
	s, err := c.AgentSecret(ctx, agentID)
	if err != nil {
		return "", err
	}
	return s.APIKey, nil
}

// ForgetAPIKey drops the cached secret so the next call re-reads it.
func (c *Credentials) ForgetAPIKey(agentID string) {
	if ValidAgentID(agentID) {
		c.Secrets.Invalidate(AgentSecretName(agentID))
	}
}

// SourceCredentials returns the raw platform credentials of an account
// (nil when it names none); each adapter decodes its own shape.
func (c *Credentials) SourceCredentials(ctx context.Context, src *Source) ([]byte, error) {
	if src.CredentialsSecret == "" {
		return nil, nil
	}
	if want := SourceSecretName(src.Source, src.Account); src.CredentialsSecret != want {
		return nil, fmt.Errorf("account %s/%s names secret %s: %w", src.Source, src.Account, src.CredentialsSecret, ErrForeignSecret)
	}
	return c.Secrets.Get(ctx, src.CredentialsSecret)
}

// ActionSecret returns parse's result for the secret an action names,
// which must be one of the action's own agent's (CheckActionSecret).
func (c *Credentials) ActionSecret(ctx context.Context, act *Action, name string, parse func([]byte) (any, error)) (any, error) {
	if err := CheckActionSecret(act.AgentID, name); err != nil {
		return nil, fmt.Errorf("action %s of agent %s names secret %s: %w", act.Name, act.AgentID, name, err)
	}
	return c.Secrets.Parsed(ctx, name, parse)
}
