package ultimatetest

import (
	"slices"
	"time"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Received is one Chat or widget API request the fake accepted (answered
// 200). Rejected requests are not recorded: tests assert on what the AI
// agent would have acted upon.
type Received struct {
	Path    string // ChatPath or WidgetPath
	AgentID string
	At      time.Time // by the injected clock
	// Exactly one of Chat and Widget is set, matching Path. Chat.MetaData
	// holds the items whichever spelling (metaData or metadata) was used.
	Chat   *ultimate.ChatEvent
	Widget *ultimate.WidgetEvent
	Body   []byte // as received
}

// Delivery is one webhook the fake sent and how our side answered it.
type Delivery struct {
	AgentID string
	// PlatformConversationID is the conversation the webhook belongs to,
	// even when the body leaves it out (isTeamOnline does).
	PlatformConversationID string
	Kind                   ultimate.Kind // KindConverse or KindAction
	// Event is the converse eventType, or the action name.
	Event string
	URL   string // as configured; auth query parameters are not included
	Body  []byte
	// Status, Response and Err describe the last attempt: our status code
	// and body, or the transport error (Status 0).
	Status   int
	Response []byte
	Err      error
	Attempts []Attempt
}

// Attempt is one try at sending a webhook.
type Attempt struct {
	Status int
	Err    error
}

// OK reports whether our side answered 2xx.
func (d Delivery) OK() bool { return d.Err == nil && d.Status >= 200 && d.Status < 300 }

// Received returns every accepted request, in the order accepted. The
// result is a deep copy: tests may modify it freely.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.received)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
		if c := out[i].Chat; c != nil {
			cp := *c
			cp.MetaData = slices.Clone(c.MetaData)
			if c.CardIndex != nil {
				n := *c.CardIndex
				cp.CardIndex = &n
			}
			out[i].Chat = &cp
		}
		if w := out[i].Widget; w != nil {
			cp := *w
			out[i].Widget = &cp
		}
	}
	return out
}

// Deliveries returns every webhook sent, in the order each finished (within
// one conversation that is the order sent). Body and Response are shared:
// do not modify them.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}
