package liveperson

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Send implements source.Sender: one messages command per AI-agent message,
// so its parts (text, then rich content) arrive together and in order.
func (a *Adapter) Send(ctx context.Context, acct *source.Account, conv source.Conversation, msg ultimate.Message, p *source.Progress) error {
	if p != nil && p.Sent > 0 {
		return nil
	}
	c, err := a.api(acct)
	if err != nil {
		return err
	}
	if items := newRenderer(c.st).render(msg); len(items) > 0 {
		if _, err := c.command(ctx, conv.ID, "messages", map[string]any{"messages": items}); err != nil {
			return err
		}
	}
	if p != nil {
		p.Sent = 1
	}
	return nil
}

// Errors of an escalation that LivePerson did not carry out.
var (
	ErrNoSkill = errors.New("no LivePerson skill for this escalation")
	// ErrCommandFailed is a source.ErrRefused.
	ErrCommandFailed = fmt.Errorf("LivePerson reported the command failed: %w", source.ErrRefused)
	// ErrCommandPending is a source.ErrPending: the AI agent is told the
	// platform did not confirm in time.
	ErrCommandPending = fmt.Errorf("LivePerson had not completed the command in time: %w", source.ErrPending)
)

// skillFor maps the AI agent's escalateTo through the account's skills,
// falling back to its default skill.
func (s *settings) skillFor(escalateTo string) (string, error) {
	if sk, ok := s.Skills[escalateTo]; ok && escalateTo != "" {
		return sk, nil
	}
	if s.DefaultSkill != "" {
		return s.DefaultSkill, nil
	}
	if escalateTo == "" {
		return "", fmt.Errorf("%w: the account has no defaultSkill", ErrNoSkill)
	}
	return "", fmt.Errorf("%w: escalateTo %q is not in the account's skills and it has no defaultSkill", ErrNoSkill, escalateTo)
}

// Escalate implements source.Escalator: a private note to the agents with
// the handover's context (messageAudience AGENTS_AND_MANAGERS: the consumer
// never sees it), then a transfer command to the skill, reported as done
// only when LivePerson confirms it within transferWaitSeconds (see await).
// With 0, or when the answer names no commandId to follow, the accepted
// request counts as done.
func (a *Adapter) Escalate(ctx context.Context, acct *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	c, err := a.api(acct)
	if err != nil {
		return err
	}
	skill, err := c.st.skillFor(req.EscalateTo)
	if err != nil {
		return err
	}
	a.note(ctx, c, conv, req)
	id, err := c.command(ctx, conv.ID, "transfer", map[string]string{"skill": skill})
	if err != nil {
		return err
	}
	if c.st.transferWait <= 0 || id == "" {
		return nil
	}
	return a.await(ctx, c, conv.ID, id, c.st.transferWait)
}

// note sends the handover context as a private note, once per handover
// (a retried transfer does not repeat it). The transfer matters more than
// the note: a note LivePerson refuses (the account may not have private
// messages enabled) is logged and the transfer goes on.
func (a *Adapter) note(ctx context.Context, c *apiClient, conv source.Conversation, req source.HandoverRequest) {
	key := conv.PCID() + "\x00" + req.ID
	if req.ID != "" {
		if _, sent := a.notes.Get(key); sent {
			return
		}
	}
	text := contextNote(req)
	_, err := c.command(ctx, conv.ID, "messages", map[string]any{"messages": []privateText{{Text: text, MessageAudience: AudienceAgents}}})
	if err != nil {
		a.log().Warn("liveperson handover note not sent", slog.String("pcid", conv.PCID()), slog.String("error", err.Error()))
		return
	}
	if req.ID != "" {
		a.notes.Add(key, struct{}{}, len(key))
	}
}

// await follows a transfer command until LivePerson says it completed or
// failed, or wait runs out. LivePerson returns the commands of ongoing
// conversations only (and only the bot's last 200): once a transfer took
// effect the conversation is no longer the bot's, and its commands answer
// 404. So a 404 on the command is checked against the conversation's
// command list: a 404 there too means the conversation left the bot after
// LivePerson accepted our transfer (handed over, or closed: either way no
// longer the bot's), which is the transfer's success; a list that answers
// without our command means the conversation is still the bot's and the
// command fell out of the history or is not visible yet: keep following.
func (a *Adapter) await(ctx context.Context, c *apiClient, conv, id string, wait time.Duration) error {
	interval := a.PollInterval
	if interval <= 0 {
		interval = 400 * time.Millisecond
	}
	deadline := a.Now().Add(wait)
	last := "not found"
	for {
		state, failure, found, err := c.commandState(ctx, conv, id)
		if err == nil && !found {
			var ongoing bool
			ongoing, state, failure, found, err = c.listedState(ctx, conv, id)
			if err == nil && !ongoing {
				return nil
			}
		}
		if err != nil {
			return fmt.Errorf("transfer command %s: %w", id, err)
		}
		if found {
			last = state
			switch state {
			case CommandCompleted:
				return nil
			case CommandFailed:
				if failure == "" {
					failure = "no reason given"
				}
				return fmt.Errorf("transfer command %s: %w: %s", id, ErrCommandFailed, failure)
			}
		}
		if !a.Now().Add(interval).Before(deadline) {
			return fmt.Errorf("transfer command %s: %w (state %s after %s)", id, ErrCommandPending, last, wait)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("transfer command %s: %w (state %s): %w", id, ErrCommandPending, last, ctx.Err())
		case <-t.C:
		}
	}
}

// Close implements source.Closer: when the account sets closeOnEnd, the
// LivePerson conversation is closed with the AI agent's session; otherwise
// it is left to LivePerson. A conversation already gone (404) is closed.
func (a *Adapter) Close(ctx context.Context, acct *source.Account, conv source.Conversation) error {
	c, err := a.api(acct)
	if err != nil {
		return err
	}
	if !c.st.CloseOnEnd {
		return fmt.Errorf("closing conversations is off for LivePerson account %s (settings.closeOnEnd): %w", conv.Account, source.ErrUnsupported)
	}
	_, err = c.command(ctx, conv.ID, "close", struct{}{})
	var he *egress.StatusError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil
	}
	return err
}
