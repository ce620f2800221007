// Package accounts resolves whom a request is for, the same way for every
// function and event source: the source account a route or a conversation
// names, with its platform credentials, checked to be enabled and — when an
// AI agent asks — owned by that agent; the AI agent a webhook claims to
// come from, authenticated with its own scheme (package webhookauth). It is
// the one place where tenant lookups turn into answers (LookupError), so a
// missing, invalid or unreadable item means the same status everywhere.
//
// A queue consumer resolves a queued delivery's conversation with Account
// exactly as the HTTP side does.
package accounts

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// Tenants looks up configuration (cached by the implementation).
type Tenants interface {
	Source(ctx context.Context, source, account string) (*tenant.Source, error)
	Agent(ctx context.Context, agentID string) (*tenant.Agent, error)
}

// Credentials returns a source account's platform credentials, refusing a
// secret name that is not the account's own (tenant.Credentials).
type Credentials interface {
	SourceCredentials(ctx context.Context, src *tenant.Source) ([]byte, error)
}

// AgentSecrets returns an agent's parsed secret.
type AgentSecrets interface {
	AgentSecret(ctx context.Context, agentID string) (*tenant.AgentSecret, error)
}

// Resolver resolves accounts and admits webhooks. Its lookups go through
// the caches behind Tenants and Secrets, so the warm path makes no AWS call.
type Resolver struct {
	Tenants      Tenants
	Secrets      Credentials
	AgentSecrets AgentSecrets
	Log          *slog.Logger
}

// Account resolves a source account with its credentials. owner, when set,
// is the AI agent asking: an account it does not own is a 403 whether or
// not the account exists, checked before anything else, so a foreign
// agent learns nothing about it. Without an owner (a platform's own route,
// an operator's replay) an unknown account is a 404. A disabled account is
// a 403 either way.
func (r *Resolver) Account(ctx context.Context, sourceName, accountID, owner string) (*source.Account, error) {
	cfg, err := r.Tenants.Source(ctx, sourceName, accountID)
	if err != nil && !errors.Is(err, tenant.ErrNotFound) {
		return nil, LookupError(err, nil)
	}
	switch {
	case owner != "" && (err != nil || cfg.AgentID != owner):
		return nil, apigw.Errorf(http.StatusForbidden, "not_owner", "agent %s does not own account %s/%s", owner, sourceName, accountID)
	case err != nil:
		return nil, apigw.Wrap(err, http.StatusNotFound, "unknown_account", "account "+sourceName+"/"+accountID+" is not configured")
	case !cfg.Enabled:
		return nil, apigw.Errorf(http.StatusForbidden, "account_disabled", "account %s/%s is disabled", sourceName, accountID)
	}
	acct := &source.Account{Source: cfg}
	if acct.Credentials, err = r.Secrets.SourceCredentials(ctx, cfg); err != nil {
		return nil, apigw.Wrap(err, http.StatusInternalServerError, "credentials_unavailable", "the account's credentials could not be read; see logs")
	}
	return acct, nil
}

// Agent loads an AI agent's configuration; an unknown agent is notFound.
func (r *Resolver) Agent(ctx context.Context, agentID string, notFound *apigw.Error) (*tenant.Agent, error) {
	a, err := r.Tenants.Agent(ctx, agentID)
	if err != nil {
		return nil, LookupError(err, notFound)
	}
	return a, nil
}

// LookupError is the one mapping of a configuration lookup error to an
// answer: an item that is not configured is notFound (the caller's answer
// for that case; nil makes it a 404), an invalid item is our 500, and
// anything else (DynamoDB unavailable) a 503 to retry.
func LookupError(err error, notFound *apigw.Error) error {
	if errors.Is(err, tenant.ErrNotFound) {
		if notFound == nil {
			return apigw.Wrap(err, http.StatusNotFound, "not_configured", "not configured")
		}
		e := *notFound
		e.Err = err
		return &e
	}
	var te *tenant.Error
	if errors.As(err, &te) {
		return apigw.Wrap(err, http.StatusInternalServerError, "config_invalid", "a configuration item is invalid; see logs")
	}
	return apigw.Wrap(err, http.StatusServiceUnavailable, "config_unavailable", "configuration could not be read; retry later")
}

// Unconfigured reports a lookup error of Account or Agent that will not
// change until an operator acts: not configured, disabled, not owned (the
// 4xx answers). A queued delivery for it is kept as a dead letter, to be
// replayed once fixed; any other lookup error (a table that could not be
// read, an item an operator is correcting) is worth retrying.
func Unconfigured(err error) bool {
	e := apigw.AsError(err)
	return e.Status >= 400 && e.Status < 500
}
