// Package apigw turns API Gateway HTTP API (payload format 2.0) events into
// plain requests and handler results back into responses, and holds the one
// handler skeleton every function runs in (Handler): decode the event within
// its size limits, serve it, render errors as JSON, write one log line. It is
// the one place that decodes bodies, applies the limits and writes JSON
// errors, so every function answers bad input the same way.
package apigw

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// DefaultBodyLimit caps request bodies. Chat payloads are small; anything this
// large is a mistake or an attack, and is refused before it is parsed.
const DefaultBodyLimit = 256 << 10

// Limits bound what a request may carry; they are checked before anything
// reads the request. Zero fields take the defaults.
type Limits struct {
	Body   int // bytes, after base64 decoding; default DefaultBodyLimit
	Header int // bytes of all header names and values; default 10 KiB, the HTTP API's own quota
	URI    int // bytes of the path and query string; default 8 KiB
}

func (l Limits) withDefaults() Limits {
	if l.Body <= 0 {
		l.Body = DefaultBodyLimit
	}
	if l.Header <= 0 {
		l.Header = 10 << 10
	}
	if l.URI <= 0 {
		l.URI = 8 << 10
	}
	return l
}

// Request is a decoded HTTP API request.
type Request struct {
	Method    string
	Path      string
	RouteKey  string
	Params    map[string]string // path parameters
	Query     url.Values
	RawQuery  string
	Header    http.Header // canonical keys; HTTP API joins repeated headers with commas
	Body      []byte      // raw bytes, base64-decoded when the event said so
	RequestID string
	SourceIP  string
	Domain    string
	Stage     string
	// Event is the event as API Gateway sent it (to forward it unchanged).
	Event events.APIGatewayV2HTTPRequest
	// Log collects what the handler did, for the request's one log line.
	Log Fields
	// logAttrs holds Log's first fields: no allocation per field.
	logAttrs [8]slog.Attr
}

// HeaderValue returns a header by case-insensitive name.
func (r *Request) HeaderValue(name string) string { return r.Header.Get(name) }

// QueryValue returns the first value of a query parameter.
func (r *Request) QueryValue(name string) string { return r.Query.Get(name) }

// canonicalKey is textproto.CanonicalMIMEHeaderKey without its
// allocation for the names API Gateway sends on most requests here,
// lower-cased, that its own table lacks.
func canonicalKey(k string) string {
	switch k {
	case "webhook-id":
		return "Webhook-Id"
	case "webhook-timestamp":
		return "Webhook-Timestamp"
	case "webhook-signature":
		return "Webhook-Signature"
	case "x-amzn-trace-id":
		return "X-Amzn-Trace-Id"
	case "x-forwarded-port":
		return "X-Forwarded-Port"
	case "x-forwarded-proto":
		return "X-Forwarded-Proto"
	case "x-api-key":
		return "X-Api-Key"
	case "x-twilio-signature":
		return "X-Twilio-Signature"
	case "x-twilio-webhooks-signature-settings":
		return "X-Twilio-Webhooks-Signature-Settings"
	case "authorization":
		return "Authorization"
	case "x-signature":
		return "X-Signature"
	case "x-hub-signature-256":
		return "X-Hub-Signature-256"
	case "x-request-id":
		return "X-Request-Id"
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}

// FromEvent decodes ev within lim: a body over the limit is a 413, headers
// over it a 431, a path and query over it a 414.
func FromEvent(ev events.APIGatewayV2HTTPRequest, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	limit := lim.Body
	req := &Request{
		Method:    strings.ToUpper(ev.RequestContext.HTTP.Method),
		Path:      ev.RawPath,
		RouteKey:  ev.RouteKey,
		Params:    ev.PathParameters,
		RawQuery:  ev.RawQueryString,
		Header:    make(http.Header, len(ev.Headers)),
		RequestID: ev.RequestContext.RequestID,
		SourceIP:  ev.RequestContext.HTTP.SourceIP,
		Domain:    ev.RequestContext.DomainName,
		Stage:     ev.RequestContext.Stage,
		Event:     ev,
	}
	req.Log.attrs = req.logAttrs[:0]
	if req.Path == "" {
		req.Path = ev.RequestContext.HTTP.Path
	}
	if req.Params == nil {
		req.Params = map[string]string{}
	}
	if len(req.Path)+len(req.RawQuery) > lim.URI {
		return req, Errorf(http.StatusRequestURITooLong, "uri_too_long", "path and query string are longer than %d bytes", lim.URI)
	}
	size := 0
	for k, v := range ev.Headers {
		size += len(k) + len(v)
	}
	if size > lim.Header {
		return req, Errorf(http.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "headers are larger than %d bytes", lim.Header)
	}
	// One backing array for the values: an allocation per request, not
	// one per header (the warm path decodes every request).
	vals := make([]string, 0, len(ev.Headers))
	for k, v := range ev.Headers {
		vals = append(vals, v)
		req.Header[canonicalKey(k)] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	req.Query = url.Values{}
	if ev.RawQueryString != "" {
		q, err := url.ParseQuery(ev.RawQueryString)
		if err != nil {
			return req, Errorf(http.StatusBadRequest, "bad_query", "query string is malformed")
		}
		req.Query = q
	}

	// Reject by the declared or encoded size before decoding anything.
	encLimit := limit
	if ev.IsBase64Encoded {
		encLimit = base64.StdEncoding.EncodedLen(limit)
	}
	if len(ev.Body) > encLimit {
		return req, tooLarge(limit)
	}
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return req, Errorf(http.StatusBadRequest, "bad_body_encoding", "body is flagged base64 but does not decode")
		}
		req.Body = b
	} else {
		req.Body = []byte(ev.Body)
	}
	if len(req.Body) > limit {
		return req, tooLarge(limit)
	}
	return req, nil
}

func tooLarge(limit int) *Error {
	return Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "body is larger than %d bytes", limit)
}

// RequireMethod answers 405 unless the request uses one of methods.
func (r *Request) RequireMethod(methods ...string) error {
	for _, m := range methods {
		if r.Method == m {
			return nil
		}
	}
	return &Error{
		Status:  http.StatusMethodNotAllowed,
		Code:    "method_not_allowed",
		Message: fmt.Sprintf("%s is not allowed here; use %s", r.Method, strings.Join(methods, ", ")),
		Headers: map[string]string{"Allow": strings.Join(methods, ", ")},
	}
}
