package apigw

import (
	"reflect"
	"testing"
)

var testRoutes = Routes{
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
			r, params, ok := testRoutes.Match(tt.method, tt.path)
			if tt.status != 0 {
				if ok {
					t.Fatalf("matched %s", r.Key())
				}
				e := wantAPIError(t, testRoutes.Unmatched(tt.method, tt.path, ""), tt.status, tt.code)
				if got := e.Headers["Allow"]; got != tt.allow {
					t.Fatalf("Allow %q, want %q", got, tt.allow)
				}
				return
			}
			if !ok {
				t.Fatalf("no match: %v", testRoutes.Unmatched(tt.method, tt.path, ""))
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
	routes := Routes{{Method: "GET", Pattern: "/files/{proxy+}"}}
	for _, p := range []string{"/files", "/files/"} {
		if _, _, ok := routes.Match("GET", p); ok {
			t.Errorf("%s matched a greedy route with nothing to take", p)
		} else {
			wantAPIError(t, routes.Unmatched("GET", p, ""), 404, "route_not_found")
		}
	}
	_, params, ok := routes.Match("GET", "/files/a/b/c.txt")
	if !ok || params["proxy"] != "a/b/c.txt" {
		t.Fatalf("params %v ok %v", params, ok)
	}
}

func TestRouteKey(t *testing.T) {
	if got := (Route{Method: "ANY", Pattern: "/sources/{source}/{account}"}).Key(); got != "ANY /sources/{source}/{account}" {
		t.Fatalf("Key() = %q", got)
	}
	if got := (Route{Method: DefaultRoute}).Key(); got != "$default" {
		t.Fatalf("Key() = %q", got)
	}
}

func TestDefaultRoute(t *testing.T) {
	routes := append(Routes{{Method: DefaultRoute, Target: "fallback"}}, testRoutes...)
	r, _, ok := routes.Match("POST", "/nope")
	if ok || r.Target != "fallback" || r.Key() != DefaultRoute {
		t.Fatalf("unmatched request went to %+v (ok %v)", r, ok)
	}
	if r, _, ok := routes.Match("POST", "/webhooks"); !ok || r.Target != "message" {
		t.Fatalf("matched request went to %+v", r)
	}
	for _, tc := range []struct {
		stage, path string
		status      int
	}{
		{"prod", "/prod/webhooks/action", 405},
		{"$default", "/webhooks/action", 405},
		{"", "/webhooks/action", 405},
		{"prod", "/prod/nothing", 404},
	} {
		wantAPIError(t, routes.Unmatched("GET", tc.path, tc.stage), tc.status, map[int]string{404: "route_not_found", 405: "method_not_allowed"}[tc.status])
	}
}
