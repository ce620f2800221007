package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func asAPIError(t *testing.T, err error) *apigw.Error {
	t.Helper()
	var e *apigw.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apigw.Error", err, err)
	}
	return e
}

// fakeGate admits every webhook and, when the webhook names a
// conversation, attaches a generic account.
type fakeGate struct{ err error }

func (g fakeGate) Admit(_ context.Context, req *apigw.Request, function string) (*accounts.Call, error) {
	w, err := accounts.ParseRequest(req)
	if err != nil {
		return nil, err
	}
	if err := route.Serves(function, w); err != nil {
		return nil, err
	}
	if g.err != nil {
		return nil, g.err
	}
	req.Log.Set("agentId", w.BotID)
	req.Log.Set("pcid", accounts.PCID(w))
	call := &accounts.Call{Hook: w, Agent: &tenant.Agent{AgentID: w.BotID}}
	if c, err := source.ParsePCID(accounts.PCID(w)); err == nil {
		call.Conv = c
		call.Account = &source.Account{Source: &tenant.Source{Source: c.Source, Account: c.Account, AgentID: w.BotID}}
	}
	return call, nil
}

// testAgent is the agent the test webhooks come from.
const testAgent = "618a30beee4e8e87d2f94015"

// httpAction is an http action of testAgent as the loader hands it out:
// its definition parsed by the action hook.
func httpAction(t *testing.T, name, raw string) *tenant.Action {
	t.Helper()
	a := &tenant.Action{AgentID: testAgent, Name: name, Kind: tenant.ActionHTTP}
	spec, err := Parser(localEgress)(a, json.RawMessage(raw))
	if err != nil {
		t.Fatalf("action %s: %v", name, err)
	}
	a.Spec = spec
	return a
}

type fakeActions map[string]*tenant.Action

func (f fakeActions) Action(_ context.Context, agentID, name string) (*tenant.Action, error) {
	if name == "broken" {
		return nil, &tenant.Error{Item: "AGENT#" + agentID + "/ACTION#broken", Field: "kind", Problem: "bad"}
	}
	if name == "unreadable" {
		return nil, errors.New("dynamodb: throttled")
	}
	a, ok := f[name]
	if !ok {
		return nil, tenant.ErrNotFound
	}
	return a, nil
}

// fakeSecrets is the secret store under the real tenant.Credentials, so
// the ownership checks of the read path run; it records every read.
type fakeSecrets struct {
	values map[string]string
	reads  []string
}

func (f *fakeSecrets) Get(_ context.Context, name string) ([]byte, error) {
	f.reads = append(f.reads, name)
	v, ok := f.values[name]
	if !ok {
		return nil, errors.New("no such secret")
	}
	return []byte(v), nil
}

func (f *fakeSecrets) Parsed(ctx context.Context, name string, parse func([]byte) (any, error)) (any, error) {
	raw, err := f.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return parse(raw)
}

func (f *fakeSecrets) Invalidate(string) {}

// forwarder is a source with built-in actions.
type forwarder struct {
	got     []source.ActionRequest
	results []ultimate.ActionResult
	err     error
}

func (f *forwarder) Name() string                               { return "generic" }
func (f *forwarder) ParseSettings(json.RawMessage) (any, error) { return nil, nil }
func (f *forwarder) ValidateCredentials([]byte) error           { return nil }
func (f *forwarder) Builtin(_ context.Context, _ *source.Account, _ source.Conversation, req source.ActionRequest) ([]ultimate.ActionResult, error) {
	f.got = append(f.got, req)
	return f.results, f.err
}

type fakeConversations struct{}

func (fakeConversations) Conversation(_ context.Context, pcid string) (*state.Conversation, error) {
	if pcid == "generic:acme:known" {
		return &state.Conversation{PCID: pcid, Attrs: map[string]string{"email": "a@example.com"}}, nil
	}
	return nil, state.ErrNoConversation
}

func actionEvent(body string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /webhooks/action", RawPath: "/webhooks/action", Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/webhooks/action"}},
	}
}

type handlerEnv struct {
	h    *Handler
	fwd  *forwarder
	sec  *fakeSecrets
	url  string // the call-out endpoint, which records hits
	hits []seen
	log  bytes.Buffer
	emf  bytes.Buffer
}

func newHandlerEnv(t *testing.T, status int, answer string) *handlerEnv {
	env := &handlerEnv{fwd: &forwarder{results: []ultimate.ActionResult{{Key: "tags", Value: "vip"}}}}
	srv := endpoint(t, status, answer, &env.hits)
	env.url = srv.URL
	env.sec = &fakeSecrets{values: map[string]string{
		"crmbridge/actions/" + testAgent + "/acme": `{"token":"t0k","n":5}`,
		"crmbridge/actions/" + testAgent + "/list": `["t0k"]`,
	}}
	env.h = &Handler{
		Accounts: fakeGate{},
		Actions: fakeActions{
			"lookupOrder": httpAction(t, "lookupOrder", `{"method":"GET","url":"`+srv.URL+
				`/orders/{{data.orderId}}","headers":{"Authorization":"Bearer {{secret.token}}"},"secret":"crmbridge/actions/`+testAgent+`/acme",`+
				`"results":[{"key":"status","path":"order.status"},{"key":"total","path":"order.total","sanitize":true}]}`),
			// An item read without the action hook: its spec is the raw map.
			"badSpec": {AgentID: testAgent, Name: "badSpec", Kind: tenant.ActionHTTP, Spec: json.RawMessage(`{"url":"https://example.com"}`)},
			"noSecret": httpAction(t, "noSecret", `{"url":"`+srv.URL+
				`","headers":{"X":"{{secret.x}}"},"secret":"crmbridge/actions/`+testAgent+`/missing"}`),
			"notObject": httpAction(t, "notObject", `{"url":"`+srv.URL+`","headers":{"X":"{{secret.x}}"},"secret":"crmbridge/actions/`+testAgent+`/list"}`),
			"tag":       {AgentID: testAgent, Name: "tag", Kind: tenant.ActionBuiltin, Builtin: "addTags"},
			"weird":     {AgentID: testAgent, Name: "weird", Kind: "lambda"},
		},
		Secrets:       &tenant.Credentials{Secrets: env.sec},
		Conversations: fakeConversations{},
		Sources:       source.NewRegistry(env.fwd),
		HTTP:          localEgress,
		Retry:         retry.Policy{Attempts: 2, Base: time.Millisecond, Cap: time.Millisecond},
	}
	env.h.Log = slog.New(slog.NewJSONHandler(&env.log, nil))
	env.h.Metrics = obs.NewMetrics(&env.emf, "crmbridge", "webhook-action")
	return env
}

// invoke runs an event through the function's skeleton.
func (env *handlerEnv) invoke(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	sk := &apigw.Handler{Name: "webhook-action", Serve: env.h.Serve, Log: env.h.Log, Now: func() time.Time { return time.Unix(1_700_000_000, 0) }}
	return sk.Invoke(ctx, ev)
}

func TestHandleHTTPAction(t *testing.T) {
	env := newHandlerEnv(t, 200, `{"order":{"status":"shipped","total":42.5}}`)
	body := `{"botId":"618a30beee4e8e87d2f94015","platformConversationId":"generic:acme:c1","name":"lookupOrder",
		"data":[{"key":"orderId","value":"o/1"},{"key":"status","value":["x"],"saveAs":"orderStatus"}]}`
	resp, err := env.invoke(context.Background(), actionEvent(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Handle = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	if resp.Body != `{"results":[{"key":"orderStatus","value":"shipped"},{"key":"total","value":"42.5","sanitize":true}]}` {
		t.Fatalf("body %s", resp.Body)
	}
	if len(env.hits) != 1 || env.hits[0].path != "/orders/o%2F1" || env.hits[0].header.Get("Authorization") != "Bearer t0k" || env.hits[0].method != "GET" {
		t.Fatalf("call-out %+v", env.hits)
	}
	// One log line with the IDs, no secret; one metric.
	if strings.Count(env.log.String(), "\n") != 1 || !strings.Contains(env.log.String(), `"action":"lookupOrder"`) ||
		!strings.Contains(env.log.String(), `"pcid":"generic:acme:c1"`) || strings.Contains(env.log.String(), "t0k") {
		t.Fatalf("log %s", env.log.String())
	}
	if !strings.Contains(env.emf.String(), `"Actions":1`) || !strings.Contains(env.emf.String(), `"Status":"200"`) || !strings.Contains(env.emf.String(), `"Kind":"http"`) {
		t.Fatalf("metrics %s", env.emf.String())
	}
}

func TestHandleBuiltin(t *testing.T) {
	env := newHandlerEnv(t, 200, `{}`)
	body := `{"botId":"618a30beee4e8e87d2f94015","platformConversationId":"generic:acme:known","name":"tag","data":[{"key":"tags","value":"vip","saveAs":"tagged"}]}`
	resp, _ := env.invoke(context.Background(), actionEvent(body))
	if resp.StatusCode != 200 || resp.Body != `{"results":[{"key":"tagged","value":"vip"}]}` {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if len(env.fwd.got) != 1 {
		t.Fatalf("%d builtin calls", len(env.fwd.got))
	}
	got := env.fwd.got[0]
	if got.Builtin != "addTags" || got.Name != "tag" || got.AgentID != testAgent || got.Attrs["email"] != "a@example.com" ||
		len(got.Params) != 1 || got.Params[0].Value[0] != "vip" {
		t.Fatalf("builtin request %+v", got)
	}
}

// The template's swagger makes an action's data optional: an action without
// it has no inputs, and is served (it was a 400).
func TestHandleActionWithoutData(t *testing.T) {
	env := newHandlerEnv(t, 200, `{}`)
	body := `{"botId":"618a30beee4e8e87d2f94015","platformConversationId":"generic:acme:known","name":"tag","channel":"chat"}`
	resp, _ := env.invoke(context.Background(), actionEvent(body))
	if resp.StatusCode != 200 || resp.Body != `{"results":[{"key":"tags","value":"vip"}]}` {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if len(env.fwd.got) != 1 || env.fwd.got[0].Params == nil || len(env.fwd.got[0].Params) != 0 {
		t.Fatalf("builtin requests %+v", env.fwd.got)
	}
}

// Results the AI agent would refuse (an empty key or value) never reach it.
func TestHandleRefusesResultsOutsideTheContract(t *testing.T) {
	env := newHandlerEnv(t, 200, `{}`)
	env.fwd.results = []ultimate.ActionResult{{Key: "tags", Value: ""}}
	body := `{"botId":"618a30beee4e8e87d2f94015","platformConversationId":"generic:acme:known","name":"tag"}`
	resp, _ := env.invoke(context.Background(), actionEvent(body))
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(resp.Body, "invalid_action_results") || !strings.Contains(resp.Body, "results[0].value") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

func TestHandleErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		answer  int
		code    string
		message string
		gateErr error
	}{
		{name: "converse event at the action route", body: `{"botId":"618a30beee4e8e87d2f94015","data":{"eventType":"sendMessage"}}`, status: 400, code: "wrong_route"},
		{name: "not JSON", body: `{`, status: 400, code: "invalid_payload"},
		{name: "unknown action", body: `{"botId":"618a30beee4e8e87d2f94015","name":"nope","data":[]}`, status: 404, code: "unknown_action", message: `no action "nope" is configured for agent 618a30beee4e8e87d2f94015`},
		{name: "invalid action item", body: `{"botId":"618a30beee4e8e87d2f94015","name":"broken","data":[]}`, status: 500, code: "config_invalid"},
		{name: "unreadable config", body: `{"botId":"618a30beee4e8e87d2f94015","name":"unreadable","data":[]}`, status: 503, code: "config_unavailable"},
		{name: "invalid http spec", body: `{"botId":"618a30beee4e8e87d2f94015","name":"badSpec","data":[]}`, status: 500, code: "config_invalid"},
		{name: "missing secret", body: `{"botId":"618a30beee4e8e87d2f94015","name":"noSecret","data":[]}`, status: 500, code: "credentials_unavailable"},
		{name: "secret not an object", body: `{"botId":"618a30beee4e8e87d2f94015","name":"notObject","data":[]}`, status: 500, code: "credentials_unavailable"},
		{name: "unknown kind", body: `{"botId":"618a30beee4e8e87d2f94015","name":"weird","data":[]}`, status: 500, code: "config_invalid"},
		{name: "builtin without conversation", body: `{"botId":"618a30beee4e8e87d2f94015","name":"tag","data":[]}`, status: 400, code: "invalid_payload"},
		{name: "builtin for an unknown source", body: `{"botId":"618a30beee4e8e87d2f94015","platformConversationId":"other:acme:c","name":"tag","data":[]}`, status: 422, code: "builtin_unsupported"},
		{name: "endpoint 404", body: `{"botId":"618a30beee4e8e87d2f94015","name":"lookupOrder","data":[{"key":"orderId","value":"o1"}]}`, answer: 404, status: 502, code: "action_failed", message: "the action's endpoint answered 404"},
		{name: "endpoint 503 after retries", body: `{"botId":"618a30beee4e8e87d2f94015","name":"lookupOrder","data":[{"key":"orderId","value":"o1"}]}`, answer: 503, status: 502, code: "action_failed"},
		{name: "a value that would climb the path", body: `{"botId":"618a30beee4e8e87d2f94015","name":"lookupOrder","data":[{"key":"orderId","value":".."}]}`, status: 400, code: "invalid_parameter",
			message: `data.orderId: the value ".." would make an empty, . or .. segment of the URL path`},
		{name: "a missing value in the path", body: `{"botId":"618a30beee4e8e87d2f94015","name":"lookupOrder","data":[]}`, status: 400, code: "invalid_parameter",
			message: `data.orderId: the value "" would make an empty, . or .. segment of the URL path`},
		{name: "CRLF in a value", body: `{"botId":"618a30beee4e8e87d2f94015","name":"lookupOrder","data":[{"key":"orderId","value":"o1\r\nX-Admin: 1"}]}`, status: 400, code: "invalid_parameter",
			message: "data.orderId: control characters such as CR or LF are not allowed"},
		{name: "gate refuses", body: `{"botId":"618a30beee4e8e87d2f94015","name":"lookupOrder","data":[]}`, gateErr: apigw.Errorf(403, "forbidden", "no"), status: 403, code: "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := tt.answer
			if answer == 0 {
				answer = 200
			}
			env := newHandlerEnv(t, answer, `{}`)
			if tt.gateErr != nil {
				env.h.Accounts = fakeGate{err: tt.gateErr}
			}
			resp, err := env.invoke(context.Background(), actionEvent(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			var eb apigw.ErrorBody
			if jerr := json.Unmarshal([]byte(resp.Body), &eb); jerr != nil {
				t.Fatalf("body %s", resp.Body)
			}
			if resp.StatusCode != tt.status || eb.Error.Code != tt.code || eb.Error.RequestID != "req-1" {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, tt.status, tt.code)
			}
			if tt.message != "" && eb.Error.Message != tt.message {
				t.Fatalf("message %q", eb.Error.Message)
			}
			if tt.status == 400 && len(env.hits) != 0 {
				t.Fatalf("a refused input reached the endpoint %d times", len(env.hits))
			}
		})
	}
}

func TestHandleTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	env := newHandlerEnv(t, 200, `{}`)
	env.h.HTTP = localEgress
	env.h.Actions = fakeActions{"slow": httpAction(t, "slow", `{"url":"`+srv.URL+`","timeoutMs":100}`)}
	resp, _ := env.invoke(context.Background(), actionEvent(`{"botId":"618a30beee4e8e87d2f94015","name":"slow","data":[]}`))
	if resp.StatusCode != 504 || !strings.Contains(resp.Body, `"action_timeout"`) {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

func TestHandleMethod(t *testing.T) {
	env := newHandlerEnv(t, 200, `{}`)
	ev := actionEvent(`{}`)
	ev.RequestContext.HTTP.Method = "GET"
	resp, _ := env.invoke(context.Background(), ev)
	if resp.StatusCode != 405 || resp.Headers["Allow"] != "POST" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
	}
}

// memDB is the Tenants table in memory, for the real tenant.Loader.
type memDB map[string]tenant.Item

func (db memDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	pk := in.Key["pk"].(*types.AttributeValueMemberS).Value
	sk := in.Key["sk"].(*types.AttributeValueMemberS).Value
	return &dynamodb.GetItemOutput{Item: db[pk+"/"+sk]}, nil
}

// One tenant's action must never send another tenant's secret: an action
// of agent A naming B's agent secret (or B's action secret, or an
// account's credentials) is refused on the real read path, before any
// secret is read and before any call-out, whether the item came through
// the loader or not.
func TestActionCannotReadAnotherTenantsSecret(t *testing.T) {
	const agentB = "64f1c0ffee0ddba11ad0be57"
	foreign := []string{
		"crmbridge/agents/" + agentB,
		"crmbridge/actions/" + agentB + "/shop",
		"crmbridge/sources/generic/acme",
		"crmbridge/agents/" + testAgent, // its own agent secret is not an action secret either
		"other/secret",
	}
	for _, name := range foreign {
		t.Run(name, func(t *testing.T) {
			env := newHandlerEnv(t, 200, `{}`)
			env.sec.values[name] = `{"apiKey":"B-KEY","token":"B-TOKEN"}`
			raw := `{"url":"` + env.url + `/x","headers":{"X-Api-Key":"{{secret.apiKey}}"},"secret":"` + name + `"}`
			it, err := tenant.DecodeItemJSON([]byte(`{"pk":{"S":"AGENT#` + testAgent + `"},"sk":{"S":"ACTION#steal"},"kind":{"S":"http"},"http":{"M":{` +
				`"url":{"S":"` + env.url + `/x"},"headers":{"M":{"X-Api-Key":{"S":"{{secret.apiKey}}"}}},"secret":{"S":"` + name + `"}}}}`))
			if err != nil {
				t.Fatal(err)
			}
			// Through the loader, as deployed: the item is refused when read.
			env.h.Actions = &tenant.Loader{DB: memDB{"AGENT#" + testAgent + "/ACTION#steal": it}, Table: "T", Hooks: tenant.Hooks{Action: Parser(localEgress)}}
			resp, _ := env.invoke(context.Background(), actionEvent(`{"botId":"`+testAgent+`","name":"steal","data":[]}`))
			if resp.StatusCode != 500 || !strings.Contains(resp.Body, `"config_invalid"`) {
				t.Fatalf("through the loader: %d %s", resp.StatusCode, resp.Body)
			}
			// Handed over without the loader's check: refused at the read.
			spec, err := ParseHTTP(json.RawMessage(raw), localEgress)
			if err != nil {
				t.Fatal(err)
			}
			env.h.Actions = fakeActions{"steal": {AgentID: testAgent, Name: "steal", Kind: tenant.ActionHTTP, Spec: spec}}
			resp, _ = env.invoke(context.Background(), actionEvent(`{"botId":"`+testAgent+`","name":"steal","data":[]}`))
			if resp.StatusCode != 500 || !strings.Contains(resp.Body, `"config_invalid"`) {
				t.Fatalf("at the read: %d %s", resp.StatusCode, resp.Body)
			}
			if len(env.sec.reads) != 0 || len(env.hits) != 0 {
				t.Fatalf("secret reads %v, call-outs %d: want none", env.sec.reads, len(env.hits))
			}
		})
	}
}

// The definition the loader parsed is the one used: no parse per call.
func TestHTTPActionUsesTheParsedSpec(t *testing.T) {
	env := newHandlerEnv(t, 200, `{"order":{"status":"shipped"}}`)
	def := env.h.Actions.(fakeActions)["lookupOrder"]
	spec := def.Spec.(*HTTPSpec)
	spec.Results = spec.Results[:1] // a change to the cached spec shows in the answer
	resp, _ := env.invoke(context.Background(), actionEvent(`{"botId":"`+testAgent+`","name":"lookupOrder","data":[{"key":"orderId","value":"1"}]}`))
	if resp.StatusCode != 200 || resp.Body != `{"results":[{"key":"status","value":"shipped"}]}` {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}
