package sunshine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
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
	hc    *egress.Client
	base  string
	app   string
	creds *Credentials
}

// apiFor decodes an account's settings and credentials.
func (a *Adapter) apiFor(acct *source.Account) (*api, *Settings, error) {
	s, err := source.SettingsOf[*Settings](acct)
	if err != nil {
		return nil, nil, err
	}
	c, err := parsedCredentials.Of(acct)
	if err != nil {
		return nil, nil, err
	}
	return &api{hc: a.HTTP, base: s.BaseURL, app: acct.Account, creds: c}, s, nil
}

// convPath is /v2/apps/{appId}/conversations/{id}{suffix}.
func (c *api) convPath(conv, suffix string) string {
	return "/v2/apps/" + url.PathEscape(c.app) + "/conversations/" + url.PathEscape(conv) + suffix
}

func (c *api) userPath(userID string) string {
	return "/v2/apps/" + url.PathEscape(c.app) + "/users/" + url.PathEscape(userID)
}

// errorCode is the first code of SunCo's error answer
// ({"errors":[{"code","title"}]}); the title is free text and is not kept.
func errorCode(raw []byte) string {
	var eb struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(raw, &eb) != nil || len(eb.Errors) == 0 {
		return ""
	}
	return eb.Errors[0].Code
}

// do sends one request. A non-2xx answer is an *egress.StatusError with
// SunCo's error code; 408, 429 and 5xx and transport failures are marked
// retryable (with the Retry-After).
func (c *api) do(ctx context.Context, op, method, path string, in, out any) error {
	var body []byte
	h := http.Header{
		"Accept":        {"application/json"},
		"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(c.creds.KeyID+":"+c.creds.KeySecret))},
	}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("sunshine %s: encode body: %w", op, err)
		}
		body = b
		h.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(ctx, &egress.Request{
		Op: "sunshine " + op, Method: method, URL: c.base + path, Header: h, Body: body,
		Timeout: callTimeout, MaxBody: maxAnswer, Code: errorCode,
	})
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("sunshine %s: answer is not the documented JSON: %s", op, apigw.JSONProblem(err))
		}
	}
	return nil
}
