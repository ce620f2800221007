package sunshine

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/source"
)

// Handover metadata keys the Agent Workspace reads when it creates the
// ticket (Zendesk help-center articles; the list is not published in full).
const (
	MetaFirstMessageID = "first_message_id"
	MetaTicketTags     = "dataCapture.systemField.tags"
)

// Handover context keys: the bridge's context for the human, in the flat
// metadata SunCo echoes to the integration that takes over
// (switchboard:passControl webhook).
const (
	MetaReason     = "reason"     // escalate or agent_unavailable
	MetaEscalateTo = "escalateTo" // the AI agent's escalateTo, for routing rules too
	MetaParam      = "param."     // + key: a session parameter (sanitized ones "***")
	MetaHeld       = "heldMessages"
	MetaTranscript = "transcript" // "visitor: …" / "bot: …" lines, oldest first
)

// maxMetaValue bounds one session parameter in the metadata, so one long
// value cannot crowd out the others.
const maxMetaValue = 200

type passControlBody struct {
	SwitchboardIntegration string         `json:"switchboardIntegration"`
	Metadata               map[string]any `json:"metadata,omitempty"`
}

// Escalate implements source.Escalator with passControl to the target the
// account maps the AI agent's escalateTo to, or the account's
// handoverTarget. The metadata carries, by priority within SunCo's 4 KB:
// the episode's first message (so the ticket shows the whole bot
// conversation), the reason and escalateTo, the tags added during the bot
// conversation (from conversation metadata), the session parameters, the
// number of visitor messages the AI agent never got, and the transcript
// where the account keeps one (newest turns kept). The look-ups are best
// effort: a handover without them beats a visitor left alone. It returns
// nil only when SunCo accepted the pass; otherwise the *egress.StatusError
// carries SunCo's status and reason.
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
	body := passControlBody{SwitchboardIntegration: target, Metadata: handoverMetadata(first, escalateTo, metadataTags(md, s.separator()), s.separator(), req.Context)}
	return c.do(ctx, "PassControl", http.MethodPost, c.convPath(conv.ID, "/passControl"), body, nil)
}

// handoverMetadata fills the flat metadata by priority, each entry only if
// it still fits in 4 KB: a deliberate truncation, never SunCo's 400.
func handoverMetadata(first, escalateTo string, tags []string, sep string, hc source.HandoverContext) map[string]any {
	meta := map[string]any{}
	fits := func(k string, v any) bool {
		meta[k] = v
		ok := metadataSize(meta) <= maxMetadata
		delete(meta, k)
		return ok
	}
	add := func(k string, v any) {
		if fits(k, v) {
			meta[k] = v
		}
	}
	if first != "" {
		add(MetaFirstMessageID, first)
	}
	if hc.Reason != "" {
		add(MetaReason, hc.Reason)
	}
	if escalateTo != "" {
		add(MetaEscalateTo, escalateTo)
	}
	// Keep the earliest tags: they were added first and routing triggers
	// usually key on them.
	if n := largest(len(tags), func(n int) bool { return fits(MetaTicketTags, strings.Join(tags[:n], sep)) }); n > 0 {
		meta[MetaTicketTags] = strings.Join(tags[:n], sep)
	}
	keys := make([]string, 0, len(hc.Params))
	for k := range hc.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(MetaParam+k, clipRunes(hc.Params[k], maxMetaValue))
	}
	if len(hc.Held) > 0 {
		add(MetaHeld, len(hc.Held))
	}
	// The newest turns matter most: as many as fit, and if not even the
	// newest does, its text cut to what fits.
	lines := make([]string, len(hc.Transcript))
	for i, t := range hc.Transcript {
		lines[i] = t.From + ": " + clipRunes(t.Text, maxMetadata)
	}
	newest := func(n int) string { return strings.Join(lines[len(lines)-n:], "\n") }
	if n := largest(len(lines), func(n int) bool { return fits(MetaTranscript, newest(n)) }); n > 0 {
		meta[MetaTranscript] = newest(n)
	} else if len(lines) > 0 {
		last := lines[len(lines)-1]
		if r := largest(utf8.RuneCountInString(last), func(r int) bool { return r < 2 || fits(MetaTranscript, clipRunes(last, r)) }); r >= 2 {
			meta[MetaTranscript] = clipRunes(last, r)
		}
	}
	if len(meta) == 0 {
		return nil
	}
	return meta
}

// largest is the largest n in [0, hi] for which ok holds, ok holding for
// every n up to some bound (a binary search: each test encodes the
// metadata once).
func largest(hi int, ok func(n int) bool) int {
	lo := 0
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
