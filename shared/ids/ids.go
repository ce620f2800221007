// Package ids holds the one set of input rules for the identifiers the
// bridge takes from outside — source names, account IDs, AI agent IDs
// (botId), conversation IDs, platformConversationIds, event and message
// IDs, action names and the short labels (team IDs, escalation targets) —
// and every route checks them before it looks anything up with them. A
// value that breaks a rule is a 400 naming the field and the rule; the
// value itself is never echoed, so neither the answer nor the log line
// carries it whole.
//
// Source, account and agent formats are those of the tenant items (an ID
// that no item can have is refused before a lookup); the rest are limits of
// the keys and log lines the IDs end up in.
package ids

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// Limits of the free-form IDs, in bytes.
const (
	MaxConversation = 200 // a platform's conversation ID
	MaxEvent        = 256 // an event or message ID
	MaxLabel        = 128 // a team ID, an escalation target
	// MaxPCID is the longest platformConversationId the rules allow:
	// {source}:{account}:{conversation}.
	MaxPCID = 32 + 1 + 128 + 1 + MaxConversation
)

func bad(field, format string, args ...any) error {
	return apigw.Errorf(http.StatusBadRequest, "invalid_id", "%s: %s", field, fmt.Sprintf(format, args...))
}

// must is nil when ok, else the 400 naming field and the rule.
func must(ok bool, field, rule string) error {
	if ok {
		return nil
	}
	return bad(field, "%s", rule)
}

// Source checks a source name (e.g. generic, sunshine).
func Source(field, v string) error {
	return must(tenant.ValidSourceName(v), field, "must be a source name: a lower-case letter, then letters, digits and - (at most 32)")
}

// Account checks a source account ID.
func Account(field, v string) error {
	return must(tenant.ValidAccount(v), field, "must be an account ID: 1-128 letters, digits and . _ @ + = -, not . or ..")
}

// Agent checks an AI agent ID (a webhook's botId).
func Agent(field, v string) error {
	return must(tenant.ValidAgentID(v), field, "must be an AI agent ID")
}

// Action checks an action name.
func Action(field, v string) error {
	return must(tenant.ValidActionName(v), field, "must be an action name: 1-64 letters, digits and _ . -")
}

// Conversation checks a platform's conversation ID: printable UTF-8 (no
// control characters: no CR, LF or NUL), at most MaxConversation bytes, and
// not . or .. alone: adapters put conversation IDs into platform API paths
// (Sunshine's /conversations/{id}/messages, LivePerson's
// /conversation/{id}/messages), where escaping leaves a dot segment as it
// is and servers resolve it to another endpoint.
func Conversation(field, v string) error {
	switch v {
	case "":
		return bad(field, "required")
	case ".", "..":
		return bad(field, "must not be . or .. (it would be a path segment)")
	}
	return text(field, v, MaxConversation)
}

// Label checks an optional short label (a team ID, an escalation target):
// empty, or printable UTF-8 of at most MaxLabel bytes.
func Label(field, v string) error {
	if v == "" {
		return nil
	}
	return text(field, v, MaxLabel)
}

// text is printable UTF-8 of at most max bytes.
func text(field, v string, max int) error {
	switch {
	case len(v) > max:
		return bad(field, "longer than %d bytes (%d)", max, len(v))
	case !utf8.ValidString(v):
		return bad(field, "not valid UTF-8")
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return bad(field, "must be printable text without control characters")
		}
	}
	return nil
}

// Event checks an event or message ID: printable ASCII without spaces, at
// most MaxEvent bytes. Platforms use opaque ASCII tokens; anything else is
// not one of theirs.
func Event(field, v string) error {
	switch {
	case v == "":
		return bad(field, "required")
	case len(v) > MaxEvent:
		return bad(field, "longer than %d bytes (%d)", MaxEvent, len(v))
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return bad(field, "must be printable ASCII without spaces")
		}
	}
	return nil
}

// PCID splits a platformConversationId, {source}:{account}:{conversation},
// checking each part. The conversation part may itself contain colons.
func PCID(field, v string) (source, account, conversation string, err error) {
	if len(v) > MaxPCID {
		return "", "", "", bad(field, "longer than %d bytes (%d)", MaxPCID, len(v))
	}
	parts := strings.SplitN(v, ":", 3)
	if len(parts) != 3 {
		return "", "", "", bad(field, "not one of this bridge's conversations ({source}:{account}:{conversation})")
	}
	if Source(field, parts[0]) != nil {
		return "", "", "", bad(field, "the source part is not a source name")
	}
	if Account(field, parts[1]) != nil {
		return "", "", "", bad(field, "the account part is not an account ID")
	}
	if err := Conversation(field, parts[2]); err != nil {
		return "", "", "", bad(field, "the conversation part: %s", strings.TrimPrefix(apigw.AsError(err).Message, field+": "))
	}
	return parts[0], parts[1], parts[2], nil
}
