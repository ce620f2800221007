package ultimatetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// retryDelays returns the waits before the second and third attempt. The
// real agent's retry policy is not documented; retrying transport errors and
// 5xx a little lets tests see our side's idempotency, while 4xx is final
// because our side meant it.
func retryDelays() [2]time.Duration {
	return [2]time.Duration{100 * time.Millisecond, 300 * time.Millisecond}
}

// maxResponse bounds how much of our answer is kept.
const maxResponse = 64 << 10

// send posts d.Body to d.URL as agent a, retrying as described at
// retryDelays, records the result in Deliveries and returns it. It runs on
// the conversation's worker, so the next webhook waits for this one.
func (s *Server) send(ctx context.Context, a Agent, d Delivery) Delivery {
	start := time.Now()
	target, headers, err := signedTarget(a, d.URL, d.Body)
	if err != nil {
		d.Err = err
		d.Attempts = append(d.Attempts, Attempt{Err: err})
	} else {
		delays := retryDelays()
		for i := 0; ; i++ {
			d.Status, d.Response, d.Err = s.post(ctx, target, headers, d.Body)
			d.Attempts = append(d.Attempts, Attempt{Status: d.Status, Err: d.Err})
			retryable := d.Err != nil || d.Status >= 500
			if !retryable || i == len(delays) || ctx.Err() != nil {
				break
			}
			if sleep(ctx, delays[i]) != nil {
				break
			}
		}
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()

	attrs := []any{
		slog.String("agent", a.ID), slog.String("pcid", d.PlatformConversationID),
		slog.String("event", d.Event), slog.Int("status", d.Status),
		slog.Int("attempts", len(d.Attempts)), slog.Duration("took", time.Since(start)),
	}
	switch {
	case d.Err != nil:
		s.log.Warn("webhook failed", append(attrs, slog.String("error", d.Err.Error()))...)
	case !d.OK():
		s.log.Warn("webhook answered with an error", attrs...)
	default:
		s.log.Info("webhook delivered", attrs...)
	}
	// Our answer is never logged: an action's results may hold sanitized
	// values, which the fake cannot mask before parsing them.
	s.log.Debug("webhook content", slog.String("pcid", d.PlatformConversationID), slog.String("body", string(d.Body)), slog.Int("responseLength", len(d.Response)))
	return d
}

// signedTarget applies the agent's webhook scheme: its headers, and its
// query parameters merged into the URL.
func signedTarget(a Agent, raw string, body []byte) (string, map[string]string, error) {
	if raw == "" {
		return "", nil, fmt.Errorf("agent %s has no webhook URL", a.ID)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, fmt.Errorf("agent %s webhook URL: %w", a.ID, err)
	}
	headers, query := webhookauth.Sign(a.WebhookAuth, a.WebhookSecret, body)
	if len(query) > 0 {
		q := u.Query()
		for k, v := range query {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), headers, nil
}

// post makes one attempt. Errors are transport errors; a status is never
// an error here.
func (s *Server) post(ctx context.Context, target string, headers map[string]string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may hold a token parameter.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, answer, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, answer, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
