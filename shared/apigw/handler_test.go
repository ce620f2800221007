package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestHandler: the skeleton decodes within the limits, answers the
// $default route, renders errors as JSON and writes one log line with the
// handler's fields, at a level by status.
func TestHandler(t *testing.T) {
	routes := Routes{{Method: "POST", Pattern: "/x", Target: "fn"}, {Method: DefaultRoute, Target: "fn"}}
	ok := func(_ context.Context, req *Request) (events.APIGatewayV2HTTPResponse, error) {
		req.Log.Set("agentId", "a1")
		req.Log.Set("outcome", "done")
		return JSON(200, map[string]string{"status": "ok"}), nil
	}
	cases := []struct {
		name   string
		serve  Func
		ev     events.APIGatewayV2HTTPRequest
		routes Routes
		status int
		code   string
		level  string
	}{
		{"served", ok, event("POST", "/x", "", `{}`, false, nil), nil, 200, "", "INFO"},
		{"a caller's error", func(context.Context, *Request) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, Errorf(409, "conflict", "no")
		}, event("POST", "/x", "", `{}`, false, nil), nil, 409, "conflict", "WARN"},
		{"our error says nothing of its cause", func(context.Context, *Request) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("dynamodb: table gone")
		}, event("POST", "/x", "", `{}`, false, nil), nil, 500, "internal", "ERROR"},
		{"a body over the limit is not served", ok, event("POST", "/x", "", strings.Repeat("b", DefaultBodyLimit+1), false, nil), nil, 413, "body_too_large", "WARN"},
		{"the $default route with the table", ok, func() events.APIGatewayV2HTTPRequest {
			e := event("GET", "/x", "", "", false, nil)
			e.RouteKey = DefaultRoute
			return e
		}(), routes, 405, "method_not_allowed", "WARN"},
		{"the $default route without the table is served", ok, func() events.APIGatewayV2HTTPRequest {
			e := event("GET", "/x", "", "", false, nil)
			e.RouteKey = DefaultRoute
			return e
		}(), nil, 200, "", "INFO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			at := time.Unix(100, 0)
			h := &Handler{Name: "fn", Serve: tc.serve, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Routes: tc.routes,
				Now: func() time.Time { at = at.Add(5 * time.Millisecond); return at }}
			resp, err := h.Invoke(context.Background(), tc.ev)
			if err != nil {
				t.Fatalf("the skeleton returned an error to Lambda: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if tc.code != "" {
				var b ErrorBody
				if json.Unmarshal([]byte(resp.Body), &b) != nil || b.Error.Code != tc.code || b.Error.RequestID != "req-1" {
					t.Fatalf("body %s", resp.Body)
				}
				if strings.Contains(resp.Body, "dynamodb") {
					t.Fatalf("the cause reached the caller: %s", resp.Body)
				}
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines", len(lines))
			}
			var l map[string]any
			_ = json.Unmarshal([]byte(lines[0]), &l)
			if l["msg"] != "fn" || l["level"] != tc.level || l["requestId"] != "req-1" || l["status"] != float64(tc.status) || l["ms"] != float64(5) {
				t.Fatalf("line %v", l)
			}
			if tc.status == 200 && (l["agentId"] != "a1" || l["outcome"] != "done") {
				t.Fatalf("the handler's fields are missing: %v", l)
			}
			if tc.code != "" && l["code"] != tc.code {
				t.Fatalf("line %v", l)
			}
		})
	}
}

func TestFieldsAreCutAndReplaced(t *testing.T) {
	var f Fields
	f.Set("id", "a")
	f.SetValue("n", slog.IntValue(3))
	f.Set("id", strings.Repeat("x", 10_000))
	f.SetValue("s", slog.StringValue(strings.Repeat("y", 10_000)))
	attrs := f.Attrs()
	if len(attrs) != 3 || attrs[0].Key != "id" || attrs[1].Value.Int64() != 3 || len(attrs[2].Value.String()) > maxFieldLen {
		t.Fatalf("%v", attrs)
	}
	if s := attrs[0].Value.String(); len(s) > maxFieldLen || !strings.Contains(s, "(10000 bytes)") {
		t.Fatalf("kept %d bytes: %s", len(s), s[:40])
	}
}

func TestLimits(t *testing.T) {
	big := map[string]string{"x-a": strings.Repeat("a", 6<<10), "x-b": strings.Repeat("b", 6<<10)}
	if _, err := FromEvent(event("POST", "/x", "", "", false, big), Limits{}); AsError(err).Status != 431 {
		t.Fatalf("headers summing over 10 KiB: %v", err)
	}
	if _, err := FromEvent(event("POST", "/x", "", "", false, big), Limits{Header: 20 << 10}); err != nil {
		t.Fatalf("a raised header limit: %v", err)
	}
	if _, err := FromEvent(event("POST", "/x", strings.Repeat("q", 9<<10), "", false, nil), Limits{}); AsError(err).Status != 414 {
		t.Fatalf("a 9 KiB query string: %v", err)
	}
}
