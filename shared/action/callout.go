package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// vars are the values placeholders resolve to.
type vars map[string]string

func (v vars) expand(s string, escape func(string) string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		val := v[name]
		if escape != nil {
			return escape(val)
		}
		return val
	})
}

// expandURL fills placeholders in a URL template, escaping each value for
// where it lands: path-escaped before the query, query-escaped after, so a
// value cannot add path segments or query parameters ("&admin=1").
func (v vars) expandURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return v.expand(u[:i], url.PathEscape) + u[i:i+1] + v.expand(u[i+1:], url.QueryEscape)
	}
	return v.expand(u, url.PathEscape)
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
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case string:
			return v.expand(t, nil)
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
			return t
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, e := range t {
				out[v.expand(k, nil)] = walk(e)
			}
			return out
		default:
			return t
		}
	}
	return json.Marshal(walk(doc))
}

// callOut performs one attempt of an HTTP action.
func (h *Handler) callOut(ctx context.Context, spec *HTTPSpec, vs vars) ([]ultimate.ActionResult, error) {
	u := vs.expandURL(spec.URL)
	var body io.Reader
	if len(spec.Body) > 0 {
		b, err := vs.expandJSON(spec.Body)
		if err != nil {
			return nil, fmt.Errorf("render body: %w", err)
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, msDuration(spec.TimeoutMs))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, spec.Method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "crmbridge")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, tpl := range spec.Headers {
		req.Header.Set(k, vs.expand(tpl, nil))
	}
	resp, err := h.HTTP.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("call-out timed out after %d ms: %w", spec.TimeoutMs, context.DeadlineExceeded)
		}
		return nil, retry.Retryable(fmt.Errorf("call-out: %w", redactURL(err)), 0)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	if err != nil {
		return nil, retry.Retryable(fmt.Errorf("call-out: read answer: %w", err), 0)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		herr := &source.HTTPError{Op: "call-out", Status: resp.StatusCode, Reason: strings.TrimSpace(string(raw[:min(len(raw), 200)]))}
		if source.RetryableStatus(resp.StatusCode) {
			return nil, retry.Retryable(herr, 0)
		}
		return nil, herr
	}
	return mapResults(spec.Results, raw)
}

// redactURL keeps query strings (which may carry tokens) out of errors.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if p, perr := url.Parse(ue.URL); perr == nil {
			p.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: p.String(), Err: ue.Err}
		}
	}
	return err
}

// mapResults takes the configured values out of the response JSON. A path
// that is absent yields no result rather than an error: APIs omit fields.
func mapResults(maps []ResultMap, raw []byte) ([]ultimate.ActionResult, error) {
	if len(maps) == 0 {
		return []ultimate.ActionResult{}, nil
	}
	var doc any
	if len(bytes.TrimSpace(raw)) > 0 {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			return nil, &source.HTTPError{Op: "call-out", Status: http.StatusOK, Reason: "answer is not JSON"}
		}
	}
	out := make([]ultimate.ActionResult, 0, len(maps))
	for _, m := range maps {
		v, ok := lookup(doc, m.Path)
		if !ok || v == nil {
			continue
		}
		out = append(out, ultimate.ActionResult{Key: m.Key, Value: stringify(v), Sanitize: m.Sanitize})
	}
	return out, nil
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

// stringify makes a session parameter value: the AI agent stores strings.
func stringify(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}
