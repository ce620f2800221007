// Package ultimate speaks the Zendesk AI agents – Advanced (formerly
// Ultimate) custom CRM contract: the Chat API and widget API we call, and
// the webhook payloads the AI agent sends us.
package ultimate
