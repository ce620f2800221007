package action

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func TestExpandURL(t *testing.T) {
	vs := vars{"data.long": strings.Repeat("l", 2100), "data.id": "a/b c", "data.q": "x&admin=1 +y", "data.dots": "..", "data.dot": ".", "data.plain": "42", "conversation.pcid": "generic:acme:c/1",
		"data.crlf": "a\r\nX-Admin: 1", "data.nul": "a\x00b", "data.tab": "a\tb", "secret.bad": "s\nx"}
	tests := []struct {
		tpl, want string
		err       string // the 400's message starts with this
	}{
		{tpl: "https://api.example.com/items/{{data.id}}", want: "https://api.example.com/items/a%2Fb%20c"},
		{tpl: "https://api.example.com/items/{{ data.plain }}/x", want: "https://api.example.com/items/42/x"},
		{tpl: "https://api.example.com/c/{{conversation.pcid}}", want: "https://api.example.com/c/generic:acme:c%2F1"},
		// In the query a value cannot add parameters.
		{tpl: "https://api.example.com/s?q={{data.q}}&id={{data.id}}", want: "https://api.example.com/s?q=x%26admin%3D1+%2By&id=a%2Fb+c"},
		{tpl: "https://api.example.com/{{data.plain}}?q={{data.plain}}", want: "https://api.example.com/42?q=42"},
		{tpl: "https://api.example.com/x#{{data.q}}", want: "https://api.example.com/x#x%26admin%3D1+%2By"},
		{tpl: "https://api.example.com/none", want: "https://api.example.com/none"},
		{tpl: "https://api.example.com/a/", want: "https://api.example.com/a/"},
		// Dots inside a segment are data; a whole . or .. segment is a path step.
		{tpl: "https://api.example.com/f/{{data.dots}}.json", want: "https://api.example.com/f/...json"},
		{tpl: "https://api.example.com/f/x{{data.dot}}", want: "https://api.example.com/f/x."},
		{tpl: "https://api.example.com/s?q={{data.dots}}", want: "https://api.example.com/s?q=.."},
		{tpl: "https://api.example.com/api/orders/{{data.dots}}/details", err: `data.dots: the value ".." would make an empty, . or .. segment`},
		{tpl: "https://api.example.com/api/{{data.dot}}/details", err: `data.dot: the value "." would make`},
		{tpl: "https://api.example.com/api/{{data.dot}}{{data.dot}}", err: `data.dot: the value ".." would make`},
		{tpl: "https://api.example.com/{{data.missing}}/x", err: `data.missing: the value "" would make`},
		{tpl: "https://api.example.com/items/{{data.crlf}}", err: "data.crlf: control characters such as CR or LF are not allowed"},
		{tpl: "https://api.example.com/s?q={{data.crlf}}", err: "data.crlf: control characters"},
		{tpl: "https://api.example.com/s?q={{data.nul}}", err: "data.nul: control characters"},
		{tpl: "https://api.example.com/s?q={{data.tab}}", want: "https://api.example.com/s?q=a%09b"},
		// A value that makes the URL longer than the outbound client sends
		// is the caller's 400, not the endpoint's 502.
		{tpl: "https://api.example.com/items/{{data.plain}}/{{data.long}}", err: "data.long: makes the URL longer than 2048 characters"},
		{tpl: "https://api.example.com/s?q={{data.long}}", err: "data.long: makes the URL longer"},
	}
	for _, tt := range tests {
		got, err := vs.expandURL(tt.tpl)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("expandURL(%s) = %s, %v, want %s", tt.tpl, got, err, tt.want)
			}
			continue
		}
		var ae *apigw.Error
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "invalid_parameter" || !strings.HasPrefix(ae.Message, tt.err) {
			t.Errorf("expandURL(%s) = %q, %v, want a 400 %q", tt.tpl, got, err, tt.err)
		}
	}
}

// TestValuesNeverSplitARequest: a value with CR or LF is refused wherever
// the template puts it, before anything is sent; a secret's is a
// configuration error that names the field and not the value.
func TestValuesNeverSplitARequest(t *testing.T) {
	var got []seen
	srv := endpoint(t, 200, `{}`, &got)
	spec, err := ParseHTTP(json.RawMessage(`{"method":"POST","url":"`+srv.URL+`/o/{{data.id}}","headers":{"X-Id":"{{data.h}}","X-Key":"{{secret.k}}"},
		"body":{"note":"{{data.b}}"},"secret":"s"}`), localEgress)
	if err != nil {
		t.Fatal(err)
	}
	ok := vars{"data.id": "1", "data.h": "h", "data.b": "b", "secret.k": "k"}
	with := func(k, v string) vars {
		out := vars{}
		for a, b := range ok {
			out[a] = b
		}
		out[k] = v
		return out
	}
	tests := []struct {
		vs     vars
		status int
		msg    string
	}{
		{with("data.h", "v\r\nX-Admin: 1"), 400, "data.h: control characters"},
		{with("data.h", "v\nw"), 400, "data.h: control characters"},
		{with("data.b", "line\nbreak"), 400, "data.b: control characters"},
		{with("data.id", ".."), 400, `data.id: the value ".."`},
		{with("secret.k", "k\r\nX-Evil: 1"), 500, "{{secret.k}}: the action's secret field control characters"},
	}
	h := &Handler{HTTP: localEgress}
	for _, tt := range tests {
		_, err := h.callOut(context.Background(), spec, tt.vs)
		var ae *apigw.Error
		if !errors.As(err, &ae) || ae.Status != tt.status || !strings.HasPrefix(ae.Message, tt.msg) {
			t.Errorf("%v: err %v, want %d %q", tt.vs, err, tt.status, tt.msg)
		}
		if err != nil && strings.Contains(err.Error(), "X-Evil") {
			t.Errorf("the error shows the secret's value: %v", err)
		}
	}
	if len(got) != 0 {
		t.Fatalf("%d requests were sent", len(got))
	}
	if _, err := h.callOut(context.Background(), spec, ok); err != nil || len(got) != 1 {
		t.Fatalf("valid values: %v, %d requests", err, len(got))
	}
}

func TestExpandJSON(t *testing.T) {
	vs := vars{"data.name": `"},"x":"y`, "data.key": "k\"ey", "secret.token": "t0k", "data.n": "5"}
	tests := []struct {
		tpl, want string
	}{
		// A value is string content: it cannot close the string or add keys.
		{tpl: `{"name":"{{data.name}}"}`, want: `{"name":"\"},\"x\":\"y"}`},
		{tpl: `{"greeting":"hi {{data.name}}!","auth":"Bearer {{secret.token}}"}`, want: `{"auth":"Bearer t0k","greeting":"hi \"},\"x\":\"y!"}`},
		{tpl: `{"{{data.key}}":[1,"{{data.n}}",true,null,{"deep":["{{data.n}}"]}]}`, want: `{"k\"ey":[1,"5",true,null,{"deep":["5"]}]}`},
		// Numbers in the template stay exact.
		{tpl: `{"id":9007199254740993,"f":1.10,"e":1e400}`, want: `{"e":1e400,"f":1.10,"id":9007199254740993}`},
		{tpl: `"{{data.n}}"`, want: `"5"`},
		{tpl: `["<{{data.n}}>&"]`, want: `["\u003c5\u003e\u0026"]`},
	}
	for _, tt := range tests {
		got, err := vs.expandJSON(json.RawMessage(tt.tpl))
		if err != nil {
			t.Errorf("expandJSON(%s): %v", tt.tpl, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("expandJSON(%s) = %s, want %s", tt.tpl, got, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("expandJSON(%s) produced invalid JSON %s", tt.tpl, got)
		}
	}
	// The injection attempt leaves exactly one key.
	got, _ := vs.expandJSON(json.RawMessage(`{"name":"{{data.name}}"}`))
	var m map[string]string
	if err := json.Unmarshal(got, &m); err != nil || len(m) != 1 || m["name"] != `"},"x":"y` {
		t.Fatalf("structure changed: %s", got)
	}
	if _, err := vs.expandJSON(json.RawMessage(`{`)); err == nil {
		t.Fatal("bad template accepted")
	}
}

// localEgress is the local stack's egress client: the fake endpoints of
// these tests listen on 127.0.0.1.
var localEgress = egress.New(egress.Options{Local: true})

// seen is what the fake endpoint received.
type seen struct {
	method, path, rawQuery string
	header                 http.Header
	body                   string
}

func endpoint(t *testing.T, status int, body string, got *[]seen) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = append(*got, seen{method: r.Method, path: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery, header: r.Header.Clone(), body: string(b)})
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCallOutRequest(t *testing.T) {
	var got []seen
	srv := endpoint(t, 200, `{"balance":{"amount":12.5,"currency":"EUR"},"vip":true,"items":[{"name":"a"},{"name":"b"}]}`, &got)
	spec, err := ParseHTTP(json.RawMessage(`{"method":"POST","url":"`+srv.URL+`/accounts/{{data.account}}?conv={{conversation.id}}",
		"headers":{"Authorization":"Token {{secret.token}}","X-Conversation":"{{conversation.pcid}}"},
		"body":{"account":"{{data.account}}","note":"{{data.note}}","n":1},"secret":"s","timeoutMs":1000,
		"results":[{"key":"balance","path":"balance.amount"},{"key":"vip","path":"vip","sanitize":true},{"key":"second","path":"items[1].name"},{"key":"missing","path":"nope.x"}]}`), localEgress)
	if err != nil {
		t.Fatal(err)
	}
	vs := vars{"data.account": "acc/1", "data.note": `"},"admin":true,"x":"`, "secret.token": "t0k", "conversation.id": "c 1", "conversation.pcid": "generic:acme:c 1"}
	h := &Handler{HTTP: localEgress}
	results, err := h.callOut(context.Background(), spec, vs)
	if err != nil {
		t.Fatalf("callOut: %v", err)
	}
	want := []ultimate.ActionResult{{Key: "balance", Value: "12.5"}, {Key: "vip", Value: "true", Sanitize: true}, {Key: "second", Value: "b"}}
	if !reflect.DeepEqual(results, want) {
		t.Fatalf("results %#v", results)
	}
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	r := got[0]
	if r.method != "POST" || r.path != "/accounts/acc%2F1" || r.rawQuery != "conv=c+1" {
		t.Fatalf("request %s %s ? %s", r.method, r.path, r.rawQuery)
	}
	for k, v := range map[string]string{"Authorization": "Token t0k", "X-Conversation": "generic:acme:c 1", "Content-Type": "application/json",
		"Accept": "application/json", "User-Agent": "crmbridge"} {
		if r.header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, r.header.Get(k), v)
		}
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if len(body) != 3 || body["account"] != "acc/1" || body["note"] != vs["data.note"] || body["n"] != float64(1) {
		t.Fatalf("body %s", r.body)
	}
}

func TestCallOutValueStaysInItsSegment(t *testing.T) {
	var got []seen
	srv := endpoint(t, 200, `{}`, &got)
	spec, err := ParseHTTP(json.RawMessage(`{"method":"GET","url":"`+srv.URL+`/a%20b/{{data.id}}/end?x={{data.id}}"}`), localEgress)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Handler{HTTP: localEgress}).callOut(context.Background(), spec, vars{"data.id": "../../admin?y=1"}); err != nil {
		t.Fatal(err)
	}
	if got[0].path != "/a%20b/..%2F..%2Fadmin%3Fy=1/end" || got[0].rawQuery != "x=..%2F..%2Fadmin%3Fy%3D1" {
		t.Fatalf("sent path %q query %q", got[0].path, got[0].rawQuery)
	}
}

func TestCallOutMethodsWithoutBody(t *testing.T) {
	for _, m := range []string{"GET", "DELETE"} {
		var got []seen
		srv := endpoint(t, 204, "", &got)
		spec, err := ParseHTTP(json.RawMessage(`{"method":"`+m+`","url":"`+srv.URL+`/x"}`), localEgress)
		if err != nil {
			t.Fatal(err)
		}
		res, err := (&Handler{HTTP: localEgress}).callOut(context.Background(), spec, vars{})
		if err != nil || res == nil || len(res) != 0 {
			t.Fatalf("%s: %#v, %v", m, res, err)
		}
		if got[0].method != m || got[0].body != "" || got[0].header.Get("Content-Type") != "" {
			t.Fatalf("%s request %+v", m, got[0])
		}
	}
}

func TestCallOutStatuses(t *testing.T) {
	tests := []struct {
		status    int
		body      string
		retryable bool
	}{
		{status: 400, body: "bad input for ada@example.com"},
		{status: 401},
		{status: 404, body: strings.Repeat("n", 300)},
		{status: 408, retryable: true},
		{status: 429, retryable: true},
		{status: 500, body: " boom ", retryable: true},
		{status: 501},
		{status: 503, retryable: true},
		{status: 307},
	}
	for _, tt := range tests {
		var got []seen
		srv := endpoint(t, tt.status, tt.body, &got)
		spec, _ := ParseHTTP(json.RawMessage(`{"url":"`+srv.URL+`"}`), localEgress)
		_, err := (&Handler{HTTP: localEgress}).callOut(context.Background(), spec, vars{})
		var he *egress.StatusError
		if !errors.As(err, &he) || he.Status != tt.status || he.Op != "call-out" {
			t.Errorf("%d: err %v", tt.status, err)
			continue
		}
		if b := strings.TrimSpace(tt.body); b != "" && strings.Contains(err.Error(), b[:min(len(b), 10)]) {
			t.Errorf("%d: the error carries the answer body: %v", tt.status, err)
		}
		if retry.IsRetryable(err) != tt.retryable {
			t.Errorf("%d: retryable %v", tt.status, retry.IsRetryable(err))
		}
	}
}

// TestCallOutRetryAfter: a call-out's 429 waits as long as the endpoint
// asks (the old client ignored Retry-After here).
func TestCallOutRetryAfter(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, `{"a":"ok"}`)
	}))
	defer srv.Close()
	spec, _ := ParseHTTP(json.RawMessage(`{"url":"`+srv.URL+`","results":[{"key":"a","path":"a"}]}`), localEgress)
	var waits []time.Duration
	pol := retry.Policy{Attempts: 2, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	h := &Handler{HTTP: localEgress}
	var res []ultimate.ActionResult
	err := pol.Do(context.Background(), func(ctx context.Context, _ int) error {
		var err error
		res, err = h.callOut(ctx, spec, vars{})
		return err
	})
	if err != nil || len(res) != 1 || len(waits) != 1 || waits[0] != 3*time.Second {
		t.Fatalf("res %v err %v waits %v", res, err, waits)
	}
}

func TestCallOutTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	spec, _ := ParseHTTP(json.RawMessage(`{"url":"`+srv.URL+`","timeoutMs":100}`), localEgress)
	_, err := (&Handler{HTTP: localEgress}).callOut(context.Background(), spec, vars{})
	if !errors.Is(err, context.DeadlineExceeded) || retry.IsRetryable(err) {
		t.Fatalf("err %v, want a permanent DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "timed out after 100 ms") {
		t.Fatalf("err %q", err)
	}
}

func TestCallOutTransportErrorRedactsQuery(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	spec, _ := ParseHTTP(json.RawMessage(`{"url":"`+url+`/x?token={{data.t}}"}`), localEgress)
	_, err := (&Handler{HTTP: localEgress}).callOut(context.Background(), spec, vars{"data.t": "s3cret"})
	if err == nil || !retry.IsRetryable(err) {
		t.Fatalf("err %v, want retryable", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "/x") {
		t.Fatalf("the error carries the URL: %q", err)
	}
}

func TestCallOutNonJSONAnswer(t *testing.T) {
	var got []seen
	srv := endpoint(t, 200, "<html>ok</html>", &got)
	spec, _ := ParseHTTP(json.RawMessage(`{"url":"`+srv.URL+`","results":[{"key":"a","path":"a"}]}`), localEgress)
	_, err := (&Handler{HTTP: localEgress}).callOut(context.Background(), spec, vars{})
	var he *egress.StatusError
	if !errors.As(err, &he) || he.Status != 200 || he.Reason != "answer is not JSON" || retry.IsRetryable(err) {
		t.Fatalf("err %v", err)
	}
	// Without result mappings the answer is not read at all.
	spec, _ = ParseHTTP(json.RawMessage(`{"url":"`+srv.URL+`"}`), localEgress)
	if res, err := (&Handler{HTTP: localEgress}).callOut(context.Background(), spec, vars{}); err != nil || len(res) != 0 {
		t.Fatalf("%v %v", res, err)
	}
}

func TestMapResults(t *testing.T) {
	doc := `{"order":{"id":9007199254740993,"status":"shipped","paid":false,"items":[{"name":"a","tags":["x","y"]},{"name":"b"}],
		"meta":{"k":"v","n":[1,2]},"none":null,"empty":""},"$odd":{"a-b":"dash"},"list":[[1,[2,3]]]}`
	tests := []struct {
		path string
		want any // nil: no result
	}{
		{path: "order.status", want: "shipped"},
		{path: "order.id", want: "9007199254740993"},
		{path: "order.paid", want: "false"},
		{path: "order.items[0].name", want: "a"},
		{path: "order.items[1].name", want: "b"},
		{path: "order.items[0].tags[1]", want: "y"},
		// Objects and arrays are not passed on: only named scalars are.
		{path: "order.items[0].tags"},
		{path: "order.meta"},
		{path: "order.empty"}, // an empty string is no value: the AI agent takes non-empty strings
		{path: "$odd.a-b", want: "dash"},
		{path: "list[0][1][0]", want: "2"},
		{path: "order.none"},
		{path: "order.missing"},
		{path: "order.items[2].name"},
		{path: "order.items.name"},
		{path: "order.status.x"},
		{path: "order[0]"},
		{path: "list[0][5]"},
		{path: "nope.deeper.still"},
	}
	for _, tt := range tests {
		res, _, err := mapResults([]ResultMap{{Key: "r", Path: tt.path}}, []byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if tt.want == nil {
			if len(res) != 0 {
				t.Errorf("%s: %#v, want no result", tt.path, res)
			}
			continue
		}
		if len(res) != 1 || res[0].Value != tt.want || res[0].Key != "r" {
			t.Errorf("%s: %#v, want %q", tt.path, res, tt.want)
		}
	}
}

// TestMapResultsBounds: the AI agent gets named scalars of bounded length,
// never an object, an array or the whole answer; what is dropped is
// reported by key and length.
func TestMapResultsBounds(t *testing.T) {
	long := strings.Repeat("x", maxResultValue+1)
	raw := `{"ok":"` + strings.Repeat("y", maxResultValue) + `","long":"` + long + `","obj":{"email":"ada@example.com"},"arr":[1],"n":1}`
	maps := []ResultMap{{Key: "ok", Path: "ok"}, {Key: "long", Path: "long"}, {Key: "obj", Path: "obj"}, {Key: "arr", Path: "arr"}, {Key: "n", Path: "n"}}
	res, dropped, err := mapResults(maps, []byte(raw))
	if err != nil || len(res) != 2 || res[0].Key != "ok" || res[1].Key != "n" || res[1].Value != "1" {
		t.Fatalf("results %#v, %v", res, err)
	}
	want := []droppedResult{{key: "long", problem: "longer than 1024 bytes", length: maxResultValue + 1},
		{key: "obj", problem: "not a string, number or boolean"}, {key: "arr", problem: "not a string, number or boolean"}}
	if !reflect.DeepEqual(dropped, want) {
		t.Fatalf("dropped %#v", dropped)
	}
	for _, bad := range []string{`{"a":`, `plain text`} {
		if _, _, err := mapResults(maps, []byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, empty := range []string{``, `  `, `null`} {
		if res, _, err := mapResults(maps, []byte(empty)); err != nil || res == nil || len(res) != 0 {
			t.Errorf("%q: %#v, %v", empty, res, err)
		}
	}
	if res, _, err := mapResults(nil, []byte("not json")); err != nil || res == nil || len(res) != 0 {
		t.Errorf("no mappings: %#v, %v", res, err)
	}
}

func TestStringify(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"s", "s"},
		{json.Number("1.50"), "1.50"},
		{true, "true"},
		{float64(2), "2"},
		{[]any{"a", json.Number("1")}, `["a",1]`},
		{map[string]any{"b": nil, "a": false}, `{"a":false,"b":null}`},
	}
	for _, tt := range tests {
		if got := stringify(tt.in); got != tt.want {
			t.Errorf("stringify(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSaveAs(t *testing.T) {
	data := []ultimate.ActionParam{
		{Key: "balance", Value: []string{"x"}, SaveAs: "accountBalance"},
		{Key: "orderId", Value: []string{"o1"}},
		{Key: "ghost", SaveAs: "neverReturned"},
	}
	tests := []struct {
		name    string
		results []ultimate.ActionResult
		want    []ultimate.ActionResult
	}{
		{name: "renamed and kept", results: []ultimate.ActionResult{{Key: "balance", Value: "12", Sanitize: true}, {Key: "status", Value: "ok"}, {Key: "orderId", Value: "o1"}},
			want: []ultimate.ActionResult{{Key: "accountBalance", Value: "12", Sanitize: true}, {Key: "status", Value: "ok"}, {Key: "orderId", Value: "o1"}}},
		{name: "nil results become an empty list", results: nil, want: []ultimate.ActionResult{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := saveAs(data, tt.results); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v", got)
			}
		})
	}
	if got := saveAs(nil, []ultimate.ActionResult{{Key: "a", Value: "1"}}); got[0].Key != "a" {
		t.Fatalf("%#v", got)
	}
	b, _ := json.Marshal(ultimate.ActionResponse{Results: saveAs(nil, nil)})
	if string(b) != `{"results":[]}` {
		t.Fatalf("empty answer %s", b)
	}
}

func TestFailure(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{err: context.DeadlineExceeded, status: 504, code: "action_timeout"},
		{err: retry.ErrBudget, status: 504, code: "action_timeout"},
		{err: retry.Retryable(&egress.StatusError{Op: "call-out", Status: 503}, 0), status: 502, code: "action_failed"},
		{err: errors.New("x"), status: 502, code: "action_failed"},
	}
	for _, tt := range tests {
		got := asAPIError(t, failure(tt.err))
		if got.Status != tt.status || got.Code != tt.code {
			t.Errorf("failure(%v) = %d %s", tt.err, got.Status, got.Code)
		}
	}
}
