package apigw

import (
	"net/http"
	"strings"
)

// Route is an HTTP API route: a method (ANY matches all) and a path pattern
// with {name} segments and an optional trailing {name+} greedy segment, as in
// the template.
type Route struct {
	Method  string
	Pattern string
	Target  string // which function serves it
}

// Key is the route key API Gateway puts in events, e.g. "POST /webhooks".
func (r Route) Key() string { return r.Method + " " + r.Pattern }

// Match finds the route for method and path. When the path exists only with
// other methods the error is a 405; when no route has the path, a 404.
func Match(routes []Route, method, path string) (Route, map[string]string, error) {
	var allowed []string
	for _, r := range routes {
		params, ok := matchPattern(r.Pattern, path)
		if !ok {
			continue
		}
		if r.Method == "ANY" || r.Method == method {
			return r, params, nil
		}
		allowed = append(allowed, r.Method)
	}
	if len(allowed) > 0 {
		return Route{}, nil, &Error{
			Status:  http.StatusMethodNotAllowed,
			Code:    "method_not_allowed",
			Message: method + " is not allowed on " + path + "; use " + strings.Join(allowed, ", "),
			Headers: map[string]string{"Allow": strings.Join(allowed, ", ")},
		}
	}
	return Route{}, nil, Errorf(http.StatusNotFound, "route_not_found", "no route for %s %s", method, path)
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
