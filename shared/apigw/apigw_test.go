package apigw

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// event builds an HTTP API event with the fields FromEvent reads.
func event(method, path, query, body string, b64 bool, headers map[string]string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		RouteKey:        "POST /x",
		RawPath:         path,
		RawQueryString:  query,
		Headers:         headers,
		Body:            body,
		IsBase64Encoded: b64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "req-1",
			DomainName: "api.example.com",
			Stage:      "$default",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "192.0.2.7"},
		},
	}
}

// wantAPIError fails t unless err is an *Error with status and code.
func wantAPIError(t *testing.T, err error, status int, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apigw.Error", err, err)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("got %d %s (%q), want %d %s", e.Status, e.Code, e.Message, status, code)
	}
	return e
}

func TestFromEvent(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	const limit = 10
	tests := []struct {
		name     string
		ev       events.APIGatewayV2HTTPRequest
		limit    int
		wantBody string
		status   int // 0: no error
		code     string
	}{
		{name: "plain body", ev: event("post", "/a", "", `{"a":1}`, false, nil), limit: limit, wantBody: `{"a":1}`},
		{name: "base64 body", ev: event("POST", "/a", "", b64("a=1&b=2"), true, nil), limit: limit, wantBody: "a=1&b=2"},
		{name: "binary base64 body", ev: event("POST", "/a", "", b64("\x00\xff\xfe"), true, nil), limit: limit, wantBody: "\x00\xff\xfe"},
		{name: "empty body", ev: event("GET", "/a", "", "", false, nil), limit: limit, wantBody: ""},
		{name: "plain body at limit", ev: event("POST", "/a", "", strings.Repeat("x", limit), false, nil), limit: limit, wantBody: strings.Repeat("x", limit)},
		{name: "plain body over limit", ev: event("POST", "/a", "", strings.Repeat("x", limit+1), false, nil), limit: limit, status: 413, code: "body_too_large"},
		{name: "base64 body at limit", ev: event("POST", "/a", "", b64(strings.Repeat("y", limit)), true, nil), limit: limit, wantBody: strings.Repeat("y", limit)},
		// 11 bytes encode to 16 characters, the encoded length of the limit,
		// so only the decoded-size check catches it.
		{name: "base64 body over limit after decoding", ev: event("POST", "/a", "", b64(strings.Repeat("y", limit+1)), true, nil), limit: limit, status: 413, code: "body_too_large"},
		// Far too long to be decoded at all: refused by its encoded size, even
		// though it is not valid base64 (the size check comes first).
		{name: "base64 body rejected by encoded size", ev: event("POST", "/a", "", strings.Repeat("!", 17), true, nil), limit: limit, status: 413, code: "body_too_large"},
		{name: "base64 body that does not decode", ev: event("POST", "/a", "", "not base64!", true, nil), limit: 100, status: 400, code: "bad_body_encoding"},
		{name: "unpadded base64", ev: event("POST", "/a", "", "YWI", true, nil), limit: 100, status: 400, code: "bad_body_encoding"},
		{name: "default limit accepts 256 KiB", ev: event("POST", "/a", "", strings.Repeat("z", DefaultBodyLimit), false, nil), wantBody: strings.Repeat("z", DefaultBodyLimit)},
		{name: "default limit refuses 256 KiB + 1", ev: event("POST", "/a", "", strings.Repeat("z", DefaultBodyLimit+1), false, nil), status: 413, code: "body_too_large"},
		{name: "malformed query", ev: event("GET", "/a", "a=%zz", "", false, nil), limit: limit, status: 400, code: "bad_query"},
		{name: "semicolon in query", ev: event("GET", "/a", "a=1;b=2", "", false, nil), limit: limit, status: 400, code: "bad_query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := FromEvent(tt.ev, Limits{Body: tt.limit})
			if tt.status != 0 {
				wantAPIError(t, err, tt.status, tt.code)
				return
			}
			if err != nil {
				t.Fatalf("FromEvent: %v", err)
			}
			if string(req.Body) != tt.wantBody {
				t.Fatalf("body %q, want %q", req.Body, tt.wantBody)
			}
		})
	}
}

func TestFromEventTooLargeMessageNamesLimit(t *testing.T) {
	_, err := FromEvent(event("POST", "/a", "", "12345678901", false, nil), Limits{Body: 10})
	e := wantAPIError(t, err, 413, "body_too_large")
	if !strings.Contains(e.Message, "10 bytes") {
		t.Fatalf("message %q does not name the limit", e.Message)
	}
}

func TestFromEventFields(t *testing.T) {
	ev := event("post", "/sources/generic/acme", "a=1&a=2&b=x%20y", "{}", false, map[string]string{
		"content-type":      "application/json",
		"X-Custom-Header":   "v1,v2",
		"webhook-signature": "v1,abc",
	})
	ev.PathParameters = map[string]string{"account": "acme"}
	req, err := FromEvent(ev, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost {
		t.Errorf("Method %q, want POST (upper-cased)", req.Method)
	}
	if req.Path != "/sources/generic/acme" || req.RouteKey != "POST /x" || req.RequestID != "req-1" ||
		req.SourceIP != "192.0.2.7" || req.Domain != "api.example.com" || req.Stage != "$default" {
		t.Errorf("request fields: %+v", req)
	}
	if req.Params["account"] != "acme" {
		t.Errorf("Params %v", req.Params)
	}
	for _, name := range []string{"Content-Type", "content-type", "CONTENT-TYPE"} {
		if got := req.HeaderValue(name); got != "application/json" {
			t.Errorf("HeaderValue(%q) = %q", name, got)
		}
	}
	if got := req.HeaderValue("x-custom-header"); got != "v1,v2" {
		t.Errorf("joined header %q", got)
	}
	if got := req.HeaderValue("Webhook-Signature"); got != "v1,abc" {
		t.Errorf("webhook-signature %q", got)
	}
	if got := req.HeaderValue("missing"); got != "" {
		t.Errorf("missing header %q", got)
	}
	if !reflect.DeepEqual(req.Query["a"], []string{"1", "2"}) || req.QueryValue("a") != "1" || req.QueryValue("b") != "x y" {
		t.Errorf("query %v", req.Query)
	}
	if req.RawQuery != "a=1&a=2&b=x%20y" {
		t.Errorf("RawQuery %q", req.RawQuery)
	}
}

func TestFromEventDefaults(t *testing.T) {
	ev := event("GET", "", "", "", false, nil)
	ev.RequestContext.HTTP.Path = "/from-context"
	req, err := FromEvent(ev, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if req.Path != "/from-context" {
		t.Errorf("Path %q, want the request context's path", req.Path)
	}
	if req.Params == nil || req.Query == nil || req.Header == nil {
		t.Errorf("nil maps: params %v query %v header %v", req.Params, req.Query, req.Header)
	}
}

func TestRequireMethod(t *testing.T) {
	tests := []struct {
		method  string
		allowed []string
		ok      bool
		allow   string
	}{
		{method: "POST", allowed: []string{"POST"}, ok: true},
		{method: "GET", allowed: []string{"POST", "GET"}, ok: true},
		{method: "GET", allowed: []string{"POST"}, allow: "POST"},
		{method: "DELETE", allowed: []string{"POST", "PUT"}, allow: "POST, PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+strings.Join(tt.allowed, ","), func(t *testing.T) {
			r := &Request{Method: tt.method}
			err := r.RequireMethod(tt.allowed...)
			if tt.ok {
				if err != nil {
					t.Fatalf("RequireMethod: %v", err)
				}
				return
			}
			e := wantAPIError(t, err, 405, "method_not_allowed")
			if e.Headers["Allow"] != tt.allow {
				t.Fatalf("Allow %q, want %q", e.Headers["Allow"], tt.allow)
			}
			resp := Fail(err, "r")
			if resp.StatusCode != 405 || resp.Headers["Allow"] != tt.allow {
				t.Fatalf("response %d Allow %q", resp.StatusCode, resp.Headers["Allow"])
			}
		})
	}
}

func TestCanonicalKey(t *testing.T) {
	for _, k := range []string{"webhook-id", "webhook-timestamp", "webhook-signature", "x-amzn-trace-id", "x-forwarded-port", "x-forwarded-proto",
		"x-api-key", "x-twilio-signature", "x-twilio-webhooks-signature-settings", "authorization", "x-signature", "x-hub-signature-256", "x-request-id",
		"content-type", "X-Mixed-case", "weird key"} {
		if got, want := canonicalKey(k), textproto.CanonicalMIMEHeaderKey(k); got != want {
			t.Errorf("canonicalKey(%q) = %q, want %q", k, got, want)
		}
	}
}
