package action

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/tenant"
)

func TestParseHTTP(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want HTTPSpec
	}{
		{name: "method defaults to POST and timeout to 5 s", raw: `{"url":"https://api.example.com/x"}`,
			want: HTTPSpec{Method: "POST", URL: "https://api.example.com/x", TimeoutMs: 5000}},
		{name: "method upper-cased", raw: `{"method":"patch","url":"https://api.example.com/x","timeoutMs":100}`,
			want: HTTPSpec{Method: "PATCH", URL: "https://api.example.com/x", TimeoutMs: 100}},
		{name: "full", raw: `{"method":"PUT","url":"https://api.example.com/accounts/{{data.account}}/x?c={{conversation.pcid}}&a={{agent.id}}&n={{action.name}}",
			"headers":{"Authorization":"Token {{secret.token}}","X-Conv":"{{conversation.id}}","X-Src":"{{ conversation.source }}:{{conversation.account}}"},
			"body":{"account":"{{data.account}}","nested":[{"k":"{{secret.other}}"}],"{{data.key}}":1},
			"secret":"crmbridge/actions/acme","timeoutMs":20000,
			"results":[{"key":"balance","path":"balance.amount"},{"key":"first","path":"items[0].name","sanitize":true},{"key":"all","path":"all"},{"key":"x","path":"$meta.a-b[1][2]"}]}`,
			want: HTTPSpec{Method: "PUT", URL: "https://api.example.com/accounts/{{data.account}}/x?c={{conversation.pcid}}&a={{agent.id}}&n={{action.name}}",
				Headers: map[string]string{"Authorization": "Token {{secret.token}}", "X-Conv": "{{conversation.id}}", "X-Src": "{{ conversation.source }}:{{conversation.account}}"},
				Body:    json.RawMessage(`{"account":"{{data.account}}","nested":[{"k":"{{secret.other}}"}],"{{data.key}}":1}`),
				Secret:  "crmbridge/actions/acme", TimeoutMs: 20000,
				Results: []ResultMap{{Key: "balance", Path: "balance.amount"}, {Key: "first", Path: "items[0].name", Sanitize: true}, {Key: "all", Path: "all"}, {Key: "x", Path: "$meta.a-b[1][2]"}}}},
		{name: "loopback http in the local stack", raw: `{"method":"GET","url":"http://127.0.0.1:3000/demo/orders/{{data.orderId}}"}`,
			want: HTTPSpec{Method: "GET", URL: "http://127.0.0.1:3000/demo/orders/{{data.orderId}}", TimeoutMs: 5000}},
		{name: "placeholder after the host", raw: `{"url":"https://api.example.com?q={{data.q}}"}`,
			want: HTTPSpec{Method: "POST", URL: "https://api.example.com?q={{data.q}}", TimeoutMs: 5000}},
		{name: "percent-encoded path", raw: `{"url":"https://api.example.com/a%20b/%C3%BC/{{data.id}}?q=a b"}`,
			want: HTTPSpec{Method: "POST", URL: "https://api.example.com/a%20b/%C3%BC/{{data.id}}?q=a b", TimeoutMs: 5000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHTTP(json.RawMessage(tt.raw), localEgress)
			if err != nil {
				t.Fatalf("ParseHTTP: %v", err)
			}
			if string(got.Body) != "" {
				var a, b any
				_ = json.Unmarshal(got.Body, &a)
				_ = json.Unmarshal(tt.want.Body, &b)
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("body %s, want %s", got.Body, tt.want.Body)
				}
				got.Body, tt.want.Body = nil, nil
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseHTTPErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // the error starts with this
	}{
		{name: "not JSON", raw: `{"url":`, want: "http: "},
		{name: "empty", raw: ``, want: "http: "},
		{name: "url a number", raw: `{"url":1}`, want: "http.url: must be a string, got a number"},
		{name: "bad method", raw: `{"method":"TRACE","url":"https://a.example.com"}`, want: "http.method: must be GET, POST, PUT, PATCH or DELETE"},
		{name: "HEAD", raw: `{"method":"HEAD","url":"https://a.example.com"}`, want: "http.method:"},
		{name: "missing url", raw: `{"method":"GET"}`, want: "http.url: must be an absolute https:// URL"},
		{name: "http url", raw: `{"url":"http://api.example.com/x"}`, want: "http.url: must be https://"},
		{name: "loopback lookalike", raw: `{"url":"http://127.0.0.1:@api.example.com/x"}`, want: "http.url: must not carry a user"},
		{name: "no scheme", raw: `{"url":"api.example.com/x"}`, want: "http.url: must be an absolute https:// URL"},
		{name: "loopback outside the local stack", raw: `{"url":"http://127.0.0.1:9001/2018-06-01/runtime/invocation/next"}`, want: "http.url: host 127.0.0.1: loopback"},
		{name: "localhost outside the local stack", raw: `{"url":"https://localhost/x"}`, want: "http.url: host localhost: loopback names"},
		{name: "metadata", raw: `{"url":"http://169.254.169.254/latest/meta-data/{{data.x}}"}`, want: "http.url: host 169.254.169.254: cloud metadata"},
		{name: "private", raw: `{"url":"https://10.0.0.8/x"}`, want: "http.url: host 10.0.0.8: private"},
		{name: "dot segment", raw: `{"url":"https://a.example.com/api/../{{data.id}}"}`, want: "http.url: the path may not contain . or .. segments"},
		{name: "encoded dot segment", raw: `{"url":"https://a.example.com/api/%2e%2E/{{data.id}}"}`, want: "http.url: the path may not contain . or .. segments"},
		{name: "single dot segment", raw: `{"url":"https://a.example.com/./{{data.id}}"}`, want: "http.url: the path may not contain . or .. segments"},
		{name: "CRLF in a header template", raw: `{"url":"https://a.example.com","headers":{"X-Id":"{{data.id}}\r\nX-Admin: 1"}}`, want: "http.headers.X-Id: control characters"},
		{name: "LF in a header template", raw: `{"url":"https://a.example.com","headers":{"X-Id":"a\nb"}}`, want: "http.headers.X-Id: control characters"},
		{name: "result without a path", raw: `{"url":"https://a.example.com","results":[{"key":"all"}]}`, want: "http.results[0].path: required"},
		{name: "result with an empty path", raw: `{"url":"https://a.example.com","results":[{"key":"all","path":""}]}`, want: "http.results[0].path: required"},
		{name: "result path too long", raw: `{"url":"https://a.example.com","results":[{"key":"a","path":"` + strings.Repeat("p", 257) + `"}]}`, want: "http.results[0].path:"},
		{name: "too many results", raw: `{"url":"https://a.example.com","results":[` + manyResults(21) + `]}`, want: "http.results: at most 20"},
		{name: "placeholder in host", raw: `{"url":"https://{{data.tenant}}.example.com/x"}`, want: "http.url: placeholders are not allowed in the scheme or host"},
		{name: "placeholder as host", raw: `{"url":"https://{{data.host}}/x"}`, want: "http.url: placeholders are not allowed in the scheme or host"},
		{name: "placeholder in port", raw: `{"url":"https://api.example.com:{{data.port}}/x"}`, want: "http.url: placeholders are not allowed in the scheme or host"},
		{name: "placeholder in userinfo", raw: `{"url":"https://{{data.u}}@api.example.com/x"}`, want: "http.url: placeholders are not allowed in the scheme or host"},
		{name: "placeholder in host before query", raw: `{"url":"https://api.{{data.d}}?x=1"}`, want: "http.url: placeholders are not allowed in the scheme or host"},
		{name: "secret in URL path", raw: `{"url":"https://api.example.com/{{secret.token}}","secret":"s"}`, want: "http.url: {{secret.token}}: secrets may not appear in the URL"},
		{name: "secret in URL query", raw: `{"url":"https://api.example.com/x?key={{secret.key}}","secret":"s"}`, want: "http.url: {{secret.key}}: secrets may not appear in the URL"},
		{name: "secret header without http.secret", raw: `{"url":"https://a.example.com","headers":{"Authorization":"Bearer {{secret.token}}"}}`,
			want: "http.headers.Authorization: {{secret.token}}: set http.secret"},
		{name: "secret in body without http.secret", raw: `{"url":"https://a.example.com","body":{"k":"{{secret.k}}"}}`, want: "http.body: {{secret.k}}: set http.secret"},
		{name: "unknown placeholder in URL", raw: `{"url":"https://a.example.com/{{user.email}}"}`, want: "http.url: unknown placeholder {{user.email}}"},
		{name: "unknown placeholder in header", raw: `{"url":"https://a.example.com","headers":{"X":"{{env.HOME}}"}}`, want: "http.headers.X: unknown placeholder {{env.HOME}}"},
		{name: "unknown placeholder in body key", raw: `{"url":"https://a.example.com","body":{"{{nope}}":1}}`, want: "http.body: unknown placeholder {{nope}}"},
		{name: "bad data key", raw: `{"url":"https://a.example.com/{{data.a b}}"}`, want: "http.url: unknown placeholder {{data.a b}}"},
		{name: "empty placeholder", raw: `{"url":"https://a.example.com/{{}}"}`, want: "http.url: unknown placeholder {{}}"},
		{name: "unbalanced open", raw: `{"url":"https://a.example.com/{{data.x"}`, want: "http.url: unbalanced {{ }}"},
		{name: "unbalanced close", raw: `{"url":"https://a.example.com/data.x}}"}`, want: "http.url: unbalanced {{ }}"},
		{name: "unbalanced in header", raw: `{"url":"https://a.example.com","headers":{"X":"{{data.x}"}}`, want: "http.headers.X: unbalanced {{ }}"},
		{name: "unbalanced in body", raw: `{"url":"https://a.example.com","body":["{{data.x"]}`, want: "http.body: unbalanced {{ }}"},
		{name: "space in path", raw: `{"url":"https://a.example.com/a b/{{data.id}}"}`, want: "http.url: the path must be percent-encoded"},
		{name: "space in path before the placeholder", raw: `{"url":"https://a.example.com:/ {{data.0}}"}`, want: "http.url: the path must be percent-encoded"},
		{name: "brace in path", raw: `{"url":"https://a.example.com/{x}/{{data.id}}"}`, want: "http.url: the path must be percent-encoded"},
		{name: "non-ASCII path", raw: `{"url":"https://a.example.com/ü/{{data.id}}"}`, want: "http.url: the path must be percent-encoded"},
		{name: "bad header name", raw: `{"url":"https://a.example.com","headers":{"X Bad":"v"}}`, want: "http.headers.X Bad: not a valid header name"},
		{name: "header name with colon", raw: `{"url":"https://a.example.com","headers":{"X:":"v"}}`, want: "http.headers.X:: not a valid header name"},
		{name: "empty header name", raw: `{"url":"https://a.example.com","headers":{"":"v"}}`, want: "http.headers.: not a valid header name"},
		{name: "GET with body", raw: `{"method":"GET","url":"https://a.example.com","body":{"a":1}}`, want: "http.body: a GET call-out has no body"},
		{name: "timeout too small", raw: `{"url":"https://a.example.com","timeoutMs":99}`, want: "http.timeoutMs: must be between 100 and 20000"},
		{name: "timeout too large", raw: `{"url":"https://a.example.com","timeoutMs":20001}`, want: "http.timeoutMs: must be between 100 and 20000"},
		{name: "timeout negative", raw: `{"url":"https://a.example.com","timeoutMs":-5}`, want: "http.timeoutMs:"},
		{name: "result without key", raw: `{"url":"https://a.example.com","results":[{"path":"a"}]}`, want: "http.results[0].key: required"},
		{name: "result key with space", raw: `{"url":"https://a.example.com","results":[{"key":"a","path":"a"},{"key":"b c","path":"b"}]}`, want: "http.results[1].key: required"},
		{name: "result key too long", raw: `{"url":"https://a.example.com","results":[{"key":"` + strings.Repeat("k", 65) + `","path":"k"}]}`, want: "http.results[0].key:"},
		{name: "duplicate result key", raw: `{"url":"https://a.example.com","results":[{"key":"a","path":"x"},{"key":"a","path":"y"}]}`, want: `http.results[1].key: duplicate "a"`},
		{name: "bad path leading dot", raw: `{"url":"https://a.example.com","results":[{"key":"a","path":".x"}]}`, want: `http.results[0].path: ".x" is not a path`},
		{name: "bad path double dot", raw: `{"url":"https://a.example.com","results":[{"key":"a","path":"x..y"}]}`, want: "http.results[0].path:"},
		{name: "bad path index", raw: `{"url":"https://a.example.com","results":[{"key":"a","path":"x[-1]"}]}`, want: "http.results[0].path:"},
		{name: "bad path bare index", raw: `{"url":"https://a.example.com","results":[{"key":"a","path":"[0]"}]}`, want: "http.results[0].path:"},
		{name: "bad path unclosed", raw: `{"url":"https://a.example.com","results":[{"key":"a","path":"x[0"}]}`, want: "http.results[0].path:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseHTTP(json.RawMessage(tt.raw), nil)
			if err == nil {
				t.Fatalf("accepted: %+v", s)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestParseHTTPNonJSONBody(t *testing.T) {
	// The item decoder only produces JSON, but the spec can also come from
	// the CLI's JSON: a raw body that is not JSON is refused.
	s := HTTPSpec{URL: "https://a.example.com", Body: json.RawMessage(`{oops`)}
	_, err := ParseHTTP(mustMarshalSpec(t, s), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "http: ") {
		t.Fatalf("err %v", err)
	}
}

func manyResults(n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"key":"k%d","path":"p"}`, i)
	}
	return strings.Join(out, ",")
}

func mustMarshalSpec(t *testing.T, s HTTPSpec) json.RawMessage {
	t.Helper()
	// Build the JSON by hand: json.Marshal would refuse the bad RawMessage.
	return json.RawMessage(`{"url":"` + s.URL + `","body":` + string(s.Body) + `}`)
}

func TestParseHook(t *testing.T) {
	const agent = "618a30beee4e8e87d2f94015"
	builtin := func(b string) *tenant.Action {
		return &tenant.Action{AgentID: agent, Kind: tenant.ActionBuiltin, Builtin: b}
	}
	httpAct := &tenant.Action{AgentID: agent, Kind: tenant.ActionHTTP}
	tests := []struct {
		a    *tenant.Action
		raw  string
		want string // "" means valid
	}{
		{a: builtin("addTags")},
		{a: builtin("getUserInfo")},
		{a: builtin("getAccountInfo")},
		{a: builtin("getPreviousConversations")},
		{a: builtin("forward")},
		{a: builtin("closeConversation")},
		{a: builtin("addtags"), want: `builtin: unknown "addtags"`},
		{a: builtin(""), want: `builtin: unknown ""`},
		{a: httpAct, raw: `{"url":"https://a.example.com"}`},
		{a: httpAct, raw: `{"url":"https://a.example.com","headers":{"X":"{{secret.k}}"},"secret":"crmbridge/actions/` + agent + `/shop"}`},
		{a: httpAct, raw: `{"url":"http://a.example.com"}`, want: "http.url: must be https://"},
		{a: httpAct, raw: ``, want: "http: required"},
		{a: httpAct, raw: `{"url":"https://a.example.com","timeoutSecond":5}`, want: "http.timeoutSecond: unknown field (known: body, headers, method, results, secret, timeoutMs, url)"},
		{a: httpAct, raw: `{"url":"https://a.example.com","timeoutMS":5}`, want: "http.timeoutMS: unknown field; did you mean `timeoutMs`?"},
		{a: httpAct, raw: `{"url":"https://a.example.com","results":[{"key":"email","path":"e","sanitise":true}]}`,
			want: "http.results[0].sanitise: unknown field; did you mean `sanitize`?"},
		{a: httpAct, raw: `{"url":"https://a.example.com","headers":{"X":1}}`, want: "http.headers.X: must be a string"},
		{a: httpAct, raw: `{"url":"https://a.example.com","headers":{"X":"{{secret.apiKey}}"},"secret":"crmbridge/agents/64f1c0ffee0ddba11ad0be57"}`,
			want: `http.secret: must start with "crmbridge/actions/` + agent + `/" (an action may only use its own agent's secrets)`},
		{a: httpAct, raw: `{"url":"https://a.example.com","secret":"crmbridge/actions/64f1c0ffee0ddba11ad0be57/shop"}`, want: "http.secret: must start with"},
		{a: httpAct, raw: `{"url":"https://a.example.com","secret":"crmbridge/actions/` + agent + `/../x"}`, want: "http.secret: after"},
		{a: &tenant.Action{AgentID: agent, Kind: "lambda"}, want: `kind: unknown "lambda"`},
	}
	for _, tt := range tests {
		v, err := Parser(nil)(tt.a, json.RawMessage(tt.raw))
		if tt.want == "" {
			if err != nil {
				t.Errorf("Parse(%+v, %s): %v", tt.a, tt.raw, err)
			} else if _, isSpec := v.(*HTTPSpec); isSpec != (tt.a.Kind == tenant.ActionHTTP) {
				t.Errorf("Parse(%+v) = %T", tt.a, v)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Parse(%+v, %s) = %v, want %q", tt.a, tt.raw, err, tt.want)
		}
	}
}

func TestParseAsTenantHook(t *testing.T) {
	const item = "AGENT#618a30beee4e8e87d2f94015/ACTION#x"
	it, err := tenant.DecodeItemJSON([]byte(`{"pk":{"S":"AGENT#618a30beee4e8e87d2f94015"},"sk":{"S":"ACTION#x"},"kind":{"S":"builtin"},"builtin":{"S":"teleport"}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tenant.ParseAction(it, Parser(nil))
	if err == nil || err.Error() != `item `+item+`: builtin: unknown "teleport" (addTags, getUserInfo, getAccountInfo, getPreviousConversations, closeConversation, forward)` {
		t.Fatalf("err %v", err)
	}
	it, err = tenant.DecodeItemJSON([]byte(`{"pk":{"S":"AGENT#618a30beee4e8e87d2f94015"},"sk":{"S":"ACTION#x"},"kind":{"S":"http"},"http":{"M":{` +
		`"url":{"S":"https://a.example.com"},"results":{"L":[{"M":{"key":{"S":"email"},"sanitise":{"BOOL":true}}}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tenant.ParseAction(it, Parser(nil))
	if err == nil || err.Error() != "item "+item+": field http.results[0].sanitise: unknown field; did you mean `sanitize`?" {
		t.Fatalf("err %v", err)
	}
	a, err := tenant.ParseAction(it, func(a *tenant.Action, raw json.RawMessage) (any, error) { return nil, nil })
	if err != nil || a.Spec != nil {
		t.Fatal("a hook's nil spec is kept")
	}
}
