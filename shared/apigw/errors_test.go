package apigw

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// decodeErrorBody parses an error answer strictly: exactly the documented
// keys, nothing else.
func decodeErrorBody(t *testing.T, body string) map[string]string {
	t.Helper()
	var outer map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &outer); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	if len(outer) != 1 || outer["error"] == nil {
		t.Fatalf("body %s: want exactly one key \"error\"", body)
	}
	var inner map[string]string
	if err := json.Unmarshal(outer["error"], &inner); err != nil {
		t.Fatalf("error object %s: %v", outer["error"], err)
	}
	for k := range inner {
		if k != "code" && k != "message" && k != "requestId" {
			t.Fatalf("unexpected key %q in %s", k, body)
		}
	}
	return inner
}

func TestFail(t *testing.T) {
	secretCause := errors.New("dial tcp 10.0.0.7:443: password=hunter2")
	tests := []struct {
		name       string
		err        error
		requestID  string
		status     int
		code       string
		message    string
		retryAfter string // "" means no header
		headers    map[string]string
	}{
		{name: "apigw error", err: Errorf(404, "route_not_found", "no route for %s", "GET /x"), requestID: "r1", status: 404, code: "route_not_found", message: "no route for GET /x"},
		{name: "wrapped apigw error", err: fmt.Errorf("outer: %w", Errorf(400, "invalid_event", "text: required")), requestID: "r2", status: 400, code: "invalid_event", message: "text: required"},
		{name: "plain error becomes internal", err: secretCause, requestID: "r3", status: 500, code: "internal", message: "internal error; see logs with the request ID"},
		{name: "wrapped cause is not shown", err: Wrap(secretCause, 502, "upstream", "the platform failed"), requestID: "r4", status: 502, code: "upstream", message: "the platform failed"},
		{name: "retry after whole seconds", err: &Error{Status: 429, Code: "slow_down", Message: "m", RetryAfter: 2 * time.Second}, status: 429, code: "slow_down", message: "m", retryAfter: "2"},
		{name: "retry after rounds up", err: &Error{Status: 503, Code: "busy", Message: "m", RetryAfter: 1500 * time.Millisecond}, status: 503, code: "busy", message: "m", retryAfter: "2"},
		{name: "retry after 1ns is 1s", err: &Error{Status: 503, Code: "busy", Message: "m", RetryAfter: time.Nanosecond}, status: 503, code: "busy", message: "m", retryAfter: "1"},
		{name: "retry after 1.001s is 2s", err: &Error{Status: 503, Code: "busy", Message: "m", RetryAfter: time.Second + time.Millisecond}, status: 503, code: "busy", message: "m", retryAfter: "2"},
		{name: "zero retry after has no header", err: &Error{Status: 503, Code: "busy", Message: "m"}, status: 503, code: "busy", message: "m"},
		{name: "extra headers", err: &Error{Status: 405, Code: "method_not_allowed", Message: "m", Headers: map[string]string{"Allow": "POST"}}, status: 405, code: "method_not_allowed", message: "m", headers: map[string]string{"Allow": "POST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := Fail(tt.err, tt.requestID)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Headers["Content-Type"]; ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			got := decodeErrorBody(t, resp.Body)
			if got["code"] != tt.code || got["message"] != tt.message || got["requestId"] != tt.requestID {
				t.Fatalf("error body %v, want code %q message %q requestId %q", got, tt.code, tt.message, tt.requestID)
			}
			if strings.Contains(resp.Body, "hunter2") || strings.Contains(resp.Body, "10.0.0.7") {
				t.Fatalf("body leaks the internal cause: %s", resp.Body)
			}
			ra, ok := resp.Headers["Retry-After"]
			if tt.retryAfter == "" && ok {
				t.Fatalf("unexpected Retry-After %q", ra)
			}
			if ra != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", ra, tt.retryAfter)
			}
			for k, v := range tt.headers {
				if resp.Headers[k] != v {
					t.Fatalf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
		})
	}
}

func TestFailOmitsEmptyRequestID(t *testing.T) {
	resp := Fail(Errorf(400, "x", "y"), "")
	if strings.Contains(resp.Body, "requestId") {
		t.Fatalf("body %s carries an empty requestId", resp.Body)
	}
}

func TestAsError(t *testing.T) {
	cause := errors.New("boom")
	e := AsError(cause)
	if e.Status != http.StatusInternalServerError || e.Code != "internal" {
		t.Fatalf("AsError(plain) = %d %s", e.Status, e.Code)
	}
	if strings.Contains(e.Message, "boom") {
		t.Fatalf("message %q contains the cause", e.Message)
	}
	if !errors.Is(e, cause) {
		t.Fatal("the cause is not kept for logging")
	}
	orig := Errorf(409, "conflict", "exists")
	if got := AsError(fmt.Errorf("ctx: %w", orig)); got != orig {
		t.Fatalf("AsError did not find the wrapped *Error: %v", got)
	}
}

func TestErrorString(t *testing.T) {
	if got := Errorf(400, "bad", "field %s", "x").Error(); got != "bad: field x" {
		t.Errorf("Error() = %q", got)
	}
	w := Wrap(errors.New("cause"), 500, "internal", "msg")
	if got := w.Error(); got != "internal: msg: cause" {
		t.Errorf("Error() = %q", got)
	}
	if errors.Unwrap(w) == nil || errors.Unwrap(w).Error() != "cause" {
		t.Errorf("Unwrap = %v", errors.Unwrap(w))
	}
}

func TestJSON(t *testing.T) {
	resp := JSON(201, map[string]any{"ok": true, "n": 2})
	if resp.StatusCode != 201 || resp.Headers["Content-Type"] != "application/json" || resp.Body != `{"n":2,"ok":true}` {
		t.Fatalf("JSON = %+v", resp)
	}
	if resp.IsBase64Encoded {
		t.Fatal("JSON body flagged base64")
	}
	// A value that cannot be encoded is a 500 with the usual error shape,
	// not a panic.
	for _, v := range []any{math.NaN(), make(chan int), func() {}} {
		resp := JSON(200, v)
		if resp.StatusCode != 500 {
			t.Fatalf("JSON(%T) status %d, want 500", v, resp.StatusCode)
		}
		if got := decodeErrorBody(t, resp.Body); got["code"] != "internal" {
			t.Fatalf("JSON(%T) body %s", v, resp.Body)
		}
	}
}

func TestRaw(t *testing.T) {
	resp := Raw(202, "text/plain; charset=utf-8", []byte("hello"))
	if resp.StatusCode != 202 || resp.Headers["Content-Type"] != "text/plain; charset=utf-8" || resp.Body != "hello" || len(resp.Headers) != 1 {
		t.Fatalf("Raw = %+v", resp)
	}
}
