package ultimatetest

import (
	"log/slog"
	"maps"
	"slices"
	"time"
)

// Session end reasons, the values of Session.EndReason.
const (
	EndByEndSession = "endSession"       // the Chat API endSession event
	EndByTimeout    = "timeout"          // SessionTimeout of inactivity
	EndByRestart    = "restarted"        // startSession on a live session
	EndByWidget     = "widgetEndSession" // the visitor said bye to a human
)

// Param is a session parameter. A sanitized value is kept (actions and
// tests may need it) but prints and logs as "***".
type Param struct {
	Value    string
	Sanitize bool
}

// String masks sanitized values, so a Param cannot leak through fmt.
func (p Param) String() string {
	if p.Sanitize {
		return "***"
	}
	return p.Value
}

// LogValue masks sanitized values in every log line.
func (p Param) LogValue() slog.Value { return slog.StringValue(p.String()) }

// Session is a snapshot of one AI agent session.
type Session struct {
	AgentID                string
	PlatformConversationID string
	// ConversationID is the AI agent's internal ID for this session, sent
	// as conversationId in action and widgetMessage webhooks. A restarted
	// or expired session gets a new one.
	ConversationID string
	// Params accumulates metaData and action results. A new session starts
	// empty: whether the real agent carries parameters over is not
	// documented, and starting clean makes a bridge that relies on it fail.
	Params     map[string]Param
	Started    time.Time
	LastActive time.Time // last Chat API event
	Ended      bool
	EndReason  string
	// WidgetEscalated is set while the bot has handed the conversation to
	// the widget (from sending widgetEscalate, unless our side rejects it):
	// visitor messages are then forwarded as widgetMessage webhooks.
	WidgetEscalated bool
	// AgentConnected is set by escalationSuccess on the widget API and
	// cleared by agentDisconnect or escalationFailed.
	AgentConnected bool
}

// convKey identifies a conversation: the same platformConversationId under
// two bots is two conversations.
type convKey struct{ agent, pcid string }

// conversation is everything the fake keeps per conversation. Guarded by
// Server.mu.
type conversation struct {
	key            convKey
	sess           *session // the latest session, live or ended; nil before the first
	agentConnected bool
	jobs           []job
	running        bool
}

// session is one run of the bot's dialogue on a conversation. Guarded by
// Server.mu.
type session struct {
	id         string
	params     map[string]Param
	started    time.Time
	lastActive time.Time
	ended      bool
	endReason  string
	greeted    bool // the welcome was queued
	widget     bool
}

// conv returns the conversation for k, creating it. s.mu must be held.
func (s *Server) conv(k convKey) *conversation {
	c := s.convs[k]
	if c == nil {
		c = &conversation{key: k}
		s.convs[k] = c
	}
	return c
}

// live returns c's live session, first ending it if it has been inactive
// for timeout. s.mu must be held.
func (c *conversation) live(now time.Time, timeout time.Duration) *session {
	ss := c.sess
	if ss == nil || ss.ended {
		return nil
	}
	if ss.expired(now, timeout) {
		ss.end(EndByTimeout)
		return nil
	}
	return ss
}

// start begins a new session on c, ending a live one as restarted. s.mu
// must be held.
func (c *conversation) start(now time.Time, timeout time.Duration) *session {
	if old := c.live(now, timeout); old != nil {
		old.end(EndByRestart)
	}
	c.sess = &session{id: newID(), params: map[string]Param{}, started: now, lastActive: now}
	return c.sess
}

func (ss *session) expired(now time.Time, timeout time.Duration) bool {
	return !ss.ended && now.Sub(ss.lastActive) >= timeout
}

func (ss *session) end(reason string) {
	ss.ended, ss.endReason, ss.widget = true, reason, false
}

// Session returns the latest session of the conversation with this
// platformConversationId, live or ended. If several agents have one, the
// most recently active is returned.
func (s *Server) Session(pcid string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *conversation
	for k, c := range s.convs {
		if k.pcid != pcid || c.sess == nil {
			continue
		}
		if best == nil || c.sess.lastActive.After(best.sess.lastActive) {
			best = c
		}
	}
	if best == nil {
		return Session{}, false
	}
	ss := best.sess
	out := Session{
		AgentID:                best.key.agent,
		PlatformConversationID: pcid,
		ConversationID:         ss.id,
		Params:                 maps.Clone(ss.params),
		Started:                ss.started,
		LastActive:             ss.lastActive,
		Ended:                  ss.ended,
		EndReason:              ss.endReason,
		WidgetEscalated:        ss.widget,
		AgentConnected:         best.agentConnected,
	}
	// Expiry is noticed lazily; report it without changing state.
	if ss.expired(s.now(), s.timeout) {
		out.Ended, out.EndReason, out.WidgetEscalated = true, EndByTimeout, false
	}
	return out, true
}

// paramsLog renders params for a log line, sanitized values masked.
func paramsLog(params map[string]Param) slog.Value {
	attrs := make([]slog.Attr, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		attrs = append(attrs, slog.Any(k, params[k]))
	}
	return slog.GroupValue(attrs...)
}
