package tenant

import (
	"context"
	"encoding/json"
	"fmt"
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
	Invalidate(name string)
}

// Credentials resolves agents' secrets through the config loader and the
// secret cache. It implements ultimate.Keys.
type Credentials struct {
	Loader  *Loader
	Secrets SecretStore
}

// AgentSecret returns the parsed secret of an agent.
func (c *Credentials) AgentSecret(ctx context.Context, agentID string) (*AgentSecret, error) {
	a, err := c.Loader.Agent(ctx, agentID)
	if err != nil {
		return nil, err
	}
	raw, err := c.Secrets.Get(ctx, a.Secret)
	if err != nil {
		return nil, err
	}
	return ParseAgentSecret(a.Secret, raw)
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
	a, err := c.Loader.Agent(context.Background(), agentID)
	if err != nil {
		return
	}
	c.Secrets.Invalidate(a.Secret)
}
