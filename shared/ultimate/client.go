package ultimate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

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
	HTTP           *http.Client
	Keys           Keys
	DefaultBaseURL string
	Retry          retry.Policy
	// AttemptTimeout bounds a single HTTP attempt (default 5 s).
	AttemptTimeout time.Duration
}

// Sentinel errors for the documented non-2xx answers; test with errors.Is.
var (
	ErrBadRequest   = errors.New("AI agent rejected the request (400)")
	ErrUnauthorized = errors.New("AI agent rejected the API key (401)")
	ErrBotNotFound  = errors.New("AI agent not found (404)")
	ErrUnavailable  = errors.New("AI agent unavailable")
)

// APIError is a non-2xx answer with the reason the AI agent gave.
type APIError struct {
	Status int
	Reason string // the body, trimmed and capped; never echoes our request
	kind   error
}

func (e *APIError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%v: HTTP %d", e.kind, e.Status)
	}
	return fmt.Sprintf("%v: HTTP %d: %s", e.kind, e.Status, e.Reason)
}

func (e *APIError) Unwrap() error { return e.kind }

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
	base := strings.TrimRight(t.BaseURL, "/")
	if base == "" {
		base = strings.TrimRight(c.DefaultBaseURL, "/")
	}
	if base == "" {
		base = DefaultBaseURL
	}
	url := base + path
	refreshed := false
	return c.Retry.Do(ctx, func(ctx context.Context, attempt int) error {
		key, err := c.Keys.APIKey(ctx, t.AgentID)
		if err != nil {
			return fmt.Errorf("API key for agent %s: %w", t.AgentID, err)
		}
		err = c.once(ctx, url, t.AgentID, key, payload)
		if errors.Is(err, ErrUnauthorized) && !refreshed {
			// The key may have been regenerated: fetch it again, try once more.
			refreshed = true
			c.Keys.ForgetAPIKey(t.AgentID)
			if key, kerr := c.Keys.APIKey(ctx, t.AgentID); kerr == nil {
				err = c.once(ctx, url, t.AgentID, key, payload)
			}
		}
		return err
	})
}

func (c *Client) once(ctx context.Context, url, agentID, key string, payload []byte) error {
	timeout := c.AttemptTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	// The documented scheme: the raw key, no "Bearer".
	req.Header.Set("Authorization", key)
	req.Header.Set("botid", agentID)
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return retry.Retryable(fmt.Errorf("%w: %w", ErrUnavailable, err), 0)
	}
	defer resp.Body.Close()
	reason, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	apiErr := &APIError{Status: resp.StatusCode, Reason: strings.TrimSpace(string(reason))}
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		apiErr.kind = ErrBadRequest
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		apiErr.kind = ErrUnauthorized
	case resp.StatusCode == http.StatusNotFound:
		apiErr.kind = ErrBotNotFound
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		apiErr.kind = ErrUnavailable
		return retry.Retryable(apiErr, retry.After(resp.Header.Get("Retry-After"), time.Now()))
	default:
		apiErr.kind = ErrBadRequest
	}
	return apiErr
}
