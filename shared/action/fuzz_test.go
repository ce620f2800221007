package action

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
)

// hostile values try to move a call-out elsewhere or break its JSON.
var hostile = []string{
	`evil.example.com`, `@evil.example.com`, `/../../admin`, `x?admin=1&y=`, `#frag`, `a b`,
	`"},"x":"y`, `{{data.k}}`, "\x00\r\n", "a\r\nX-Admin: 1", `%2F%40`, `:8080`, `\`, `..`, `.`, ``, `%2e%2e`,
}

// FuzzParseHTTP checks that ParseHTTP never panics and that an accepted
// spec is safe to run: a sane method and timeout, an allowed URL whose
// scheme and host no placeholder value can change, and a body template that
// stays valid JSON whatever the values. Seeds are in
// testdata/fuzz/FuzzParseHTTP.
func FuzzParseHTTP(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseHTTP(raw, localEgress)
		if err != nil {
			if s != nil {
				t.Fatalf("error %v with a spec", err)
			}
			if !strings.HasPrefix(err.Error(), "http") {
				t.Fatalf("error %q does not name the field", err)
			}
			return
		}
		if !methods[s.Method] || s.TimeoutMs < 100 || s.TimeoutMs > 20000 || localEgress.CheckURL(placeholderRE().ReplaceAllString(s.URL, "x")) != nil {
			t.Fatalf("accepted %+v", s)
		}
		if s.Method == "GET" && len(s.Body) > 0 {
			t.Fatal("GET with a body")
		}
		tpl, err := url.Parse(s.URL)
		if err != nil {
			t.Fatalf("accepted URL %q does not parse: %v", s.URL, err)
		}
		for _, v := range hostile {
			vs := vars{}
			for _, m := range placeholderRE().FindAllStringSubmatch(s.URL+string(s.Body), -1) {
				vs[m[1]] = v
			}
			for _, h := range s.Headers {
				for _, m := range placeholderRE().FindAllStringSubmatch(h, -1) {
					vs[m[1]] = v
				}
			}
			expanded, err := vs.expandURL(s.URL)
			if err != nil {
				// Refused values are the caller's 400, naming the field.
				if ae, ok := err.(*apigw.Error); !ok || ae.Status != 400 || !strings.HasPrefix(ae.Message, "data.") && !strings.HasPrefix(ae.Message, "conversation.") && !strings.HasPrefix(ae.Message, "agent.") && !strings.HasPrefix(ae.Message, "action.") {
					if !strings.Contains(err.Error(), "secret.") {
						t.Fatalf("expandURL(%q) with %q: %v", s.URL, v, err)
					}
				}
				continue
			}
			got, err := url.Parse(expanded)
			if err != nil {
				t.Fatalf("expanded URL of %q with %q does not parse: %v", s.URL, v, err)
			}
			for _, seg := range strings.Split(got.EscapedPath(), "/")[1:] {
				if dec, _ := url.PathUnescape(seg); dec == "." || dec == ".." {
					t.Fatalf("value %q made a dot segment in %s", v, expanded)
				}
			}
			if got.Scheme != tpl.Scheme || got.Host != tpl.Host || got.User.String() != tpl.User.String() {
				t.Fatalf("value %q moved %q to %s://%s", v, s.URL, got.Scheme, got.Host)
			}
			// Nor can a value add path segments or query parameters.
			if strings.Count(got.EscapedPath(), "/") != strings.Count(tpl.EscapedPath(), "/") ||
				strings.Count(got.RawQuery, "&") != strings.Count(tpl.RawQuery, "&") ||
				strings.Count(got.RawQuery, "=") != strings.Count(tpl.RawQuery, "=") {
				t.Fatalf("value %q changed the shape of %q: %s", v, s.URL, got)
			}
			if len(s.Body) > 0 {
				b, err := vs.expandJSON(s.Body)
				if _, refused := err.(*apigw.Error); refused && strings.ContainsAny(v, "\r\n\x00") {
					continue
				}
				if err != nil || !json.Valid(b) {
					t.Fatalf("body %s with %q: %s, %v", s.Body, v, b, err)
				}
			}
		}
	})
}
