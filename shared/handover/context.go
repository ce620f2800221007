package handover

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
)

// ParamPrefix marks the session parameters the bridge passed to the AI
// agent among a conversation's attributes (state.Conversation.Attrs): the
// inbound side stores each as "param.<key>" = value when it sends them.
const ParamPrefix = "param."

// Masked replaces a sanitized value wherever the human would see it.
const Masked = "***"

// Bounds of what a handover carries, whatever the adapter does with it.
const (
	maxParams     = 50
	maxParamValue = 500 // characters
	maxHeld       = 20
	maxHeldChars  = 500
)

// context is what the bridge knows of the conversation, for the human: the
// reason, the session parameters (sanitized ones masked), the transcript
// where the account keeps one, the held visitor texts. A transcript that
// cannot be read is left out (logged): a handover without it beats none.
func (h *Handover) context(ctx context.Context, r Request, conv *state.Conversation, log *slog.Logger) source.HandoverContext {
	hc := source.HandoverContext{Reason: r.Reason, Params: params(r.Account, conv), Held: r.Held}
	if t := r.Account.Transcript; t != nil {
		turns, err := h.State.Transcript(ctx, r.Conv.PCID(), t.Turns)
		if err != nil {
			log.Warn("handover without its transcript", slog.String("error", err.Error()))
		}
		for _, tu := range turns {
			hc.Transcript = append(hc.Transcript, source.Turn{From: tu.From, Text: tu.Text, At: tu.At})
		}
	}
	return hc
}

// params are the session parameters the bridge passed to the AI agent for
// conv, with the values of those the account sanitizes masked; nil when
// there are none.
func params(acct *source.Account, conv *state.Conversation) map[string]string {
	if conv == nil {
		return nil
	}
	var out map[string]string
	keys := make([]string, 0, len(conv.Attrs))
	for k := range conv.Attrs {
		if strings.HasPrefix(k, ParamPrefix) && len(k) > len(ParamPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys[:min(len(keys), maxParams)] {
		key, v := strings.TrimPrefix(k, ParamPrefix), conv.Attrs[k]
		if acct.Source.SanitizedParam(key) {
			v = Masked
		}
		if out == nil {
			out = map[string]string{}
		}
		out[key] = cutRunes(v, maxParamValue)
	}
	return out
}

// sanitizedValues are the values a transcript must not show: those of the
// conversation's sanitized session parameters, longest first (so a value
// that contains another is masked whole).
func sanitizedValues(acct *source.Account, conv *state.Conversation) []string {
	var vs []string
	for k, v := range conv.Attrs {
		key, ok := strings.CutPrefix(k, ParamPrefix)
		// Very short values (an initial, "no") would mask ordinary words.
		if ok && utf8.RuneCountInString(v) >= 3 && acct.Source.SanitizedParam(key) {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return len(vs[i]) > len(vs[j]) })
	return vs
}

func mask(text string, values []string) string {
	for _, v := range values {
		text = strings.ReplaceAll(text, v, Masked)
	}
	return text
}

// cutRunes bounds s to n characters, marking the cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

func heldTexts(held []source.Event) []string {
	var out []string
	for _, e := range held {
		if e.Kind == source.Message && strings.TrimSpace(e.Text) != "" {
			out = append(out, cutRunes(e.Text, maxHeldChars))
		}
	}
	if len(out) > maxHeld {
		out = out[len(out)-maxHeld:] // the latest: what the visitor asks now
	}
	return out
}
