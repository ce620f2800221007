package apigw

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// localServer serves routes the way the local stack does: FromHTTP, then the
// handler on the decoded request, then WriteHTTP. Each request's event is
// handed to seen.
func localServer(t *testing.T, limit int, seen func(events.APIGatewayV2HTTPRequest), h func(*Request) events.APIGatewayV2HTTPResponse) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params, ok := testRoutes.Match(r.Method, r.URL.Path)
		if !ok {
			WriteHTTP(w, Fail(testRoutes.Unmatched(r.Method, r.URL.Path, ""), "local"))
			return
		}
		ev, err := FromHTTP(r, route, params, limit)
		if err != nil {
			WriteHTTP(w, Fail(err, "local"))
			return
		}
		if seen != nil {
			seen(ev)
		}
		req, err := FromEvent(ev, Limits{Body: limit})
		if err != nil {
			WriteHTTP(w, Fail(err, ev.RequestContext.RequestID))
			return
		}
		WriteHTTP(w, h(req))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func echo(req *Request) events.APIGatewayV2HTTPResponse {
	resp := Raw(200, "application/octet-stream", req.Body)
	resp.Headers["X-Method"] = req.Method
	resp.Headers["X-Param"] = req.Params["account"] + "|" + req.Params["proxy"]
	resp.Headers["X-Joined"] = req.HeaderValue("X-Multi")
	resp.Headers["X-Query"] = req.QueryValue("q")
	return resp
}

func TestLocalRoundTrip(t *testing.T) {
	var last events.APIGatewayV2HTTPRequest
	srv := localServer(t, 64, func(ev events.APIGatewayV2HTTPRequest) { last = ev }, echo)

	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		b64         bool
		param       string
	}{
		{name: "json", method: "POST", path: "/sources/generic/acme?q=1", contentType: "application/json", body: []byte(`{"type":"message"}`), param: "acme|"},
		{name: "form body is base64-flagged", method: "POST", path: "/sources/twilio/AC1/sms?q=1", contentType: "application/x-www-form-urlencoded", body: []byte("Body=hi&From=%2B1"), b64: true, param: "AC1|sms"},
		{name: "multipart is base64-flagged", method: "POST", path: "/sources/x/y?q=1", contentType: "multipart/form-data; boundary=b", body: []byte("--b--"), b64: true, param: "y|"},
		{name: "binary body is base64-flagged", method: "PUT", path: "/sources/x/y/a/b?q=1", contentType: "application/octet-stream", body: []byte{0xff, 0x00, 0xfe}, b64: true, param: "y|a/b"},
		{name: "empty body", method: "GET", path: "/sources/x/y?q=1", param: "y|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Add("X-Multi", "a")
			req.Header.Add("X-Multi", "b")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			if !bytes.Equal(got, tt.body) {
				t.Fatalf("echoed body %q, want %q", got, tt.body)
			}
			if last.IsBase64Encoded != tt.b64 {
				t.Fatalf("IsBase64Encoded %v, want %v", last.IsBase64Encoded, tt.b64)
			}
			if tt.b64 && last.Body != base64.StdEncoding.EncodeToString(tt.body) {
				t.Fatalf("event body %q is not the base64 of the request body", last.Body)
			}
			if resp.Header.Get("X-Method") != tt.method || resp.Header.Get("X-Param") != tt.param ||
				resp.Header.Get("X-Joined") != "a,b" || resp.Header.Get("X-Query") != "1" {
				t.Fatalf("echo headers %v", resp.Header)
			}
			// The event looks like API Gateway's: lower-case header names,
			// repeated headers joined with commas, route key, host.
			for k := range last.Headers {
				if k != strings.ToLower(k) {
					t.Fatalf("header name %q is not lower-case", k)
				}
			}
			if last.Headers["x-multi"] != "a,b" {
				t.Fatalf("x-multi %q", last.Headers["x-multi"])
			}
			if last.Headers["host"] == "" || last.RequestContext.DomainName != last.Headers["host"] {
				t.Fatalf("host %q domain %q", last.Headers["host"], last.RequestContext.DomainName)
			}
			if last.RequestContext.HTTP.SourceIP != "127.0.0.1" {
				t.Fatalf("SourceIP %q", last.RequestContext.HTTP.SourceIP)
			}
			if last.Version != "2.0" || last.RouteKey != last.RequestContext.RouteKey || !strings.HasPrefix(last.RouteKey, "ANY /sources/") {
				t.Fatalf("version %q route %q/%q", last.Version, last.RouteKey, last.RequestContext.RouteKey)
			}
			if last.RawQueryString != "q=1" || last.RequestContext.HTTP.Method != tt.method {
				t.Fatalf("raw query %q method %q", last.RawQueryString, last.RequestContext.HTTP.Method)
			}
		})
	}
}

func TestLocalErrors(t *testing.T) {
	srv := localServer(t, 8, nil, echo)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
		allow                    string
	}{
		{name: "body over limit", method: "POST", path: "/sources/g/a", body: "123456789", status: 413, code: "body_too_large"},
		{name: "body at limit", method: "POST", path: "/sources/g/a", body: "12345678", status: 200},
		{name: "unknown route", method: "POST", path: "/nope", status: 404, code: "route_not_found"},
		{name: "wrong method", method: "GET", path: "/webhooks/action", status: 405, code: "method_not_allowed", allow: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.code == "" {
				return
			}
			if got := decodeErrorBody(t, string(b)); got["code"] != tt.code {
				t.Fatalf("code %q, want %q", got["code"], tt.code)
			}
			if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Allow") != tt.allow {
				t.Fatalf("headers %v", resp.Header)
			}
		})
	}
}

// countingReader counts how many bytes FromHTTP pulls from a body.
type countingReader struct {
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	c.n += len(p)
	return len(p), nil
}

func TestFromHTTPReadsAtMostLimitPlusOne(t *testing.T) {
	body := &countingReader{}
	r := httptest.NewRequest("POST", "/sources/g/a", body)
	ev, err := FromHTTP(r, Route{Method: "POST", Pattern: "/sources/{source}/{account}"}, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Body) != 101 {
		t.Fatalf("body length %d, want limit+1 = 101", len(ev.Body))
	}
	if _, err := FromEvent(ev, Limits{Body: 100}); err == nil {
		t.Fatal("FromEvent accepted limit+1 bytes")
	} else {
		wantAPIError(t, err, 413, "body_too_large")
	}
	if ev.RouteKey != "POST /sources/{source}/{account}" {
		t.Fatalf("RouteKey %q", ev.RouteKey)
	}
}

func TestWriteHTTP(t *testing.T) {
	tests := []struct {
		name   string
		resp   events.APIGatewayV2HTTPResponse
		status int
		body   string
		header map[string][]string
	}{
		{name: "zero status is 200", resp: events.APIGatewayV2HTTPResponse{Body: "ok"}, status: 200, body: "ok"},
		{name: "status and headers", resp: events.APIGatewayV2HTTPResponse{StatusCode: 418, Headers: map[string]string{"x-a": "1"}, Body: "tea"}, status: 418, body: "tea", header: map[string][]string{"X-A": {"1"}}},
		{name: "multi-value headers", resp: events.APIGatewayV2HTTPResponse{StatusCode: 200, MultiValueHeaders: map[string][]string{"X-M": {"a", "b"}}}, status: 200, header: map[string][]string{"X-M": {"a", "b"}}},
		{name: "base64 body decoded", resp: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), IsBase64Encoded: true}, status: 200, body: "\x00\x01\x02"},
		{name: "bad base64 body written as is", resp: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "%%%", IsBase64Encoded: true}, status: 200, body: "%%%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteHTTP(w, tt.resp)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.status, tt.body)
			}
			for k, want := range tt.header {
				if got := w.Header().Values(k); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Fatalf("header %s = %v, want %v", k, got, want)
				}
			}
		})
	}
}

func TestHostOnly(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5555": "127.0.0.1",
		"[::1]:80":       "::1",
		"example":        "example",
		"":               "",
	} {
		if got := hostOnly(in); got != want {
			t.Errorf("hostOnly(%q) = %q, want %q", in, got, want)
		}
	}
}
