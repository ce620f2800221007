package sunshine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
)

// Per-call bounds. SunCo answers in well under a second normally; a call
// that hangs must leave the caller's budget room for a retry.
const (
	callTimeout = 10 * time.Second
	maxAnswer   = 1 << 20
)

// api is one account's view of the SunCo REST API. It makes one attempt per
// call; the caller's retry policy decides on another.
type api struct {
	hc    *http.Client
	base  string
	app   string
	creds *Credentials
	now   func() time.Time
}

// apiFor decodes an account's settings and credentials.
func (a *Adapter) apiFor(acct *source.Account) (*api, *Settings, error) {
	s, err := parseSettings(acct.Settings)
	if err != nil {
		return nil, nil, fmt.Errorf("account settings: %w", err)
	}
	c, err := parseCredentials(acct.Credentials)
	if err != nil {
		return nil, nil, err
	}
	now := a.Now
	if now == nil {
		now = time.Now
	}
	return &api{hc: a.client(), base: s.BaseURL, app: acct.Account, creds: c, now: now}, s, nil
}

// convPath is /v2/apps/{appId}/conversations/{id}{suffix}.
func (c *api) convPath(conv, suffix string) string {
	return "/v2/apps/" + url.PathEscape(c.app) + "/conversations/" + url.PathEscape(conv) + suffix
}

func (c *api) userPath(userID string) string {
	return "/v2/apps/" + url.PathEscape(c.app) + "/users/" + url.PathEscape(userID)
}

// errorBody is SunCo's error answer.
type errorBody struct {
	Errors []struct {
		Code  string `json:"code"`
		Title string `json:"title"`
	} `json:"errors"`
}

// do sends one request. A non-2xx answer is a *source.HTTPError whose Reason
// is SunCo's first error code and title; 408, 429 and 5xx and transport
// failures are marked retryable (429 with its Retry-After).
func (c *api) do(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("sunshine %s: encode body: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("sunshine %s: build request: %w", op, err)
	}
	req.SetBasicAuth(c.creds.KeyID, c.creds.KeySecret)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "crmbridge")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return retry.Retryable(fmt.Errorf("sunshine %s: %w", op, err), 0)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return retry.Retryable(fmt.Errorf("sunshine %s: read answer: %w", op, err), 0)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		herr := &source.HTTPError{Op: "sunshine " + op, Status: resp.StatusCode, Reason: reason(raw)}
		if source.RetryableStatus(resp.StatusCode) {
			return retry.Retryable(herr, retry.After(resp.Header.Get("Retry-After"), c.now()))
		}
		return herr
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("sunshine %s: answer is not the documented JSON: %s", op, apigw.JSONProblem(err))
		}
	}
	return nil
}

// reason is "code: title" from SunCo's error body, or a short excerpt of
// whatever else came back (a proxy's HTML page, say).
func reason(raw []byte) string {
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && len(eb.Errors) > 0 {
		e := eb.Errors[0]
		switch {
		case e.Code != "" && e.Title != "":
			return clip(e.Code) + ": " + clip(e.Title)
		case e.Code != "":
			return clip(e.Code)
		}
	}
	return clip(strings.TrimSpace(string(raw)))
}
