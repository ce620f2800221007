package liveperson

import (
	"context"
	"errors"
	"fmt"
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
	ErrNoSkill        = errors.New("no LivePerson skill for this escalation")
	ErrCommandFailed  = errors.New("LivePerson reported the command failed")
	ErrCommandPending = errors.New("LivePerson had not completed the command in time")
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

// Escalate implements source.Escalator: a transfer command to the skill,
// reported as done only when LivePerson says the command completed within
// transferWaitSeconds. With 0, or when the answer names no commandId to
// follow, the accepted request counts as done.
func (a *Adapter) Escalate(ctx context.Context, acct *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	c, err := a.api(acct)
	if err != nil {
		return err
	}
	skill, err := c.st.skillFor(req.EscalateTo)
	if err != nil {
		return err
	}
	id, err := c.command(ctx, conv.ID, "transfer", map[string]string{"skill": skill})
	if err != nil {
		return err
	}
	if c.st.transferWait <= 0 || id == "" {
		return nil
	}
	return a.await(ctx, c, conv.ID, id, c.st.transferWait)
}

// await polls a command until it completes, fails, or wait runs out.
func (a *Adapter) await(ctx context.Context, c *apiClient, conv, id string, wait time.Duration) error {
	interval := a.PollInterval
	if interval <= 0 {
		interval = 400 * time.Millisecond
	}
	deadline := a.Now().Add(wait)
	last := "not found"
	for {
		state, failure, found, err := c.commandState(ctx, conv, id)
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
