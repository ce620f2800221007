package handover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
)

// Append records a turn of an open conversation in the transcript of an
// account that keeps one (a no-op otherwise): cut at the account's
// MaxChars, sanitized values masked, only the last Turns kept, forgotten
// TranscriptTTL after the last turn. A conversation that ended keeps none
// (its transcript is dropped); one with a human records nothing. It costs
// one read of the conversation and two small writes per turn (see
// state.AppendTurn). The consumers log a failure and go on.
func (h *Handover) Append(ctx context.Context, acct *source.Account, pcid string, t source.Turn) error {
	if acct == nil || acct.Transcript == nil || strings.TrimSpace(t.Text) == "" {
		return nil
	}
	conv, err := h.State.Conversation(ctx, pcid)
	if errors.Is(err, state.ErrNoConversation) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("transcript: %w", err)
	}
	switch conv.Status {
	case state.ConvActive, "":
	case state.ConvEnded:
		return h.State.DropTranscript(ctx, pcid)
	default:
		return nil
	}
	at := t.At
	if at.IsZero() {
		at = h.now()
	}
	text := cutRunes(mask(t.Text, sanitizedValues(acct, conv)), acct.Transcript.MaxChars)
	return h.State.AppendTurn(ctx, pcid, state.Turn{From: t.From, Text: text, At: at}, acct.Transcript.Turns, h.transcriptTTL())
}

// Forget drops a conversation's transcript at once (the conversation ended
// or was handed back); a no-op for accounts that keep none.
func (h *Handover) Forget(ctx context.Context, acct *source.Account, pcid string) error {
	if acct == nil || acct.Transcript == nil {
		return nil
	}
	return h.State.DropTranscript(ctx, pcid)
}

func (h *Handover) transcriptTTL() time.Duration { return orDefault(h.TranscriptTTL, 24*time.Hour) }
