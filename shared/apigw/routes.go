package apigw

import (
	"net/http"
	"strings"
)

// DefaultRoute is the catch-all route's method and route key: API Gateway
// sends it every request that no other route matches.
const DefaultRoute = "$default"

// Route is an HTTP API route: a method (ANY matches all) and a path pattern
// with {name} segments and an optional trailing {name+} greedy segment, as in
// the template; or the $default route (Method DefaultRoute, no pattern).
type Route struct {
	Method  string
	Pattern string
	Target  string // which function serves it
}

// Key is the route key API Gateway puts in events, e.g. "POST /webhooks".
func (r Route) Key() string {
	if r.Method == DefaultRoute {
		return DefaultRoute
	}
	return r.Method + " " + r.Pattern
}

// Routes is a route table; at most one $default route catches the rest.
type Routes []Route

// Match finds the route for method and path. A request that no route
// matches goes to the $default route, with ok false (and a zero Route when
// the table has none).
func (rs Routes) Match(method, path string) (r Route, params map[string]string, ok bool) {
	for _, r := range rs {
		if r.Method == DefaultRoute {
			continue
		}
		params, ok := matchPattern(r.Pattern, path)
		if ok && (r.Method == "ANY" || r.Method == method) {
			return r, params, true
		}
	}
	r, _ = rs.Default()
	return r, map[string]string{}, false
}

// Default returns the $default route, if the table has one.
func (rs Routes) Default() (Route, bool) {
	for _, r := range rs {
		if r.Method == DefaultRoute {
			return r, true
		}
	}
	return Route{}, false
}

// Unmatched is the answer to a request that reached the $default route: a
// 405 naming the allowed methods when the path exists with others, else a
// 404. A named stage prefixes the raw path (/prod/...); routes do not.
func (rs Routes) Unmatched(method, path, stage string) error {
	if stage != "" && stage != DefaultRoute {
		path = strings.TrimPrefix(path, "/"+stage)
	}
	var allowed []string
	for _, r := range rs {
		if r.Method == DefaultRoute {
			continue
		}
		if _, ok := matchPattern(r.Pattern, path); ok {
			if r.Method == "ANY" || r.Method == method {
				// A matching route that still reached $default: the
				// deployment and this table disagree.
				return Errorf(http.StatusNotFound, "route_not_found", "no route for %s %s", method, path)
			}
			allowed = append(allowed, r.Method)
		}
	}
	if len(allowed) > 0 {
		return &Error{
			Status:  http.StatusMethodNotAllowed,
			Code:    "method_not_allowed",
			Message: method + " is not allowed on " + path + "; use " + strings.Join(allowed, ", "),
			Headers: map[string]string{"Allow": strings.Join(allowed, ", ")},
		}
	}
	return Errorf(http.StatusNotFound, "route_not_found", "no route for %s %s", method, path)
}

func matchPattern(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	params := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(xs) || xs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-2]] = strings.Join(xs[i:], "/")
			return params, true
		}
		if i >= len(xs) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = xs[i]
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	if len(xs) != len(ps) {
		return nil, false
	}
	return params, true
}
