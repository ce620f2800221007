package apigw

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/obs"
)

// Func serves one decoded request, the way an http.HandlerFunc serves one
// *http.Request: it returns the answer, or an error the skeleton renders
// (AsError), and names what it did in req.Log.
type Func func(ctx context.Context, req *Request) (events.APIGatewayV2HTTPResponse, error)

// LambdaHandler is a Lambda handler of HTTP API events.
type LambdaHandler func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler is the skeleton every function runs in: decode the event within
// the limits, answer the $default route from the route table, run Serve,
// render its error as JSON, write the request's one log line. A function's
// package provides only the Func.
type Handler struct {
	Name   string // the function; the log line's message
	Serve  Func
	Log    *slog.Logger
	Now    func() time.Time // the clock, injected once for the whole function
	Limits Limits
	// Routes answers the requests that reach the $default route (a 404, or
	// a 405 naming the allowed methods); set it on the function that route
	// targets.
	Routes Routes
	// Metrics counts the 5xx answers (ServerErrors, by Route): the
	// template's deployment rollback alarm watches them. nil counts none.
	Metrics *obs.Metrics
}

// Invoke is the Lambda handler. It never returns an error: every failure is
// an HTTP answer with a JSON body.
func (h *Handler) Invoke(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.Now()
	req, err := FromEvent(ev, h.Limits)
	var resp events.APIGatewayV2HTTPResponse
	switch {
	case err != nil:
	case ev.RouteKey == DefaultRoute && h.Routes != nil:
		err = h.Routes.Unmatched(req.Method, req.Path, req.Stage)
	default:
		resp, err = h.Serve(ctx, req)
	}
	if err != nil {
		resp = Fail(err, ev.RequestContext.RequestID)
	}
	elapsed := h.Now().Sub(start)
	if resp.StatusCode >= 500 {
		h.Metrics.Count("ServerErrors", 1, map[string]string{"Route": cmp.Or(ev.RouteKey, "none")})
	}
	req.Log.SetValue("status", slog.IntValue(resp.StatusCode))
	attrs := append([]slog.Attr{slog.String("requestId", ev.RequestContext.RequestID), slog.String("route", ev.RouteKey)}, req.Log.attrs...)
	LogLine(ctx, h.Log, h.Name, attrs, err, elapsed)
	return resp, nil
}

// LogLine writes the one log line of a unit of work (an HTTP request here;
// a queue record in a consumer): its attributes, the duration, and for a
// failure the error code and cause. 4xx causes log at warn, 5xx at error,
// the rest at info.
func LogLine(ctx context.Context, log *slog.Logger, msg string, attrs []slog.Attr, err error, elapsed time.Duration) {
	if log == nil {
		return
	}
	attrs = append(attrs, slog.Float64("ms", float64(elapsed.Microseconds())/1000))
	level := slog.LevelInfo
	if err != nil {
		e := AsError(err)
		attrs = append(attrs, slog.String("code", e.Code), slog.String("error", cut(err.Error(), maxErrorLen)))
		level = slog.LevelWarn
		if e.Status >= 500 {
			level = slog.LevelError
		}
	}
	log.LogAttrs(ctx, level, msg, attrs...)
}

// Fields are what one unit of work puts on its log line: the IDs an
// operator follows a conversation by, and outcomes; never message text or
// secrets. Strings are cut at maxFieldLen, so no input is ever logged
// whole, whatever got past the format checks.
type Fields struct{ attrs []slog.Attr }

const (
	maxFieldLen = 256
	maxErrorLen = 1024
)

// Set adds the string field key or replaces its value (cut to 256 bytes).
// Strings are the usual field; taking one, not an any, spares each call
// an allocation.
func (f *Fields) Set(key, value string) {
	f.SetValue(key, slog.StringValue(cut(value, maxFieldLen)))
}

// SetValue adds key with any other value or replaces its value.
func (f *Fields) SetValue(key string, value slog.Value) {
	if value.Kind() == slog.KindString {
		value = slog.StringValue(cut(value.String(), maxFieldLen))
	}
	for i := range f.attrs {
		if f.attrs[i].Key == key {
			f.attrs[i].Value = value
			return
		}
	}
	f.attrs = append(f.attrs, slog.Attr{Key: key, Value: value})
}

// Attrs returns the fields in the order they were first set.
func (f *Fields) Attrs() []slog.Attr { return append([]slog.Attr(nil), f.attrs...) }

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:n/2], len(s))
}
