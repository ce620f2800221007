package sunshinetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ControlPrefix starts the fake's own routes, which let a person (or the
// local stack's demo) act as a Zendesk messaging visitor and as the Agent
// Workspace. They are unauthenticated: the fake only ever listens on
// loopback.
//
//	POST /_fake/conversations/{id}/visitor   {"text":"...", "payload":"...", "userId":"..."}
//	POST /_fake/conversations/{id}/postback  {"payload":"...", "userId":"..."}
//	POST /_fake/conversations/{id}/click     {"text":"<button label>", "userId":"..."}
//	POST /_fake/conversations/{id}/handBack  {"reason":"ticketClosed"}
//	GET  /_fake/conversations/{id}           the conversation, its control and messages
//
// The POSTs deliver the webhook to Options.WebhookTarget with
// Options.WebhookSecret; a visitor's first message in a new conversation
// is preceded by conversation:create in the same delivery.
const ControlPrefix = "/_fake/"

type controlBody struct {
	Text    string `json:"text"`
	Payload string `json:"payload"`
	UserID  string `json:"userId"`
	Reason  string `json:"reason"`
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, ControlPrefix), "/"), "/")
	if len(parts) < 2 || parts[0] != "conversations" || parts[1] == "" {
		controlAnswer(w, http.StatusNotFound, map[string]string{"error": "unknown fake control route"})
		return
	}
	conv, action := parts[1], strings.Join(parts[2:], "/")
	if r.Method == http.MethodGet && action == "" {
		c, ok := s.Conversation(conv)
		if !ok {
			controlAnswer(w, http.StatusNotFound, map[string]string{"error": "no such conversation"})
			return
		}
		controlAnswer(w, http.StatusOK, conversationView(c))
		return
	}
	if r.Method != http.MethodPost {
		controlAnswer(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
		return
	}
	var in controlBody
	if b, _ := io.ReadAll(io.LimitReader(r.Body, maxBody)); len(b) > 0 {
		if err := json.Unmarshal(b, &in); err != nil {
			controlAnswer(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON object"})
			return
		}
	}
	if in.UserID == "" {
		in.UserID = "user-" + conv
	}
	if s.opts.WebhookTarget == "" {
		controlAnswer(w, http.StatusConflict, map[string]string{"error": "Options.WebhookTarget is not set; nowhere to deliver"})
		return
	}
	events, err := s.controlEvents(conv, action, in)
	if err != nil {
		controlAnswer(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	status, err := s.Deliver(r.Context(), s.opts.WebhookTarget, s.opts.WebhookSecret, events...)
	if err != nil {
		controlAnswer(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.Type + " " + e.ID
	}
	controlAnswer(w, http.StatusOK, map[string]any{"delivered": ids, "webhookStatus": status})
}

func (s *Server) controlEvents(conv, action string, in controlBody) ([]Event, error) {
	_, exists := s.Conversation(conv)
	var out []Event
	if !exists && (action == "visitor" || action == "postback") {
		out = append(out, s.ConversationCreated(conv, in.UserID, "message"))
	}
	switch action {
	case "visitor":
		switch {
		case in.Payload != "":
			out = append(out, s.UserReply(conv, in.UserID, in.Text, in.Payload))
		case strings.TrimSpace(in.Text) != "":
			out = append(out, s.UserText(conv, in.UserID, in.Text))
		default:
			return nil, fmt.Errorf("visitor needs text (and payload for a reply button)")
		}
	case "postback":
		if in.Payload == "" {
			return nil, fmt.Errorf("postback needs payload")
		}
		out = append(out, s.Postback(conv, in.UserID, in.Payload))
	case "click":
		ev, err := s.Click(conv, in.UserID, in.Text, false)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	case "handBack":
		if !exists {
			return nil, fmt.Errorf("no such conversation")
		}
		reason := in.Reason
		if reason == "" {
			reason = "ticketClosed"
		}
		ev, err := s.PassControl(conv, BotSwitchboardName, reason)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	default:
		return nil, fmt.Errorf("unknown action %q (visitor, postback, click, handBack)", action)
	}
	return out, nil
}

func conversationView(c Conversation) map[string]any {
	msgs := make([]any, len(c.Messages))
	for i, m := range c.Messages {
		msgs[i] = messageJSON(m)
	}
	out := map[string]any{"id": c.ID, "userId": c.UserID, "metadata": c.Metadata, "messages": msgs}
	if c.Active != nil {
		out["activeSwitchboardIntegration"] = *c.Active
	}
	if c.PassMetadata != nil {
		out["lastPassControlMetadata"] = c.PassMetadata
	}
	return out
}

func controlAnswer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
