package ultimatetest

import (
	"log/slog"
	"time"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// acceptChat applies a Chat API event to its conversation and queues the
// bot's answers. Session lifecycle is decided here, at request time, so
// expiry follows the clock of the request; what the bot says is decided on
// the conversation's worker, in order.
//
//   - startSession starts a session (restarting a live one) and queues the
//     welcome.
//   - message on a conversation without a live session starts one; the
//     first message of a session is preceded by the welcome.
//   - endSession ends a live session; nothing is sent.
//   - metadata merges parameters, starting a session silently if none is
//     live (its first message still gets the welcome).
//
// Every event but endSession counts as activity for the timeout.
func (s *Server) acceptChat(a Agent, body []byte) error {
	ev, err := decodeChat(body)
	if err != nil {
		return err
	}
	return s.inConversation(a, ev.PlatformConversationID, func(c *conversation, now time.Time) error {
		return s.applyChat(a, c, now, body, ev)
	})
}

// inConversation runs fn on a conversation under the server's lock, at the
// request's time, unless the server is closed.
func (s *Server) inConversation(a Agent, pcid string, fn func(c *conversation, now time.Time) error) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	return fn(s.conv(convKey{a.ID, pcid}), now)
}

func (s *Server) applyChat(a Agent, c *conversation, now time.Time, body []byte, ev ultimate.ChatEvent) error {
	var ss *session
	switch ev.EventType {
	case ultimate.EventStartSession:
		ss = c.start(now, s.timeout)
		ss.greeted = true
		s.enqueue(c, s.welcome(a, c, ss))
	case ultimate.EventMessage, ultimate.EventMetadata:
		if ss = c.live(now, s.timeout); ss == nil {
			ss = c.start(now, s.timeout)
		}
		ss.lastActive = now
		if ev.EventType == ultimate.EventMessage {
			if !ss.greeted {
				ss.greeted = true
				s.enqueue(c, s.welcome(a, c, ss))
			}
			s.enqueue(c, s.answer(a, c, ss, ev.Text, ev.CardIndex))
		}
	case ultimate.EventEndSession:
		if ss = c.live(now, s.timeout); ss != nil {
			ss.end(EndByEndSession)
		}
	}
	for _, m := range ev.MetaData {
		ss.params[m.Key] = Param{Value: m.Value, Sanitize: m.Sanitize}
	}
	s.record(a, ChatPath, now, body, &ev, nil)

	attrs := []any{
		slog.String("agent", a.ID), slog.String("pcid", ev.PlatformConversationID),
		slog.String("eventType", ev.EventType), slog.Int("textLength", len(ev.Text)),
		slog.Int("metaData", len(ev.MetaData)),
	}
	if ss != nil {
		attrs = append(attrs, slog.String("conversationId", ss.id))
	}
	s.log.Info("chat event accepted", attrs...)
	if ss != nil && s.log.Enabled(s.ctx, slog.LevelDebug) {
		s.log.Debug("chat event content", slog.String("pcid", ev.PlatformConversationID), slog.String("text", ev.Text), slog.Any("params", paramsLog(ss.params)))
	}
	return nil
}

// acceptWidget applies a widget API event. The contract's one sequencing
// rule is enforced: message only between escalationSuccess and
// agentDisconnect/escalationFailed. Other events are accepted in any state,
// since our side may report queue updates before the bot's widgetEscalate
// has even been answered. agentDisconnect and escalationFailed hand the
// conversation back to the bot (undocumented; the visitor must be answered
// by someone).
func (s *Server) acceptWidget(a Agent, body []byte) error {
	ev, err := decodeWidget(body)
	if err != nil {
		return err
	}
	return s.inConversation(a, ev.PlatformConversationID, func(c *conversation, now time.Time) error {
		return s.applyWidget(a, c, now, body, ev)
	})
}

func (s *Server) applyWidget(a Agent, c *conversation, now time.Time, body []byte, ev ultimate.WidgetEvent) error {
	switch ev.EventType {
	case ultimate.WidgetSuccess:
		c.agentConnected = true
	case ultimate.WidgetMessage:
		if !c.agentConnected {
			return badf("message is only allowed after escalationSuccess")
		}
	case ultimate.WidgetAgentDisconnect, ultimate.WidgetFailed:
		c.agentConnected = false
		if c.sess != nil {
			c.sess.widget = false
		}
	}
	s.record(a, WidgetPath, now, body, nil, &ev)
	s.log.Info("widget event accepted", slog.String("agent", a.ID), slog.String("pcid", ev.PlatformConversationID),
		slog.String("eventType", ev.EventType), slog.Int("textLength", len(ev.Text)))
	return nil
}
