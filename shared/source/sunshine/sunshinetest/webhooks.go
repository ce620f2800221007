package sunshinetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Event is one webhook event: the spec's eventSubSchema with its payload.
type Event struct {
	// ID is optional in the spec; WithoutID makes an event without one.
	ID        string         `json:"id,omitempty"`
	Type      string         `json:"type"`
	CreatedAt string         `json:"createdAt"`
	Payload   map[string]any `json:"payload"`
}

// Envelope is a webhook delivery's body (the spec's x-webhooks schema).
type Envelope struct {
	App     map[string]string `json:"app"`
	Webhook map[string]string `json:"webhook"`
	Events  []Event           `json:"events"`
}

// webhookID is the fake custom integration's webhook.
const webhookID = "5f4eaef81e3dcc117c7ba48a"

// Envelope wraps events as one delivery of this app's webhook.
func (s *Server) Envelope(events ...Event) Envelope {
	return Envelope{App: map[string]string{"id": s.opts.AppID}, Webhook: map[string]string{"id": webhookID, "version": "v2"}, Events: events}
}

// Deliver POSTs events to target as one webhook delivery, with the webhook
// secret in X-API-Key (none when secret is ""), and returns the status.
// SunCo waits 20 s for an answer.
func (s *Server) Deliver(ctx context.Context, target, secret string, events ...Event) (int, error) {
	body, err := json.Marshal(s.Envelope(events...))
	if err != nil {
		return 0, fmt.Errorf("sunshinetest: encode webhook: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("sunshinetest: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sunshinetest-webhooks")
	if secret != "" {
		req.Header.Set("X-API-Key", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sunshinetest: deliver webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// event stamps a new event; callers hold s.mu.
func (s *Server) event(typ string, payload map[string]any) Event {
	return Event{ID: NewID(), Type: typ, CreatedAt: s.opts.Now().UTC().Format(timeFormat), Payload: payload}
}

func (s *Server) webSource() map[string]any {
	return map[string]any{"type": "web", "integrationId": "5ecff63ffc3ab25f4561c8a0"}
}

func (s *Server) userRef(id string) map[string]any {
	u, ok := s.users[id]
	if !ok {
		u = &User{ID: id}
	}
	return userJSON(u, s.opts.IncludeFullUser)
}

// ConversationCreated creates a conversation (bot in control) and returns
// its conversation:create event with the given creationReason.
func (s *Server) ConversationCreated(conv, userID, reason string) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureConversation(conv, userID)
	return s.event("conversation:create", map[string]any{
		"conversation": conversationJSON(c), "creationReason": reason,
		"user": s.userRef(userID), "source": s.webSource(),
	})
}

// UserText records a visitor's text message and returns its event.
func (s *Server) UserText(conv, userID, text string) Event {
	return s.userMessage(conv, userID, map[string]any{"type": "text", "text": text})
}

// UserReply is the visitor tapping a reply button: its text and payload.
func (s *Server) UserReply(conv, userID, text, payload string) Event {
	return s.userMessage(conv, userID, map[string]any{"type": "text", "text": text, "payload": payload})
}

// UserImage is the visitor sending an image.
func (s *Server) UserImage(conv, userID, mediaURL string) Event {
	return s.userMessage(conv, userID, map[string]any{"type": "image", "mediaUrl": mediaURL, "mediaType": "image/jpeg"})
}

// UserContent is the visitor sending any message content, checked against
// the spec's schemas for what a user can send (see CheckUserContent), so a
// test cannot deliver what SunCo never would.
func (s *Server) UserContent(conv, userID string, content map[string]any) (Event, error) {
	if err := CheckUserContent(content); err != nil {
		return Event{}, err
	}
	return s.userMessage(conv, userID, content), nil
}

// UserForm is the visitor submitting a form: a formResponse with fields
// (each {type, name, label} and the answer in text, email or select) and the
// textFallback SunCo computes ("label: value" lines). withFallback false
// leaves that read-only field out, as the spec allows.
func (s *Server) UserForm(conv, userID string, fields []map[string]any, withFallback bool) (Event, error) {
	list := make([]any, len(fields))
	var lines []string
	for i, f := range fields {
		list[i] = f
		lines = append(lines, fmt.Sprintf("%v: %v", f["label"], fieldAnswer(f)))
	}
	content := map[string]any{"type": "formResponse", "fields": list}
	if withFallback {
		content["textFallback"] = strings.Join(lines, "\n")
	}
	return s.UserContent(conv, userID, content)
}

func fieldAnswer(f map[string]any) string {
	switch f["type"] {
	case "email":
		return str(f["email"])
	case "select":
		var labels []string
		opts, _ := f["select"].([]any)
		for _, o := range opts {
			if m, ok := o.(map[string]any); ok {
				labels = append(labels, str(m["label"]))
			}
		}
		return strings.Join(labels, ", ")
	default:
		return str(f["text"])
	}
}

// WithoutID returns ev without its ID, which the spec makes optional.
func WithoutID(ev Event) Event {
	ev.ID = ""
	return ev
}

func (s *Server) userMessage(conv, userID string, content map[string]any) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureConversation(conv, userID)
	author := map[string]any{"type": "user", "userId": userID}
	m := s.appendMessage(c, author, content)
	wire := messageJSON(m)
	wire["author"] = map[string]any{"type": "user", "userId": userID, "displayName": "Visitor", "user": s.userRef(userID)}
	wire["source"] = s.webSource()
	return s.event("conversation:message", map[string]any{"conversation": conversationJSON(c), "message": wire})
}

// BusinessText is the echo SunCo sends for a business message (a bot reply
// or a human agent's), which the bridge must ignore.
func (s *Server) BusinessText(conv, text string) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureConversation(conv, "")
	m := s.appendMessage(c, map[string]any{"type": "business", "displayName": "Agent"}, map[string]any{"type": "text", "text": text})
	wire := messageJSON(m)
	wire["source"] = map[string]any{"type": "api"}
	return s.event("conversation:message", map[string]any{"conversation": conversationJSON(c), "message": wire})
}

// Postback is the visitor clicking a postback button with this payload;
// "" leaves the payload out (postbackWebhook.payload is optional).
func (s *Server) Postback(conv, userID, payload string) Event {
	pb := map[string]any{}
	if payload != "" {
		pb["payload"] = payload
	}
	return s.postback(conv, userID, pb)
}

func (s *Server) postback(conv, userID string, pb map[string]any) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureConversation(conv, userID)
	return s.event("conversation:postback", map[string]any{
		"conversation": conversationJSON(c), "postback": pb,
		"user": s.userRef(userID), "source": s.webSource(),
	})
}

// Click is the visitor tapping the button labelled text on the latest
// business message that has one, as SunCo reports it: a reply button is a
// user text message with the button's text and payload; a postback button
// (on a message or a carousel item) is conversation:postback with the
// action's payload and metadata. withoutPayload drops the postback's
// payload, the variant the spec allows.
func (s *Server) Click(conv, userID, text string, withoutPayload bool) (Event, error) {
	s.mu.Lock()
	c, ok := s.convs[conv]
	var found map[string]any
	if ok {
		for i := len(c.Messages) - 1; i >= 0 && found == nil; i-- {
			if c.Messages[i].Author["type"] == "business" {
				found = findAction(c.Messages[i].Content, text)
			}
		}
	}
	s.mu.Unlock()
	if found == nil {
		return Event{}, fmt.Errorf("sunshinetest: no button %q in conversation %s", text, conv)
	}
	switch found["type"] {
	case "reply":
		return s.userMessage(conv, userID, map[string]any{"type": "text", "text": str(found["text"]), "payload": str(found["payload"])}), nil
	case "postback":
		pb := map[string]any{}
		if !withoutPayload {
			pb["payload"] = found["payload"]
		}
		if md, ok := found["metadata"]; ok {
			pb["metadata"] = md
		}
		return s.postback(conv, userID, pb), nil
	default:
		return Event{}, fmt.Errorf("sunshinetest: button %q is a %v action, which sends nothing back", text, found["type"])
	}
}

// findAction finds the action labelled text in a message's content.
func findAction(content map[string]any, text string) map[string]any {
	lists := []any{content["actions"]}
	if items, ok := content["items"].([]any); ok {
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				lists = append(lists, m["actions"])
			}
		}
	}
	for _, l := range lists {
		actions, _ := l.([]any)
		for _, a := range actions {
			if m, ok := a.(map[string]any); ok && str(m["text"]) == text {
				return m
			}
		}
	}
	return nil
}

// PassControl moves control (e.g. the Agent Workspace handing the
// conversation back with target "crmbridge" and reason "ticketClosed") and
// returns the switchboard:passControl event.
func (s *Server) PassControl(conv, target, reason string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[conv]
	if !ok {
		return Event{}, fmt.Errorf("sunshinetest: no conversation %s", conv)
	}
	to, err := s.resolve(c, target)
	if err != nil {
		return Event{}, err
	}
	c.Active = &to
	p := map[string]any{"conversation": conversationJSON(c)}
	if reason != "" {
		p["reason"] = reason
	}
	return s.event("switchboard:passControl", p), nil
}

// ReleaseControl leaves the conversation with nobody in control.
func (s *Server) ReleaseControl(conv, reason string) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureConversation(conv, "")
	c.Active = nil
	p := map[string]any{"conversation": conversationJSON(c)}
	if reason != "" {
		p["reason"] = reason
	}
	return s.event("switchboard:releaseControl", p)
}

// PassControlFailure is SunCo reporting a failed handover.
func (s *Server) PassControlFailure(conv, code, message string) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureConversation(conv, "")
	return s.event("switchboard:passControl:failure", map[string]any{
		"conversation": conversationJSON(c), "error": map[string]any{"code": code, "message": message},
	})
}
