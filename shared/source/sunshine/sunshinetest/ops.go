package sunshinetest

import (
	"maps"
	"net/http"
)

// The handlers below run with s.mu held.

func (s *Server) getConversation(params map[string]string, _ map[string]any) (int, any, error) {
	c, err := s.conv(params)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"conversation": conversationJSON(c)}, nil
}

// updateConversation replaces metadata when given (SunCo does not document
// merge or replace; replacing is the stricter choice for callers).
func (s *Server) updateConversation(params map[string]string, body map[string]any) (int, any, error) {
	c, err := s.conv(params)
	if err != nil {
		return 0, nil, err
	}
	for k := range body {
		switch k {
		case "metadata", "displayName", "description", "iconUrl":
		default:
			return 0, nil, badRequest("Unknown property %s", k)
		}
	}
	if raw, ok := body["metadata"]; ok {
		md, err := metadata("metadata", raw)
		if err != nil {
			return 0, nil, err
		}
		c.Metadata = md
	}
	return http.StatusOK, map[string]any{"conversation": conversationJSON(c)}, nil
}

func (s *Server) postMessage(params map[string]string, body map[string]any) (int, any, error) {
	c, err := s.conv(params)
	if err != nil {
		return 0, nil, err
	}
	author, err := s.checkAuthor(body["author"])
	if err != nil {
		return 0, nil, err
	}
	content, err := checkContent(body["content"], s.opts.MaxActions)
	if err != nil {
		return 0, nil, err
	}
	if raw, ok := body["metadata"]; ok {
		if _, err := metadata("metadata", raw); err != nil {
			return 0, nil, err
		}
	}
	if len(c.Messages) >= 30000 {
		return 0, nil, errorf(http.StatusLocked, "locked", "Message limit of 30000 per conversation reached.")
	}
	m := s.appendMessage(c, author, content)
	return http.StatusCreated, map[string]any{"messages": []any{messageJSON(m)}}, nil
}

func (s *Server) listMessages(params map[string]string, _ map[string]any) (int, any, error) {
	c, err := s.conv(params)
	if err != nil {
		return 0, nil, err
	}
	// The newest page of at most 100, oldest first, as SunCo pages backwards.
	msgs := c.Messages
	if len(msgs) > 100 {
		msgs = msgs[len(msgs)-100:]
	}
	out := make([]any, len(msgs))
	for i, m := range msgs {
		out[i] = messageJSON(m)
	}
	return http.StatusOK, map[string]any{"messages": out, "meta": map[string]any{"hasMore": len(c.Messages) > 100}}, nil
}

func (s *Server) postActivity(params map[string]string, body map[string]any) (int, any, error) {
	if _, err := s.conv(params); err != nil {
		return 0, nil, err
	}
	author, ok := body["author"].(map[string]any)
	if !ok {
		return 0, nil, badRequest("author is required")
	}
	typ, _ := body["type"].(string)
	switch author["type"] {
	case "business":
		if typ != "typing:start" && typ != "typing:stop" && typ != "conversation:read" {
			return 0, nil, badRequest("Invalid activity type %q", typ)
		}
	case "user":
		if typ != "conversation:read" {
			return 0, nil, badRequest("Only conversation:read is supported for user authors")
		}
		if _, ok := s.users[str(author["userId"])]; !ok {
			return 0, nil, errorf(http.StatusNotFound, "user_not_found", "User not found")
		}
	default:
		return 0, nil, badRequest("author.type must be business or user")
	}
	return http.StatusOK, map[string]any{}, nil
}

// passControl resolves the target by id, then name, then integrationType,
// or the keyword next, and makes it active.
func (s *Server) passControl(params map[string]string, body map[string]any) (int, any, error) {
	c, err := s.conv(params)
	if err != nil {
		return 0, nil, err
	}
	target, _ := body["switchboardIntegration"].(string)
	if target == "" {
		return 0, nil, badRequest("switchboardIntegration is required")
	}
	var md map[string]any
	if raw, ok := body["metadata"]; ok {
		if md, err = metadata("metadata", raw); err != nil {
			return 0, nil, err
		}
	}
	to, err := s.resolve(c, target)
	if err != nil {
		return 0, nil, err
	}
	c.Active = &to
	c.PassMetadata = maps.Clone(md)
	return http.StatusOK, map[string]any{}, nil
}

func (s *Server) resolve(c *Conversation, target string) (SwitchboardIntegration, error) {
	if target == "next" {
		for i, si := range s.switchboard {
			if c.Active != nil && si.ID == c.Active.ID {
				return s.switchboard[(i+1)%len(s.switchboard)], nil
			}
		}
		return s.switchboard[0], nil
	}
	for _, match := range []func(SwitchboardIntegration) bool{
		func(si SwitchboardIntegration) bool { return si.ID == target },
		func(si SwitchboardIntegration) bool { return si.Name == target },
		func(si SwitchboardIntegration) bool { return si.IntegrationType == target },
	} {
		var found []SwitchboardIntegration
		for _, si := range s.switchboard {
			if match(si) {
				found = append(found, si)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return SwitchboardIntegration{}, badRequest("Ambiguous switchboard integration %s", target)
		}
	}
	return SwitchboardIntegration{}, badRequest("Switchboard integration %s not found", target)
}

func (s *Server) listParticipants(params map[string]string, _ map[string]any) (int, any, error) {
	c, err := s.conv(params)
	if err != nil {
		return 0, nil, err
	}
	var ps []any
	if c.UserID != "" {
		ps = append(ps, map[string]any{"id": "p_" + c.UserID, "userId": c.UserID, "unreadCount": 0, "clientAssociations": []any{}})
	}
	return http.StatusOK, map[string]any{"participants": ps, "meta": map[string]any{"hasMore": false}}, nil
}

func (s *Server) getUser(params map[string]string, _ map[string]any) (int, any, error) {
	id := params["user"]
	u, ok := s.users[id]
	if !ok {
		for _, cand := range s.users {
			if cand.ExternalID != "" && cand.ExternalID == id {
				u, ok = cand, true
				break
			}
		}
	}
	if !ok {
		return 0, nil, errorf(http.StatusNotFound, "user_not_found", "User not found")
	}
	out := userJSON(u, true)
	out["signedUpAt"] = s.opts.Now().UTC().Format(timeFormat)
	return http.StatusOK, map[string]any{"user": out}, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
