package apigw

import (
	"reflect"
	"testing"
)

var testRoutes = []Route{
	{Method: "POST", Pattern: "/webhooks", Target: "message"},
	{Method: "POST", Pattern: "/webhooks/message", Target: "message"},
	{Method: "GET", Pattern: "/webhooks/message", Target: "message-get"},
	{Method: "POST", Pattern: "/webhooks/action", Target: "action"},
	{Method: "ANY", Pattern: "/sources/{source}/{account}", Target: "inbound"},
	{Method: "ANY", Pattern: "/sources/{source}/{account}/{proxy+}", Target: "inbound"},
	{Method: "GET", Pattern: "/", Target: "root"},
}

func TestMatch(t *testing.T) {
	tests := []struct {
		method, path string
		target       string
		params       map[string]string
		status       int
		code         string
		allow        string
	}{
		{method: "POST", path: "/webhooks", target: "message", params: map[string]string{}},
		{method: "POST", path: "/webhooks/", target: "message", params: map[string]string{}},
		{method: "GET", path: "/webhooks/message", target: "message-get", params: map[string]string{}},
		{method: "POST", path: "/webhooks/message", target: "message", params: map[string]string{}},
		{method: "GET", path: "/", target: "root", params: map[string]string{}},
		{method: "DELETE", path: "/sources/generic/acme", target: "inbound", params: map[string]string{"source": "generic", "account": "acme"}},
		{method: "POST", path: "/sources/sunshine/app-1/", target: "inbound", params: map[string]string{"source": "sunshine", "account": "app-1"}},
		{method: "POST", path: "/sources/liveperson/acct/conversations/1/events", target: "inbound",
			params: map[string]string{"source": "liveperson", "account": "acct", "proxy": "conversations/1/events"}},
		{method: "GET", path: "/sources/twilio/acct/x", target: "inbound", params: map[string]string{"source": "twilio", "account": "acct", "proxy": "x"}},
		// Wrong method on an existing path: 405 with every allowed method.
		{method: "GET", path: "/webhooks/action", status: 405, code: "method_not_allowed", allow: "POST"},
		{method: "PUT", path: "/webhooks/message", status: 405, code: "method_not_allowed", allow: "POST, GET"},
		{method: "POST", path: "/", status: 405, code: "method_not_allowed", allow: "GET"},
		// No such path: 404.
		{method: "POST", path: "/webhooks/other", status: 404, code: "route_not_found"},
		{method: "POST", path: "/webhooks/message/extra", status: 404, code: "route_not_found"},
		{method: "POST", path: "/sources/generic", status: 404, code: "route_not_found"},
		{method: "POST", path: "/sources//acme", status: 404, code: "route_not_found"},
		{method: "POST", path: "/nope", status: 404, code: "route_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, params, err := Match(testRoutes, tt.method, tt.path)
			if tt.status != 0 {
				e := wantAPIError(t, err, tt.status, tt.code)
				if got := e.Headers["Allow"]; got != tt.allow {
					t.Fatalf("Allow %q, want %q", got, tt.allow)
				}
				return
			}
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if r.Target != tt.target {
				t.Fatalf("target %q, want %q", r.Target, tt.target)
			}
			if !reflect.DeepEqual(params, tt.params) {
				t.Fatalf("params %v, want %v", params, tt.params)
			}
		})
	}
}

func TestMatchGreedyNeedsASegment(t *testing.T) {
	routes := []Route{{Method: "GET", Pattern: "/files/{proxy+}"}}
	for _, p := range []string{"/files", "/files/"} {
		if _, _, err := Match(routes, "GET", p); err == nil {
			t.Errorf("%s matched a greedy route with nothing to take", p)
		} else {
			wantAPIError(t, err, 404, "route_not_found")
		}
	}
	_, params, err := Match(routes, "GET", "/files/a/b/c.txt")
	if err != nil || params["proxy"] != "a/b/c.txt" {
		t.Fatalf("params %v err %v", params, err)
	}
}

func TestRouteKey(t *testing.T) {
	if got := (Route{Method: "ANY", Pattern: "/sources/{source}/{account}"}).Key(); got != "ANY /sources/{source}/{account}" {
		t.Fatalf("Key() = %q", got)
	}
}
