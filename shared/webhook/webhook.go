// Package webhook admits the AI agent's webhook calls: it authenticates the
// caller with its agent's configured scheme and checks that the agent owns
// the conversation it names. Every webhook function goes through it, so one
// agent's secret can never reach another tenant's conversations.
package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// Tenants looks up configuration.
type Tenants interface {
	Source(ctx context.Context, source, account string) (*tenant.Source, error)
	Agent(ctx context.Context, agentID string) (*tenant.Agent, error)
}

// AgentSecrets returns an agent's parsed secret.
type AgentSecrets interface {
	AgentSecret(ctx context.Context, agentID string) (*tenant.AgentSecret, error)
}

// Secrets returns secret values (platform credentials).
type Secrets interface {
	Get(ctx context.Context, name string) ([]byte, error)
}

// Gate admits webhook calls.
type Gate struct {
	Tenants      Tenants
	AgentSecrets AgentSecrets
	Secrets      Secrets
	Log          *slog.Logger
}

// Call is an admitted webhook.
type Call struct {
	Hook  *ultimate.Webhook
	Agent *tenant.Agent
	// Account and Conv are set when the webhook names a conversation.
	Account *source.Account
	Conv    source.Conversation
}

// PCID returns the platformConversationId the webhook names, if any.
func PCID(w *ultimate.Webhook) string {
	if w.Converse != nil {
		return w.Converse.PlatformConversationID
	}
	if w.Action != nil {
		return w.Action.PlatformConversationID
	}
	return ""
}

// Admit authenticates req and, when it names a conversation, checks the
// calling agent owns it. requirePCID makes a missing platformConversationId a
// 400.
func (g *Gate) Admit(ctx context.Context, req *apigw.Request, requirePCID bool) (*Call, error) {
	botID, err := ultimate.PeekBotID(req.Body)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusBadRequest, "invalid_payload", err.Error())
	}
	agent, err := g.Tenants.Agent(ctx, botID)
	if err != nil {
		if errors.Is(err, tenant.ErrNotFound) {
			return nil, apigw.Wrap(err, http.StatusUnauthorized, "unknown_agent", "the calling AI agent is not configured")
		}
		return nil, configError(err)
	}
	if err := g.authenticate(ctx, agent, req); err != nil {
		return nil, err
	}
	hook, err := ultimate.ParseWebhook(req.Body)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusBadRequest, "invalid_payload", err.Error())
	}
	call := &Call{Hook: hook, Agent: agent}
	pcid := PCID(hook)
	if pcid == "" {
		if requirePCID {
			return nil, apigw.Errorf(http.StatusBadRequest, "invalid_payload", "platformConversationId: required")
		}
		return call, nil
	}
	conv, err := source.ParsePCID(pcid)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusBadRequest, "invalid_payload", "platformConversationId: not one of this bridge's conversations ({source}:{account}:{conversation})")
	}
	acct, err := g.account(ctx, conv, agent.AgentID)
	if err != nil {
		return nil, err
	}
	call.Account, call.Conv = acct, conv
	return call, nil
}

// Account loads the source account a conversation belongs to, with its
// platform credentials. Unknown and disabled accounts are 403s.
func (g *Gate) Account(ctx context.Context, conv source.Conversation) (*source.Account, error) {
	return g.account(ctx, conv, "")
}

// account loads the account; a non-empty agentID must own it. Ownership is
// checked before anything else, so a foreign agent learns nothing about the
// account (not even whether it exists or is disabled).
func (g *Gate) account(ctx context.Context, conv source.Conversation, agentID string) (*source.Account, error) {
	cfg, err := g.Tenants.Source(ctx, conv.Source, conv.Account)
	if err != nil && !errors.Is(err, tenant.ErrNotFound) {
		return nil, configError(err)
	}
	if err != nil || (agentID != "" && cfg.AgentID != agentID) {
		if agentID == "" {
			return nil, apigw.Errorf(http.StatusNotFound, "unknown_account", "conversation %s does not belong to a configured account", conv.PCID())
		}
		return nil, apigw.Errorf(http.StatusForbidden, "not_owner", "agent %s does not own conversation %s", agentID, conv.PCID())
	}
	if !cfg.Enabled {
		return nil, apigw.Errorf(http.StatusForbidden, "account_disabled", "the conversation's account is disabled")
	}
	acct := &source.Account{Source: cfg}
	if cfg.CredentialsSecret != "" {
		if acct.Credentials, err = g.Secrets.Get(ctx, cfg.CredentialsSecret); err != nil {
			return nil, apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the account's credentials could not be read; see logs")
		}
	}
	return acct, nil
}

func (g *Gate) authenticate(ctx context.Context, agent *tenant.Agent, req *apigw.Request) error {
	scheme := agent.WebhookAuth
	if scheme.Kind == webhookauth.SchemeNone {
		if g.Log != nil {
			g.Log.WarnContext(ctx, "webhook authentication is disabled for this agent (webhookAuth.scheme none); anyone who knows the agent ID can call", slog.String("agentId", agent.AgentID))
		}
		return nil
	}
	sec, err := g.AgentSecrets.AgentSecret(ctx, agent.AgentID)
	if err != nil {
		return apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the agent's secret could not be read; see logs")
	}
	err = webhookauth.Verify(scheme, sec.WebhookSecrets(), webhookauth.Request{Header: req.HeaderValue, Query: req.QueryValue, Body: req.Body})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, webhookauth.ErrNoSecret):
		return apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the agent's secret has no webhookSecret; see logs")
	case errors.Is(err, webhookauth.ErrMissing):
		return apigw.Wrap(err, http.StatusUnauthorized, "missing_credentials", err.Error())
	default:
		return apigw.Wrap(err, http.StatusUnauthorized, "bad_credentials", "webhook authentication failed")
	}
}

func configError(err error) error {
	var te *tenant.Error
	if errors.As(err, &te) {
		return apigw.Wrap(err, http.StatusInternalServerError, "config_invalid", "a configuration item is invalid; see logs")
	}
	return apigw.Wrap(err, http.StatusServiceUnavailable, "config_unavailable", "configuration could not be read; retry later")
}
