package ultimatetest

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// The paths the fake serves, relative to its base URL.
const (
	ChatPath   = "/converse/chat"
	WidgetPath = "/agent/converse/send-message-to-widget"
)

// maxBody bounds a request body; the real limit is not documented.
const maxBody = 1 << 20

// Handler returns the fake's HTTP handler, for httptest.NewServer or any
// mux.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// serveHTTP checks, in order: path (404), method (405), botid header (400
// missing, 404 "Bot not found"), Authorization (401), Content-Type and body
// (400). The order matters to tests: a request with several faults gets the
// first one's status.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != ChatPath && r.URL.Path != WidgetPath {
		reply(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	agent, status, msg := s.authorize(r)
	if status != http.StatusOK {
		s.log.Info("request rejected", slog.String("path", r.URL.Path), slog.Int("status", status), slog.String("reason", msg))
		reply(w, status, msg)
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		s.reject(w, agent, r.URL.Path, badRequest("Content-Type must be application/json"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, "Body too large")
			return
		}
		s.reject(w, agent, r.URL.Path, badRequest("body could not be read"))
		return
	}
	if r.URL.Path == ChatPath {
		err = s.acceptChat(agent, body)
	} else {
		err = s.acceptWidget(agent, body)
	}
	switch {
	case errors.Is(err, errClosed):
		reply(w, http.StatusServiceUnavailable, "Server closed")
	case err != nil:
		s.reject(w, agent, r.URL.Path, err)
	default:
		// The real API acknowledges with 200 and an empty body; every
		// answer comes later as a webhook.
		w.WriteHeader(http.StatusOK)
	}
}

// authorize finds the agent named by the botid header and checks the API
// key. Header names are case-insensitive (Header.Get canonicalises). The key
// is the whole Authorization value: "Bearer <key>" is wrong, and so is a
// repeated header.
func (s *Server) authorize(r *http.Request) (Agent, int, string) {
	ids := r.Header.Values("botid")
	if len(ids) == 0 || ids[0] == "" {
		return Agent{}, http.StatusBadRequest, "Missing botid header"
	}
	if len(ids) > 1 {
		return Agent{}, http.StatusBadRequest, "Repeated botid header"
	}
	agent, ok := s.agents[ids[0]]
	if !ok {
		return Agent{}, http.StatusNotFound, "Bot not found"
	}
	keys := r.Header.Values("Authorization")
	if len(keys) != 1 || subtle.ConstantTimeCompare([]byte(keys[0]), []byte(agent.APIKey)) != 1 {
		return Agent{}, http.StatusUnauthorized, "Unauthorized"
	}
	return agent, http.StatusOK, ""
}

// reject answers 400 with err's message (or 500 for an unexpected error).
func (s *Server) reject(w http.ResponseWriter, a Agent, path string, err error) {
	var br badRequest
	if !errors.As(err, &br) {
		s.log.Error("request failed", slog.String("agent", a.ID), slog.String("path", path), slog.Any("error", err))
		reply(w, http.StatusInternalServerError, "Internal error")
		return
	}
	s.log.Info("request rejected", slog.String("agent", a.ID), slog.String("path", path), slog.Int("status", http.StatusBadRequest), slog.String("reason", string(br)))
	reply(w, http.StatusBadRequest, string(br))
}

// reply writes the small JSON error body {"message": "..."}.
func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{msg})
}

var errClosed = errors.New("server closed")

// record appends an accepted request. s.mu must be held.
func (s *Server) record(a Agent, path string, now time.Time, body []byte, chat *ultimate.ChatEvent, widget *ultimate.WidgetEvent) {
	s.received = append(s.received, Received{Path: path, AgentID: a.ID, At: now, Chat: chat, Widget: widget, Body: body})
}
