package ultimatetest

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// turn is the bot handling one job of a conversation, on its worker. The
// session is the one the request belonged to, fixed at request time.
type turn struct {
	s         *Server
	ctx       context.Context
	agent     Agent
	conv      *conversation
	sess      *session
	text      string // the visitor's text, as sent
	cardIndex *int
}

// welcome returns the job that greets a new session.
func (s *Server) welcome(a Agent, c *conversation, ss *session) job {
	return func(ctx context.Context) {
		t := &turn{s: s, ctx: ctx, agent: a, conv: c, sess: ss}
		t.say(textMessage(WelcomeText))
	}
}

// answer returns the job that handles a visitor message: forwarded to the
// human while the conversation is widget-escalated, otherwise matched
// against the dialogue and echoed when no rule matches.
func (s *Server) answer(a Agent, c *conversation, ss *session, text string, cardIndex *int) job {
	return func(ctx context.Context) {
		t := &turn{s: s, ctx: ctx, agent: a, conv: c, sess: ss, text: text, cardIndex: cardIndex}
		s.mu.Lock()
		widget := ss.widget
		s.mu.Unlock()
		if widget {
			t.forwardToHuman()
			return
		}
		for _, r := range s.rules {
			if args, ok := r.match(text); ok {
				r.run(t, args)
				return
			}
		}
		t.echo("")
	}
}

func (t *turn) pcid() string { return t.conv.key.pcid }

// say sends a sendMessage webhook with a fresh messageId.
func (t *turn) say(m message) Delivery {
	typ := m.Type
	if typ == "" {
		typ = "text"
	}
	data := sendMessageData{
		PlatformConversationID: t.pcid(),
		EventType:              ultimate.EventSendMessage,
		Type:                   typ,
		Text:                   m.Text,
		Buttons:                orEmpty(m.Buttons),
		CarouselCards:          orEmpty(m.Cards),
		MessageID:              newID(),
		Confidence:             1,
	}
	return t.converse(ultimate.EventSendMessage, data)
}

// converse sends a converse webhook with data in the envelope.
func (t *turn) converse(event string, data any) Delivery {
	body, err := json.Marshal(envelope{BotID: t.agent.ID, Channel: "chat", Data: data})
	d := Delivery{AgentID: t.agent.ID, PlatformConversationID: t.pcid(), Kind: ultimate.KindConverse, Event: event, URL: t.agent.WebhookURL, Body: body}
	if err != nil {
		d.Err = err
		return d
	}
	return t.s.send(t.ctx, t.agent, d)
}

// action sends an action webhook to the actions URL.
func (t *turn) action(req ultimate.ActionRequest) Delivery {
	target := t.agent.ActionURL
	if target == "" {
		target = t.agent.WebhookURL
	}
	body, err := json.Marshal(actionBody(req))
	d := Delivery{AgentID: t.agent.ID, PlatformConversationID: t.pcid(), Kind: ultimate.KindAction, Event: req.Name, URL: target, Body: body}
	if err != nil {
		d.Err = err
		return d
	}
	return t.s.send(t.ctx, t.agent, d)
}

// forwardToHuman passes a visitor message on while a human has the
// conversation; "bye" ends the escalated session instead.
func (t *turn) forwardToHuman() {
	if strings.EqualFold(strings.TrimSpace(t.text), "bye") {
		t.converse(ultimate.EventWidgetEndSession, widgetEndData{PlatformConversationID: t.pcid(), EventType: ultimate.EventWidgetEndSession})
		t.s.mu.Lock()
		t.sess.end(EndByWidget)
		t.s.mu.Unlock()
		return
	}
	t.converse(ultimate.EventWidgetMessage, widgetMessageData{
		PlatformConversationID: t.pcid(), ConversationID: t.sess.id,
		EventType: ultimate.EventWidgetMessage, Text: t.text,
	})
}

// orEmpty turns nil into an empty slice, which marshals as [].
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// actionBody is an action webhook as the template's swagger has it:
// botId, channel and name are required, data (the inputs) is optional and
// is left out when there are none.
func actionBody(req ultimate.ActionRequest) map[string]any {
	b := map[string]any{
		"botId": req.BotID, "channel": "chat", "name": req.Name,
		"conversationId": req.ConversationID, "platformConversationId": req.PlatformConversationID,
	}
	if len(req.Data) > 0 {
		b["data"] = req.Data
	}
	return b
}
