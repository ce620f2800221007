package localstack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

// Desk plays the demo tenant's side of the generic source: it receives the
// signed callbacks (verifying them like a tenant should), keeps an inbox,
// answers team checks and built-in actions, and serves a tiny order API for
// the demo http action.
type Desk struct {
	Secret stdwebhook.Secret // the account's callbackSecret
	Online bool              // team.status answer
	Print  func(format string, args ...any)
	Now    func() time.Time

	mu    sync.Mutex
	inbox []InboxEntry
	seen  map[string]bool
}

// InboxEntry is one callback the desk accepted.
type InboxEntry struct {
	WebhookID string          `json:"webhookId"`
	Type      string          `json:"type"`
	Received  time.Time       `json:"received"`
	Data      json.RawMessage `json:"data"`
}

// Inbox returns the callbacks received so far, optionally for one
// conversation.
func (d *Desk) Inbox(conversationID string) []InboxEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []InboxEntry{}
	for _, e := range d.inbox {
		var ref generic.ConversationRef
		_ = json.Unmarshal(e.Data, &ref)
		if conversationID == "" || ref.ConversationID == conversationID {
			out = append(out, e)
		}
	}
	return out
}

// ServeHTTP serves /demo/callback, /demo/inbox and /demo/orders/{id}.
func (d *Desk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/demo/callback" && r.Method == http.MethodPost:
		d.callback(w, r)
	case r.URL.Path == "/demo/inbox" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, d.Inbox(r.URL.Query().Get("conversation")))
	case strings.HasPrefix(r.URL.Path, "/demo/orders/") && r.Method == http.MethodGet:
		d.order(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "route_not_found", "message": "demo desk: no such path"}})
	}
}

func (d *Desk) callback(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read body"})
		return
	}
	id := r.Header.Get(stdwebhook.HeaderID)
	if err := stdwebhook.Verify([]stdwebhook.Secret{d.Secret}, id, r.Header.Get(stdwebhook.HeaderTimestamp), r.Header.Get(stdwebhook.HeaderSignature), body, d.Now(), 0); err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad signature: " + err.Error()})
		return
	}
	var ev generic.Outbound
	var data json.RawMessage
	ev.Data = &data
	if err := json.Unmarshal(body, &ev); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "not an event"})
		return
	}
	d.mu.Lock()
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	dup := d.seen[id]
	d.seen[id] = true
	if !dup {
		d.inbox = append(d.inbox, InboxEntry{WebhookID: id, Type: ev.Type, Received: d.Now(), Data: data})
	}
	d.mu.Unlock()
	if !dup {
		d.show(ev.Type, data)
	}
	switch ev.Type {
	case generic.OutTeamStatus:
		writeJSON(w, http.StatusOK, map[string]bool{"isOnline": d.Online})
	case generic.OutAction:
		writeJSON(w, http.StatusOK, d.action(data))
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "accepted"})
	}
}

func (d *Desk) action(data json.RawMessage) map[string]any {
	var a generic.ActionData
	_ = json.Unmarshal(data, &a)
	switch a.Builtin {
	case "getUserInfo":
		return map[string]any{"results": []map[string]any{
			{"key": "userName", "value": "Ann Example", "sanitize": true},
			{"key": "userTier", "value": "gold"},
		}}
	case "getAccountInfo":
		return map[string]any{"results": []map[string]any{{"key": "accountPlan", "value": "enterprise"}}}
	default:
		return map[string]any{"results": []any{}}
	}
}

func (d *Desk) order(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/demo/orders/")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing bearer token"})
		return
	}
	if id == "" || id == "404" {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such order"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "status": "shipped",
		"delivery": map[string]string{"eta": "2026-12-01", "carrier": "DemoPost"},
		"customer": map[string]string{"email": "ann@example.com"},
	})
}

// show prints a callback for a person watching `make run`.
func (d *Desk) show(typ string, data json.RawMessage) {
	if d.Print == nil {
		return
	}
	var m struct {
		ConversationID string `json:"conversationId"`
		Message        struct {
			Type    string `json:"type"`
			Text    string `json:"text"`
			Buttons []struct {
				Text string `json:"text"`
				Type string `json:"type"`
				URL  string `json:"url"`
			} `json:"buttons"`
			CarouselCards []struct {
				Title string `json:"title"`
			} `json:"carouselCards"`
		} `json:"message"`
		EscalateTo string `json:"escalateTo"`
		Name       string `json:"name"`
		Text       string `json:"text"`
	}
	_ = json.Unmarshal(data, &m)
	switch typ {
	case generic.OutMessage:
		line := m.Message.Text
		for i, b := range m.Message.Buttons {
			if b.URL != "" {
				line += fmt.Sprintf(" [%d:%s → %s]", i+1, b.Text, b.URL)
			} else {
				line += fmt.Sprintf(" [%d:%s]", i+1, b.Text)
			}
		}
		for i, c := range m.Message.CarouselCards {
			line += fmt.Sprintf(" {card %d: %s}", i, c.Title)
		}
		d.Print("[demo desk] %s ← AI agent: %s", m.ConversationID, strings.TrimSpace(line))
	case generic.OutEscalation:
		d.Print("[demo desk] %s: handover requested (target %q) — accepted; a human has it now", m.ConversationID, m.EscalateTo)
	case generic.OutAction:
		d.Print("[demo desk] %s: built-in action %s", m.ConversationID, m.Name)
	case generic.OutTeamStatus:
		d.Print("[demo desk] team status asked; answering isOnline=%v", d.Online)
	default:
		d.Print("[demo desk] %s: %s %s", m.ConversationID, typ, m.Text)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
