// Package apigw turns API Gateway HTTP API (payload format 2.0) events into
// plain requests and turns handler results back into responses. It is the one
// place that decodes bodies, applies the body limit and writes JSON errors, so
// every function answers bad input the same way.
package apigw

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// DefaultBodyLimit caps request bodies. Chat payloads are small; anything this
// large is a mistake or an attack, and is refused before it is parsed.
const DefaultBodyLimit = 256 << 10

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
}

// HeaderValue returns a header by case-insensitive name.
func (r *Request) HeaderValue(name string) string { return r.Header.Get(name) }

// QueryValue returns the first value of a query parameter.
func (r *Request) QueryValue(name string) string { return r.Query.Get(name) }

// FromEvent decodes ev. A body over limit (0 means DefaultBodyLimit) is a 413.
func FromEvent(ev events.APIGatewayV2HTTPRequest, limit int) (*Request, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
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
	}
	if req.Method == "" {
		req.Method = strings.ToUpper(ev.RequestContext.HTTP.Method)
	}
	if req.Path == "" {
		req.Path = ev.RequestContext.HTTP.Path
	}
	if req.Params == nil {
		req.Params = map[string]string{}
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	q, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		return req, Errorf(http.StatusBadRequest, "bad_query", "query string is malformed")
	}
	req.Query = q

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
