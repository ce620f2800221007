package sunshinetest

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"time"
)

// User is a SunCo user; profile fields reach webhooks only with
// Options.IncludeFullUser, as on SunCo.
type User struct {
	ID            string
	ExternalID    string
	ZendeskID     string
	BrandID       string
	Authenticated bool
	GivenName     string
	Surname       string
	Email         string
	Locale        string
}

// Message is a stored message: author and content as posted.
type Message struct {
	ID       string
	Received time.Time
	Author   map[string]any
	Content  map[string]any
}

// Conversation is a stored conversation.
type Conversation struct {
	ID       string
	UserID   string
	Metadata map[string]any
	// Active is the switchboard integration in control; nil when released.
	Active   *SwitchboardIntegration
	Messages []Message
	// PassMetadata is the metadata of the last passControl.
	PassMetadata map[string]any
	Created      time.Time
}

func (c *Conversation) clone() Conversation {
	out := *c
	out.Metadata = maps.Clone(c.Metadata)
	out.PassMetadata = maps.Clone(c.PassMetadata)
	out.Messages = slices.Clone(c.Messages)
	if c.Active != nil {
		a := *c.Active
		out.Active = &a
	}
	return out
}

// NewID returns a random 24-hex-digit ID, the shape of SunCo's IDs.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AddUser stores (or replaces) a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := u
	s.users[u.ID] = &cp
}

// AddConversation creates a personal conversation for userID with the bot
// in control, unless it exists; it returns a copy.
func (s *Server) AddConversation(id, userID string) Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ensureConversation(id, userID).clone()
}

func (s *Server) ensureConversation(id, userID string) *Conversation {
	if c, ok := s.convs[id]; ok {
		return c
	}
	if _, ok := s.users[userID]; !ok && userID != "" {
		s.users[userID] = &User{ID: userID}
	}
	bot := s.switchboard[0]
	c := &Conversation{ID: id, UserID: userID, Metadata: map[string]any{}, Active: &bot, Created: s.opts.Now()}
	s.convs[id] = c
	return c
}

// Conversation returns a copy of a stored conversation.
func (s *Server) Conversation(id string) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[id]
	if !ok {
		return Conversation{}, false
	}
	return c.clone(), true
}

// SetMetadata replaces a conversation's metadata.
func (s *Server) SetMetadata(conv string, md map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.convs[conv]; ok {
		c.Metadata = maps.Clone(md)
	}
}

// AddHistory appends a message to a conversation's history without a
// webhook, e.g. a human agent's message (author type business, subtype
// agent) from before the bot took over again.
func (s *Server) AddHistory(conv string, author, content map[string]any) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendMessage(s.ensureConversation(conv, ""), author, content)
}

func (s *Server) appendMessage(c *Conversation, author, content map[string]any) Message {
	s.seq++
	// Strictly increasing times keep the history's order even when the
	// clock is frozen in a test.
	m := Message{ID: NewID(), Received: s.opts.Now().Add(time.Duration(s.seq) * time.Millisecond), Author: author, Content: content}
	c.Messages = append(c.Messages, m)
	return m
}

// BusinessMessages returns the contents of the business messages of a
// conversation, oldest first.
func (s *Server) BusinessMessages(conv string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[conv]
	if !ok {
		return nil
	}
	var out []map[string]any
	for _, m := range c.Messages {
		if m.Author["type"] == "business" {
			out = append(out, m.Content)
		}
	}
	return out
}

func (s *Server) conv(params map[string]string) (*Conversation, error) {
	c, ok := s.convs[params["conv"]]
	if !ok {
		return nil, errorf(http.StatusNotFound, "conversation_not_found", "Conversation not found")
	}
	return c, nil
}

const timeFormat = "2006-01-02T15:04:05.000Z"

func conversationJSON(c *Conversation) map[string]any {
	out := map[string]any{
		"id": c.ID, "type": "personal", "isDefault": false,
		"createdAt": c.Created.UTC().Format(timeFormat), "lastUpdatedAt": c.Created.UTC().Format(timeFormat),
	}
	if len(c.Metadata) > 0 {
		out["metadata"] = maps.Clone(c.Metadata)
	}
	if c.Active != nil {
		out["activeSwitchboardIntegration"] = *c.Active
	}
	return out
}

func messageJSON(m Message) map[string]any {
	return map[string]any{"id": m.ID, "received": m.Received.UTC().Format(timeFormat), "author": m.Author, "content": m.Content}
}

func userJSON(u *User, full bool) map[string]any {
	out := map[string]any{"id": u.ID, "authenticated": u.Authenticated}
	if u.ExternalID != "" {
		out["externalId"] = u.ExternalID
	}
	if u.ZendeskID != "" {
		out["zendeskId"] = u.ZendeskID
	}
	if u.BrandID != "" {
		out["brandId"] = u.BrandID
	}
	if full {
		p := map[string]any{}
		for k, v := range map[string]string{"givenName": u.GivenName, "surname": u.Surname, "email": u.Email, "locale": u.Locale} {
			if v != "" {
				p[k] = v
			}
		}
		out["profile"] = p
		out["metadata"] = map[string]any{}
		out["identities"] = []any{}
	}
	return out
}
