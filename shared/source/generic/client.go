package generic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

// The tenant's side of the contract: building and signing inbound events.
// The CLI (`crmbridge send`), the local stack and the tests use it; tenants
// can read it as a reference.

// InboundData is the data of an inbound event.
type InboundData struct {
	ConversationID string            `json:"conversationId"`
	Text           string            `json:"text,omitempty"`
	CardIndex      *int              `json:"cardIndex,omitempty"`
	User           map[string]string `json:"user,omitempty"`
	Parameters     map[string]string `json:"parameters,omitempty"`
	Agent          *AgentInfo        `json:"agent,omitempty"`
	QueuePosition  *int              `json:"queuePosition,omitempty"`
	WaitMinutes    *int              `json:"waitMinutes,omitempty"`
}

// AgentInfo is the desk agent of agent.joined.
type AgentInfo struct {
	Name      string `json:"name"`
	AvatarURL string `json:"avatarUrl,omitempty"`
}

// NewEvent encodes an inbound event.
func NewEvent(typ string, data InboundData, now time.Time) ([]byte, error) {
	return json.Marshal(Outbound{Type: typ, Timestamp: now.UTC().Format(time.RFC3339), Data: data})
}

// Post signs body with the tenant's inbound secret and POSTs it to url.
func Post(ctx context.Context, hc *http.Client, url string, secret stdwebhook.Secret, id string, body []byte, now time.Time) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range stdwebhook.Headers(secret, id, now, body) {
		req.Header.Set(k, v)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("post event: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}
