package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// vars are the values placeholders resolve to.
type vars map[string]string

// valueError is a placeholder value that cannot go where the template puts
// it. A value from the AI agent's call (data.*) is the caller's mistake, a
// 400 naming the field; a secret's is the operator's, a 500 that names the
// secret field but never shows the value.
func valueError(name, problem string) error {
	if strings.HasPrefix(name, "secret.") {
		return apigw.Errorf(http.StatusInternalServerError, "config_invalid", "{{%s}}: the action's secret field %s", name, problem)
	}
	return apigw.Errorf(http.StatusBadRequest, "invalid_parameter", "%s: %s", name, problem)
}

// hasControl reports C0 control characters (CR, LF, NUL...) and DEL; a tab
// is allowed.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }) >= 0
}

// expand fills placeholders, escaping each value for where it lands. A
// value with a control character is refused wherever it would land: in a
// header it would split the request, and no URL or JSON field of a
// call-out needs one.
func (v vars) expand(s string, escape func(string) string) (string, error) {
	var err error
	out := placeholderRE().ReplaceAllStringFunc(s, func(m string) string {
		name := placeholderRE().FindStringSubmatch(m)[1]
		val := v[name]
		if err == nil && hasControl(val) {
			err = valueError(name, "control characters such as CR or LF are not allowed")
		}
		if escape != nil {
			return escape(val)
		}
		return val
	})
	return out, err
}

// expandURL fills placeholders in a URL template, escaping each value for
// where it lands: path-escaped before the query, query-escaped after, so a
// value cannot add path segments or query parameters ("&admin=1"). A path
// segment that a placeholder turns into "", "." or ".." is refused: servers
// and proxies resolve those, so {{data.id}} = ".." would reach
// /api/orders/../details.
func (v vars) expandURL(u string) (string, error) {
	longest, longestLen := "", -1 // the placeholder with the longest value
	for _, m := range placeholderRE().FindAllStringSubmatch(u, -1) {
		if n := len(v[m[1]]); n > longestLen {
			longest, longestLen = m[1], n
		}
	}
	rest := ""
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		q, err := v.expand(u[i+1:], url.QueryEscape)
		if err != nil {
			return "", err
		}
		u, rest = u[:i], u[i:i+1]+q
	}
	segs := strings.Split(u, "/")
	for i, seg := range segs {
		out, err := v.expand(seg, url.PathEscape)
		if err != nil {
			return "", err
		}
		if names := placeholderRE().FindAllStringSubmatch(seg, -1); len(names) > 0 && i >= 3 {
			dec, _ := url.PathUnescape(out)
			if dec == "" || dec == "." || dec == ".." {
				return "", valueError(names[0][1], fmt.Sprintf("the value %q would make an empty, . or .. segment of the URL path", dec))
			}
		}
		segs[i] = out
	}
	out := strings.Join(segs, "/") + rest
	// The template was checked to fit; only values can make it too long,
	// and the caller who sent them should hear which (not a 502 from the
	// outbound client's own check).
	if len(out) > egress.MaxURL && longest != "" {
		return "", valueError(longest, fmt.Sprintf("makes the URL longer than %d characters", egress.MaxURL))
	}
	return out, nil
}

// expandJSON fills placeholders inside the string values (and keys) of a
// JSON template. Values are inserted as string content, so conversation data
// can never change the JSON's structure.
func (v vars) expandJSON(tpl json.RawMessage) ([]byte, error) {
	// UseNumber keeps the template's numbers exact: through float64, an ID
	// such as 9007199254740993 would be sent as ...992.
	var doc any
	d := json.NewDecoder(bytes.NewReader(tpl))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return nil, err
	}
	var verr error
	str := func(s string) string {
		out, err := v.expand(s, nil)
		if verr == nil {
			verr = err
		}
		return out
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case string:
			return str(t)
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
			return t
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, e := range t {
				out[str(k)] = walk(e)
			}
			return out
		default:
			return t
		}
	}
	doc = walk(doc)
	if verr != nil {
		return nil, verr
	}
	return json.Marshal(doc)
}

// answerLimit bounds a call-out's answer: results are a few scalars.
const answerLimit = 256 << 10

// callOut performs one attempt of an HTTP action.
func (h *Handler) callOut(ctx context.Context, spec *HTTPSpec, vs vars) ([]ultimate.ActionResult, error) {
	u, err := vs.expandURL(spec.URL)
	if err != nil {
		return nil, err
	}
	var body []byte
	if len(spec.Body) > 0 {
		if body, err = vs.expandJSON(spec.Body); err != nil {
			var ae *apigw.Error
			if errors.As(err, &ae) {
				return nil, err
			}
			return nil, fmt.Errorf("render body: %w", err)
		}
	}
	hdr := http.Header{"Accept": {"application/json"}}
	if body != nil {
		hdr.Set("Content-Type", "application/json")
	}
	for k, tpl := range spec.Headers {
		val, err := vs.expand(tpl, nil)
		if err != nil {
			return nil, err
		}
		hdr.Set(k, val)
	}
	resp, err := h.HTTP.Do(ctx, &egress.Request{
		Op: "call-out", Method: spec.Method, URL: u, Header: hdr, Body: body,
		Timeout: msDuration(spec.TimeoutMs), MaxBody: answerLimit,
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("call-out timed out after %d ms: %w", spec.TimeoutMs, context.DeadlineExceeded)
		}
		return nil, err
	}
	results, dropped, err := mapResults(spec.Results, resp.Body)
	if err != nil {
		return nil, &egress.StatusError{Op: "call-out", Status: resp.Status, Reason: err.Error()}
	}
	if h.Log != nil {
		for _, d := range dropped {
			h.Log.WarnContext(ctx, "call-out result dropped", slog.String("key", d.key), slog.String("problem", d.problem), slog.Int("length", d.length))
		}
	}
	return results, nil
}

// Bounds of what a call-out returns to the AI agent: named scalar values
// only, never the whole answer (which may hold other customers' data).
const (
	maxResults     = 20
	maxResultValue = 1024 // bytes of one value
)

// droppedResult is a mapped value that was not passed on.
type droppedResult struct {
	key, problem string
	length       int
}

// mapResults takes the configured values out of the response JSON. A path
// that is absent, null or an empty string yields no result rather than an
// error: APIs omit fields.
// Objects, arrays and over-long values are not passed on either; they come
// back as dropped (key and length only, for the log).
func mapResults(maps []ResultMap, raw []byte) ([]ultimate.ActionResult, []droppedResult, error) {
	if len(maps) == 0 {
		return []ultimate.ActionResult{}, nil, nil
	}
	var doc any
	if len(bytes.TrimSpace(raw)) > 0 {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			return nil, nil, errors.New("answer is not JSON")
		}
	}
	out := make([]ultimate.ActionResult, 0, len(maps))
	var dropped []droppedResult
	for _, m := range maps {
		v, ok := lookup(doc, m.Path)
		if !ok || v == nil || v == "" {
			continue // no value: the AI agent takes non-empty strings only
		}
		s, ok := scalar(v)
		switch {
		case !ok:
			dropped = append(dropped, droppedResult{key: m.Key, problem: "not a string, number or boolean"})
		case len(s) > maxResultValue:
			dropped = append(dropped, droppedResult{key: m.Key, problem: fmt.Sprintf("longer than %d bytes", maxResultValue), length: len(s)})
		default:
			out = append(out, ultimate.ActionResult{Key: m.Key, Value: s, Sanitize: m.Sanitize})
		}
	}
	return out, dropped, nil
}

// lookup walks a dot path with [n] indexes.
func lookup(doc any, path string) (any, bool) {
	if path == "" {
		return doc, true
	}
	cur := doc
	for _, part := range strings.Split(path, ".") {
		name, idx, _ := strings.Cut(part, "[")
		if name != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[name]; !ok {
				return nil, false
			}
		}
		for idx != "" {
			n, rest, _ := strings.Cut(idx, "]")
			i, err := strconv.Atoi(n)
			arr, ok := cur.([]any)
			if err != nil || !ok || i < 0 || i >= len(arr) {
				return nil, false
			}
			cur = arr[i]
			idx = strings.TrimPrefix(rest, "[")
		}
	}
	return cur, true
}

// scalar makes a session parameter value of a JSON scalar: the AI agent
// stores strings.
func scalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	default:
		return "", false
	}
}

// stringify is a secret field's value for {{secret.x}}.
func stringify(v any) string {
	if s, ok := scalar(v); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
