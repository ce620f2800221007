// Package ultimatetest is a fake Zendesk AI agent – Advanced (ex-Ultimate)
// for tests and for the local stack.
//
// It serves the Chat API (POST /converse/chat) and the widget escalation API
// (POST /agent/converse/send-message-to-widget) and answers the way the real
// AI agent does: a bare 200 acknowledgement, then the bot's replies as
// webhooks to the agent's configured URL, authenticated with the scheme our
// side verifies (webhookauth). A small keyword dialogue (see dialogue.go)
// exercises every webhook the contract defines: sendMessage with text,
// buttons, links and carousels, escalate, isTeamOnline, actions and the
// widget events.
//
// The fake is deliberately strict. Where the public contract is explicit
// (required fields, string-only metaData values, header names, the raw API
// key in Authorization) a deviation is a 400 or 401, and fields the contract
// does not define are rejected too, so a bridge bug fails loudly here rather
// than quietly against production. Where the contract is silent the fake
// makes one choice and says so in the doc comment of the code concerned.
//
// Tests should call WaitIdle instead of sleeping: the webhooks an accepted
// request causes are queued before its 200 is written, so once WaitIdle
// returns our side has answered all of them.
package ultimatetest
