package liveperson

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/source"
)

// maxNote bounds the handover's private note. LivePerson publishes no limit
// for a private text; this keeps the note readable in the agent's
// conversation window and well under any message limit.
const maxNote = 2000

// contextNote renders a handover's context for the agents who take over:
// the reason and escalateTo, the session parameters the bridge passed to
// the AI agent (sanitized ones masked), how many visitor messages the AI
// agent never got (they are in the conversation), and as many of the
// transcript's newest turns as fit, where the account keeps one (the agent
// sees the conversation's messages anyway; the transcript is for accounts
// that asked for it).
func contextNote(req source.HandoverRequest) string {
	hc := req.Context
	var b strings.Builder
	b.WriteString("Handover from the AI agent")
	switch hc.Reason {
	case source.ReasonAgentUnavailable:
		b.WriteString(": the AI agent could not be reached")
	default:
		b.WriteString(": the AI agent escalated")
	}
	if req.EscalateTo != "" {
		fmt.Fprintf(&b, " (to %s)", truncate(req.EscalateTo, 100))
	}
	b.WriteString(".")
	if len(hc.Params) > 0 {
		keys := make([]string, 0, len(hc.Params))
		for k := range hc.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("\nSession parameters:")
		for _, k := range keys {
			fmt.Fprintf(&b, "\n- %s: %s", truncate(k, 100), truncate(hc.Params[k], 200))
		}
	}
	if n := len(hc.Held); n > 0 {
		fmt.Fprintf(&b, "\nVisitor messages the AI agent did not get: %d (above in the conversation).", n)
	}
	head := truncate(b.String(), maxNote)
	if len(hc.Transcript) == 0 {
		return head
	}
	// The newest turns matter most: add turns from the newest back while
	// they fit.
	const title = "\nTranscript (oldest first):"
	room := maxNote - utf8.RuneCountInString(head) - utf8.RuneCountInString(title)
	var lines []string
	for i := len(hc.Transcript) - 1; i >= 0 && room > 0; i-- {
		t := hc.Transcript[i]
		line := "\n" + t.From + ": " + t.Text
		if n := utf8.RuneCountInString(line); n > room {
			if len(lines) == 0 && room > 20 {
				lines = append(lines, truncate(line, room))
			}
			break
		}
		room -= utf8.RuneCountInString(line)
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return head
	}
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	return head + title + strings.Join(lines, "")
}
