package ultimate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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

// Client calls the Chat and widget APIs. The Chat API has no idempotency
// key, so a request that may have reached the AI agent is never repeated
// here: each call is one generous attempt, bounded by the caller's context
// (the queue consumer grows it with every redelivery). Within the call,
// under Retry, it repeats only what provably did not arrive: a connection
// that could not be made (refused, unreachable, a name that did not
// resolve), a 429, a 503 that says when to come back (Retry-After), and a
// 401 once with a freshly fetched key. Everything else that may pass
// (a timeout after the request was sent, a reset, another 5xx) is returned
// as ErrUnavailable for the caller to retry later.
type Client struct {
	HTTP           *egress.Client
	Keys           Keys
	DefaultBaseURL string
	Retry          retry.Policy
	// AttemptTimeout bounds a single HTTP attempt when the caller's context
	// has no deadline (default 10 s); with one, the context bounds it.
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
	var timeout time.Duration
	if _, ok := ctx.Deadline(); !ok {
		timeout = c.AttemptTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
	}
	start := time.Now()
	_, err := c.HTTP.Do(ctx, &egress.Request{
		Op: opName(path), Method: http.MethodPost, URL: url, Body: payload, Timeout: timeout, MaxBody: answerLimit,
		// The documented scheme: the raw key, no "Bearer".
		Header: http.Header{"Authorization": {key}, "Botid": {agentID}, "Content-Type": jsonContentType},
	})
	c.observe(path, time.Since(start), err)
	if err == nil {
		return nil
	}
	// The errors are rebuilt from egress's typed ones without egress's
	// retry mark: here only what did not arrive is worth an immediate retry.
	var se *egress.StatusError
	if errors.As(err, &se) {
		kind := ErrBadRequest
		switch {
		case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
			kind = ErrUnauthorized
		case se.Status == http.StatusNotFound:
			kind = ErrBotNotFound
		case egress.RetryableStatus(se.Status):
			kind = ErrUnavailable
		}
		e := fmt.Errorf("%w: %w", kind, se)
		if notProcessed(se) {
			return retry.Retryable(e, se.RetryAfter)
		}
		return e
	}
	if errors.Is(err, egress.ErrRefused) {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	var te *egress.TransportError
	if errors.As(err, &te) {
		e := fmt.Errorf("%w: %w", ErrUnavailable, te)
		if notSent(te) {
			return retry.Retryable(e, 0)
		}
		return e
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// jsonContentType is every request's Content-Type value, shared (egress
// only reads a request's header values).
var jsonContentType = []string{"application/json"}

// opName names a call in errors, without building the name per call.
func opName(path string) string {
	switch path {
	case "/converse/chat":
		return "AI agent /converse/chat"
	case "/agent/converse/send-message-to-widget":
		return "AI agent /agent/converse/send-message-to-widget"
	}
	return "AI agent " + path
}

// notProcessed is an answer saying the request was not taken: 429, or a
// 503 with Retry-After (an overloaded or paused service naming when to
// come back). A bare 5xx may come after the work was done.
func notProcessed(se *egress.StatusError) bool {
	return se.Status == http.StatusTooManyRequests || (se.Status == http.StatusServiceUnavailable && se.RetryAfter > 0)
}

// notSent is a failure before any byte of the request left: the
// connection was never made (refused, unreachable, timed out dialling) or
// the name did not resolve. A failure after connecting may follow a request
// the AI agent received.
func notSent(te *egress.TransportError) bool {
	var op *net.OpError
	if errors.As(te.Err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(te.Err, &dns)
}
