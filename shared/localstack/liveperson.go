package localstack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
)

// lpSimulator plays LivePerson's Third-Party Bots calling the bridge for the
// demo account: it signs App-JWTs with the demo Sentinel key (which the demo
// account trusts) and posts the Custom Endpoint requests to the local API.
//
//	POST /demo/liveperson/{conv}/create   {"name":"Ada","email":"ada@example.com"}
//	POST /demo/liveperson/{conv}/text     {"text":"hello"}
//	POST /demo/liveperson/{conv}/start    {"text":"last consumer message"}
//	POST /demo/liveperson/{conv}/close
//	GET  /demo/liveperson/{conv}          what the bridge sent to LivePerson's Public API
type lpSimulator struct {
	api string
	lp  *lptest.PublicAPI

	mu  sync.Mutex
	seq map[string]int
}

func (s *lpSimulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/demo/liveperson/"), "/"), "/")
	if len(parts) == 0 || parts[0] == "" || len(parts) > 2 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "use /demo/liveperson/{conversation}/{create|text|start|close}"})
		return
	}
	conv := parts[0]
	if r.Method == http.MethodGet && len(parts) == 1 {
		var out []map[string]any
		for _, c := range s.lp.Calls() {
			if c.Conversation == conv {
				out = append(out, map[string]any{"command": c.Command, "body": json.RawMessage(orNull(c.Body)), "status": c.Status})
			}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if r.Method != http.MethodPost || len(parts) != 2 {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST /demo/liveperson/{conversation}/{create|text|start|close}"})
		return
	}
	var in struct{ Text, Name, Email string }
	if b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16)); len(b) > 0 {
		if err := json.Unmarshal(b, &in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON object"})
			return
		}
	}
	sentinel, err := lptest.DemoSentinel()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	bearer, err := sentinel.Bearer(time.Now())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	ep := lptest.Endpoint{Account: lptest.DemoAccount, BotID: lptest.DemoBotID, Env: "production", Authorization: bearer}
	var req lptest.Request
	switch parts[1] {
	case "create":
		name := in.Name
		if name == "" {
			name = "Ada"
		}
		sdes := lptest.MessagingSDES(lptest.Person{FirstName: name, LastName: "Lovelace", Email: in.Email, CustomerID: "c-" + conv, Language: "en-US"}, true)
		req = ep.CreateConversation(conv, lptest.ConversationBody(sdes, "MESSAGING"))
	case "text":
		req = ep.Text(conv, s.next(conv), in.Text)
	case "start":
		req = ep.Start(conv, s.next(conv), in.Text)
	case "close":
		req = ep.Closed(conv, s.next(conv))
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown action " + parts[1]})
		return
	}
	hr, err := req.HTTP(s.api)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	resp, err := http.DefaultClient.Do(hr.WithContext(r.Context()))
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	writeJSON(w, http.StatusOK, map[string]any{"request": fmt.Sprintf("%s %s", req.Method, req.Path()), "status": resp.StatusCode, "answer": json.RawMessage(orNull(body))})
}

func (s *lpSimulator) next(conv string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		s.seq = map[string]int{}
	}
	s.seq[conv]++
	return s.seq[conv]
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	if !json.Valid(b) {
		q, _ := json.Marshal(string(b))
		return q
	}
	return b
}
