// Package webhookauth authenticates the webhook calls a Zendesk AI agent
// (ex-Ultimate) makes to us.
//
// The agent's authentication scheme is not publicly documented, so rather
// than guess one, each AI agent's configuration names the scheme its webhooks
// use (see Scheme): a shared secret in a header, an HMAC-SHA256 of the body,
// a token in the query string, or explicitly nothing. Verification accepts
// any of several secrets so that a secret can be rotated without downtime,
// and every comparison involving a secret is constant-time.
//
// The package is pure and stateless: callers pass header and query lookups
// as functions, so it does not depend on net/http or on any Lambda event
// type.
package webhookauth
