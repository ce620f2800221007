package sunshinetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Event is one webhook event: the spec's eventSubSchema with its payload.
type Event struct {
	ID        string         `json:"id"`
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

// Postback is the visitor clicking a postback button.
func (s *Server) Postback(conv, userID, payload string) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureConversation(conv, userID)
	return s.event("conversation:postback", map[string]any{
		"conversation": conversationJSON(c), "postback": map[string]any{"payload": payload},
		"user": s.userRef(userID), "source": s.webSource(),
	})
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
