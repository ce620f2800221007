package sunshine

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/crmbridge/crmbridge/shared/source"
)

// Handover metadata keys the Agent Workspace reads when it creates the
// ticket (Zendesk help-center articles; the list is not published in full).
const (
	MetaFirstMessageID = "first_message_id"
	MetaTicketTags     = "dataCapture.systemField.tags"
	// MetaEscalateTo carries an escalateTo the account does not map to a
	// switchboard target, for the desk's routing rules.
	MetaEscalateTo = "escalateTo"
)

type passControlBody struct {
	SwitchboardIntegration string         `json:"switchboardIntegration"`
	Metadata               map[string]any `json:"metadata,omitempty"`
}

// Escalate implements source.Escalator with passControl to the target the
// account maps the AI agent's escalateTo to, or the account's handoverTarget. The handover metadata carries
// the tags added during the bot conversation (from conversation metadata)
// and the episode's first message, so the agent's ticket is tagged and shows
// the whole bot conversation. Both look-ups are best effort: a handover
// without them beats a visitor left alone. It returns nil only when SunCo
// accepted the pass; otherwise the *egress.StatusError carries SunCo's status
// and reason.
func (a *Adapter) Escalate(ctx context.Context, acct *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	c, s, err := a.apiFor(acct)
	if err != nil {
		return err
	}
	escalateTo := strings.TrimSpace(req.EscalateTo)
	target, mapped := s.EscalationTargets[escalateTo]
	if !mapped {
		target = s.HandoverTarget
	}

	var (
		wg             sync.WaitGroup
		md             map[string]any
		first          string
		mdErr, firstEr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); md, mdErr = c.conversationMetadata(ctx, conv.ID) }()
	go func() { defer wg.Done(); first, firstEr = c.firstMessageID(ctx, conv.ID) }()
	wg.Wait()
	for _, e := range []error{mdErr, firstEr} {
		if e != nil {
			a.log().Warn("sunshine handover context incomplete", slog.String("pcid", conv.PCID()), slog.String("error", e.Error()))
		}
	}

	meta := map[string]any{}
	if escalateTo != "" && !mapped {
		meta[MetaEscalateTo] = escalateTo
	}
	if first != "" {
		meta[MetaFirstMessageID] = first
	}
	tags := metadataTags(md, s.separator())
	for len(tags) > 0 {
		meta[MetaTicketTags] = strings.Join(tags, s.separator())
		if metadataSize(meta) <= maxMetadata {
			break
		}
		// Keep the earliest tags: they were added first and routing
		// triggers usually key on them.
		tags = tags[:len(tags)-1]
		delete(meta, MetaTicketTags)
	}
	body := passControlBody{SwitchboardIntegration: target, Metadata: meta}
	return c.do(ctx, "PassControl", http.MethodPost, c.convPath(conv.ID, "/passControl"), body, nil)
}
