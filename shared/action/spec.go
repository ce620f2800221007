package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/crmbridge/crmbridge/shared/ascii"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/strictjson"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// HTTPSpec is a tenant-defined call-out (the action item's http map).
type HTTPSpec struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`   // JSON template: placeholders inside string values
	Secret    string            `json:"secret,omitempty"` // Secrets Manager JSON object for {{secret.x}}
	TimeoutMs int               `json:"timeoutMs,omitempty"`
	Results   []ResultMap       `json:"results,omitempty"`
}

// ResultMap takes one value from the response JSON.
type ResultMap struct {
	Key      string `json:"key"`
	Path     string `json:"path"` // dot path with [n] indexes to a scalar, e.g. order.items[0].name
	Sanitize bool   `json:"sanitize,omitempty"`
}

// The patterns are compiled on first use, so that no function pays for
// them at start-up; the result keys' format is a loop (shared/ascii says
// why).
var (
	placeholderRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`) })
	pathRE        = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([A-Za-z0-9_$-]+(\[[0-9]+\])*)(\.[A-Za-z0-9_$-]+(\[[0-9]+\])*)*$`)
	})
	headerNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$") })
)

// validKey is a result key or a placeholder's name after data. or secret.:
// 1-64 letters, digits and _ . -.
func validKey(s string) bool { return ascii.Token(s, 64, "_.-") }

var methods = map[string]bool{http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true}

// ParseHTTP decodes and validates a call-out definition, so a bad template
// or mapping is refused when the item is written, not at the first call.
// Decoding is strict: a misspelt field (results[0].sanitise) is an error,
// not a silently unmasked value. Errors name the field from the item's
// root (http.…). urls checks the URL in the bridge's mode (egress.CheckURL;
// nil is the deployed, strict mode).
func ParseHTTP(raw json.RawMessage, urls *egress.Client) (*HTTPSpec, error) {
	var s HTTPSpec
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, errors.New("http: required, a map with url")
	}
	if err := strictjson.Decode(raw, &s); err != nil {
		return nil, strictjson.Under("http", err)
	}
	s.Method = strings.ToUpper(s.Method)
	if s.Method == "" {
		s.Method = http.MethodPost
	}
	if !methods[s.Method] {
		return nil, fmt.Errorf("http.method: must be GET, POST, PUT, PATCH or DELETE")
	}
	// The host must be fixed: templating it would let conversation data pick
	// where tenant credentials are sent. Checked before the URL itself, which
	// does not parse with braces in the host.
	if strings.Contains(s.URL, "://") && strings.Contains(hostPart(s.URL), "{{") {
		return nil, fmt.Errorf("http.url: placeholders are not allowed in the scheme or host")
	}
	if err := urls.CheckURL(placeholderRE().ReplaceAllString(s.URL, "x")); err != nil {
		return nil, fmt.Errorf("http.url: %w", err)
	}
	if err := checkTemplate("http.url", s.URL, false, s.Secret != ""); err != nil {
		return nil, err
	}
	if err := checkPathEncoding(s.URL); err != nil {
		return nil, err
	}
	if err := checkDotSegments(s.URL); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(s.Headers))
	for k := range s.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !headerNameRE().MatchString(k) {
			return nil, fmt.Errorf("http.headers.%s: not a valid header name", k)
		}
		if hasControl(s.Headers[k]) {
			return nil, fmt.Errorf("http.headers.%s: control characters such as CR or LF are not allowed", k)
		}
		if err := checkTemplate("http.headers."+k, s.Headers[k], true, s.Secret != ""); err != nil {
			return nil, err
		}
	}
	if len(s.Body) > 0 {
		if s.Method == http.MethodGet {
			return nil, errors.New("http.body: a GET call-out has no body")
		}
		var v any
		if err := json.Unmarshal(s.Body, &v); err != nil {
			return nil, fmt.Errorf("http.body: must be JSON: %w", err)
		}
		if err := walkStrings(v, func(s2 string) error { return checkTemplate("http.body", s2, true, s.Secret != "") }); err != nil {
			return nil, err
		}
	}
	if s.TimeoutMs == 0 {
		s.TimeoutMs = 5000
	}
	if s.TimeoutMs < 100 || s.TimeoutMs > 20000 {
		return nil, errors.New("http.timeoutMs: must be between 100 and 20000")
	}
	if len(s.Results) > maxResults {
		return nil, fmt.Errorf("http.results: at most %d", maxResults)
	}
	seen := map[string]bool{}
	for i, r := range s.Results {
		if !validKey(r.Key) {
			return nil, fmt.Errorf("http.results[%d].key: required, letters, digits, _ . - (max 64)", i)
		}
		if seen[r.Key] {
			return nil, fmt.Errorf("http.results[%d].key: duplicate %q", i, r.Key)
		}
		seen[r.Key] = true
		// A path is required: the whole answer may hold more than this
		// conversation's data, and only named scalars reach the AI agent.
		if r.Path == "" {
			return nil, fmt.Errorf("http.results[%d].path: required, a path to one value like order.items[0].name", i)
		}
		if len(r.Path) > 256 || !pathRE().MatchString(r.Path) {
			return nil, fmt.Errorf("http.results[%d].path: %q is not a path like order.items[0].name (max 256)", i, clipString(r.Path))
		}
	}
	return &s, nil
}

// checkPathEncoding requires the URL's path to be written percent-encoded,
// exactly as it will be sent. Otherwise net/http re-encodes the whole path
// from its decoded form when sending, and the %2F that keeps a value's "/"
// inside one segment turns back into "/": with a template path holding a
// space, {{data.id}} = "../../admin" would climb out of the path.
func checkPathEncoding(u string) error {
	probe := placeholderRE().ReplaceAllString(u, "x")
	p, err := url.Parse(probe)
	if err != nil {
		return fmt.Errorf("http.url: not a valid URL")
	}
	written := probe[strings.Index(probe, "://")+3:]
	if i := strings.IndexAny(written, "/?#"); i >= 0 && written[i] == '/' {
		written = written[i:]
	} else {
		written = ""
	}
	if i := strings.IndexAny(written, "?#"); i >= 0 {
		written = written[:i]
	}
	if p.EscapedPath() != written {
		return fmt.Errorf("http.url: the path must be percent-encoded (e.g. %%20 for a space), as it is sent")
	}
	return nil
}

// checkDotSegments refuses a written "." or ".." path segment: the server
// would resolve it, and the rendered URL would not be the one validated.
func checkDotSegments(u string) error {
	path := u[strings.Index(u, "://")+3:]
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	for _, seg := range strings.Split(path, "/")[1:] {
		if dec, err := url.PathUnescape(seg); err == nil && (dec == "." || dec == "..") {
			return errors.New("http.url: the path may not contain . or .. segments")
		}
	}
	return nil
}

func clipString(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func hostPart(u string) string {
	rest := u[strings.Index(u, "://")+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return rest[:i]
	}
	return rest
}

// Placeholders the templates may use.
var fixedNames = map[string]bool{
	"conversation.source": true, "conversation.account": true, "conversation.id": true,
	"conversation.pcid": true, "agent.id": true, "action.name": true,
}

func checkTemplate(field, s string, allowSecret, haveSecret bool) error {
	if strings.Count(s, "{{") != strings.Count(s, "}}") {
		return fmt.Errorf("%s: unbalanced {{ }}", field)
	}
	for _, m := range placeholderRE().FindAllStringSubmatch(s, -1) {
		name := m[1]
		switch {
		case fixedNames[name]:
		case strings.HasPrefix(name, "data.") && validKey(strings.TrimPrefix(name, "data.")):
		case strings.HasPrefix(name, "secret.") && validKey(strings.TrimPrefix(name, "secret.")):
			if !allowSecret {
				return fmt.Errorf("%s: {{%s}}: secrets may not appear in the URL (URLs end up in logs)", field, name)
			}
			if !haveSecret {
				return fmt.Errorf("%s: {{%s}}: set http.secret to the secret holding it", field, name)
			}
		default:
			return fmt.Errorf("%s: unknown placeholder {{%s}} (use data.<key>, secret.<field>, conversation.source|account|id|pcid, agent.id, action.name)", field, name)
		}
	}
	return nil
}

func walkStrings(v any, fn func(string) error) error {
	switch x := v.(type) {
	case string:
		return fn(x)
	case []any:
		for _, e := range x {
			if err := walkStrings(e, fn); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range x {
			if err := fn(k); err != nil {
				return err
			}
			if err := walkStrings(e, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// Builtin action names every adapter may implement.
const (
	BuiltinAddTags               = "addTags"
	BuiltinGetUserInfo           = "getUserInfo"
	BuiltinGetAccountInfo        = "getAccountInfo"
	BuiltinPreviousConversations = "getPreviousConversations"
	// BuiltinForward sends the action to the platform as is (the generic
	// source forwards it to the tenant, which answers the results).
	BuiltinForward = "forward"
	// BuiltinClose closes the platform conversation where the adapter can
	// (a source.Closer, e.g. LivePerson with closeOnEnd); elsewhere it is
	// passed to the adapter's built-ins like the others. The AI agent
	// announces no session end, so a flow calls this where it ends.
	BuiltinClose = "closeConversation"
)

var builtins = map[string]bool{BuiltinAddTags: true, BuiltinGetUserInfo: true, BuiltinGetAccountInfo: true, BuiltinPreviousConversations: true, BuiltinForward: true, BuiltinClose: true}

// Parser returns the check of an action item's kind-specific part, with
// URLs checked in urls' mode. Its result is what the item then carries as
// Spec: nil for a builtin, the *HTTPSpec of an http call-out. Its secret
// must be one of the action's own agent's (tenant.CheckActionSecret). It is
// the tenant.Hooks.Action hook the loader and the CLI use.
func Parser(urls *egress.Client) func(a *tenant.Action, raw json.RawMessage) (any, error) {
	return func(a *tenant.Action, raw json.RawMessage) (any, error) {
		switch a.Kind {
		case tenant.ActionBuiltin:
			if !builtins[a.Builtin] {
				return nil, fmt.Errorf("builtin: unknown %q (addTags, getUserInfo, getAccountInfo, getPreviousConversations, closeConversation, forward)", a.Builtin)
			}
			return nil, nil
		case tenant.ActionHTTP:
			s, err := ParseHTTP(raw, urls)
			if err != nil {
				return nil, err
			}
			if s.Secret != "" {
				if err := tenant.CheckActionSecret(a.AgentID, s.Secret); err != nil {
					return nil, fmt.Errorf("http.secret: %w", err)
				}
			}
			return s, nil
		default:
			return nil, fmt.Errorf("kind: unknown %q", a.Kind)
		}
	}
}

// specOf returns an http action's parsed call-out.
func specOf(a *tenant.Action) (*HTTPSpec, error) {
	s, ok := a.Spec.(*HTTPSpec)
	if !ok || s == nil {
		return nil, fmt.Errorf("action %s: spec is %T, not the *HTTPSpec action.Parser makes (load actions through tenant.Loader with the action hook)", a.Name, a.Spec)
	}
	return s, nil
}
