package ultimate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
)

// Target names the AI agent a call goes to.
type Target struct {
	AgentID string
	BaseURL string // empty means the client's default
}

// Keys supplies an agent's API key. Forget drops a cached key after a 401 so
// the next APIKey call fetches it again (the key may have been rotated).
type Keys interface {
	APIKey(ctx context.Context, agentID string) (string, error)
	ForgetAPIKey(agentID string)
}

// Client calls the Chat and widget APIs. It retries 429, 5xx and timeouts
// with full-jitter backoff inside the caller's deadline, and retries a 401
// once with a freshly fetched key.
type Client struct {
	HTTP           *egress.Client
	Keys           Keys
	DefaultBaseURL string
	Retry          retry.Policy
	// AttemptTimeout bounds a single HTTP attempt (default 5 s).
	AttemptTimeout time.Duration
	// Metrics receives the AI agent's health per attempt (metrics.go); nil
	// records nothing.
	Metrics *obs.Metrics
}

// Sentinel errors for the documented non-2xx answers; test with errors.Is.
// They wrap the *egress.StatusError (status, Retry-After; never the body)
// or the *egress.TransportError of the call.
var (
	ErrBadRequest   = errors.New("AI agent rejected the request (400)")
	ErrUnauthorized = errors.New("AI agent rejected the API key (401)")
	ErrBotNotFound  = errors.New("AI agent not found (404)")
	ErrUnavailable  = errors.New("AI agent unavailable")
)

// answerLimit bounds the AI agent's answers: a 200 is only an
// acknowledgement, read and dropped.
const answerLimit = 64 << 10

// Chat sends one event to POST {base}/converse/chat. 200 is only an
// acknowledgement; replies come back on the webhooks.
func (c *Client) Chat(ctx context.Context, t Target, ev ChatEvent) error {
	if ev.PlatformConversationID == "" || ev.EventType == "" {
		return fmt.Errorf("chat event needs platformConversationId and eventType: %w", ErrBadRequest)
	}
	return c.post(ctx, t, "/converse/chat", ev)
}

// Widget sends one event to POST {base}/agent/converse/send-message-to-widget.
func (c *Client) Widget(ctx context.Context, t Target, ev WidgetEvent) error {
	if ev.PlatformConversationID == "" || ev.EventType == "" {
		return fmt.Errorf("widget event needs platformConversationId and eventType: %w", ErrBadRequest)
	}
	return c.post(ctx, t, "/agent/converse/send-message-to-widget", ev)
}

func (c *Client) post(ctx context.Context, t Target, path string, body any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	url := c.baseURL(t) + path
	refreshed := false
	return c.Retry.Do(ctx, func(ctx context.Context, attempt int) error {
		key, err := c.Keys.APIKey(ctx, t.AgentID)
		if err != nil {
			return fmt.Errorf("API key for agent %s: %w", t.AgentID, err)
		}
		err = c.once(ctx, path, url, t.AgentID, key, payload)
		if errors.Is(err, ErrUnauthorized) && !refreshed {
			// The key may have been regenerated: fetch it again, try once more.
			refreshed = true
			c.Keys.ForgetAPIKey(t.AgentID)
			if key, kerr := c.Keys.APIKey(ctx, t.AgentID); kerr == nil {
				err = c.once(ctx, path, url, t.AgentID, key, payload)
			}
		}
		return err
	})
}

// baseURL is the target's base URL: its own, else the client's default,
// else the public one.
func (c *Client) baseURL(t Target) string {
	base := strings.TrimRight(t.BaseURL, "/")
	if base == "" {
		base = strings.TrimRight(c.DefaultBaseURL, "/")
	}
	if base == "" {
		base = DefaultBaseURL
	}
	return base
}

func (c *Client) once(ctx context.Context, path, url, agentID, key string, payload []byte) error {
	timeout := c.AttemptTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	start := time.Now()
	_, err := c.HTTP.Do(ctx, &egress.Request{
		Op: "AI agent " + path, Method: http.MethodPost, URL: url, Body: payload, Timeout: timeout, MaxBody: answerLimit,
		// The documented scheme: the raw key, no "Bearer".
		Header: http.Header{"Authorization": {key}, "Botid": {agentID}, "Content-Type": {"application/json"}},
	})
	c.observe(path, time.Since(start), err)
	if err == nil {
		return nil
	}
	var se *egress.StatusError
	if !errors.As(err, &se) {
		if errors.Is(err, egress.ErrRefused) {
			return fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	kind := ErrBadRequest
	switch {
	case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
		kind = ErrUnauthorized
	case se.Status == http.StatusNotFound:
		kind = ErrBotNotFound
	case egress.RetryableStatus(se.Status):
		kind = ErrUnavailable
	}
	// err keeps the retry mark egress put on a retryable status.
	return fmt.Errorf("%w: %w", kind, err)
}
