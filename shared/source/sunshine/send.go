package sunshine

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// typingTimeout bounds the best-effort typing indicator so it never eats
// the message's budget.
const typingTimeout = 3 * time.Second

// Send implements source.Sender: the AI agent's message as one or more SunCo
// messages (see render), posted in order as the business. p.Sent counts the
// parts SunCo accepted, so a retry after a partial failure resumes where it
// stopped instead of repeating parts the visitor already has.
func (a *Adapter) Send(ctx context.Context, acct *source.Account, conv source.Conversation, msg ultimate.Message, p *source.Progress) error {
	c, s, err := a.apiFor(acct)
	if err != nil {
		return err
	}
	if p == nil {
		p = &source.Progress{}
	}
	if p.ID == "" {
		p.ID = msg.MessageID
	}
	parts := render(msg, s.ReplyStyle)
	if p.Sent >= len(parts) {
		return nil
	}
	if s.TypingIndicator {
		a.typing(ctx, c, conv)
	}
	author := s.author()
	for p.Sent < len(parts) {
		body := messagePost{Author: author, Content: parts[p.Sent]}
		if err := c.do(ctx, "PostMessage", http.MethodPost, c.convPath(conv.ID, "/messages"), body, nil); err != nil {
			return fmt.Errorf("message part %d of %d: %w", p.Sent+1, len(parts), err)
		}
		p.Sent++
	}
	return nil
}

// author is the business author of every bot message.
func (s *Settings) author() authorOut {
	au := authorOut{Type: "business", DisplayName: s.DisplayName, AvatarURL: s.AvatarURL}
	if s.AIDisclaimer {
		au.Subtypes = []string{"AI"}
	}
	return au
}

type activityPost struct {
	Author authorOut `json:"author"`
	Type   string    `json:"type"`
}

// typing shows "typing..." before the bot's message. It is best effort: a
// failure is logged and the message goes out regardless.
func (a *Adapter) typing(ctx context.Context, c *api, conv source.Conversation) {
	ctx, cancel := context.WithTimeout(ctx, typingTimeout)
	defer cancel()
	err := c.do(ctx, "PostActivity", http.MethodPost, c.convPath(conv.ID, "/activity"), activityPost{Author: authorOut{Type: "business"}, Type: "typing:start"}, nil)
	if err != nil {
		a.log().Warn("sunshine typing indicator failed", slog.String("pcid", conv.PCID()), slog.String("error", err.Error()))
	}
}
