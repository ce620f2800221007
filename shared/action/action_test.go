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

type fakeSecrets map[string]string

func (f fakeSecrets) Get(_ context.Context, name string) ([]byte, error) {
	v, ok := f[name]
	if !ok {
		return nil, errors.New("no such secret")
	}
	return []byte(v), nil
}

// forwarder is a source with built-in actions.
type forwarder struct {
	got     []source.ActionRequest
	results []ultimate.ActionResult
	err     error
}

func (f *forwarder) Name() string                           { return "generic" }
func (f *forwarder) ValidateSettings(json.RawMessage) error { return nil }
func (f *forwarder) ValidateCredentials([]byte) error       { return nil }
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
	hits []seen
	log  bytes.Buffer
	emf  bytes.Buffer
}

func newHandlerEnv(t *testing.T, status int, answer string) *handlerEnv {
	env := &handlerEnv{fwd: &forwarder{results: []ultimate.ActionResult{{Key: "tags", Value: "vip"}}}}
	srv := endpoint(t, status, answer, &env.hits)
	env.h = &Handler{
		Accounts: fakeGate{},
		Actions: fakeActions{
			"lookupOrder": {AgentID: "bot", Name: "lookupOrder", Kind: tenant.ActionHTTP, HTTP: json.RawMessage(`{"method":"GET","url":"` + srv.URL +
				`/orders/{{data.orderId}}","headers":{"Authorization":"Bearer {{secret.token}}"},"secret":"crmbridge/actions/acme",` +
				`"results":[{"key":"status","path":"order.status"},{"key":"total","path":"order.total","sanitize":true}]}`)},
			"badSpec": {AgentID: "bot", Name: "badSpec", Kind: tenant.ActionHTTP, HTTP: json.RawMessage(`{"url":"http://example.com"}`)},
			"noSecret": {AgentID: "bot", Name: "noSecret", Kind: tenant.ActionHTTP, HTTP: json.RawMessage(`{"url":"` + srv.URL +
				`","headers":{"X":"{{secret.x}}"},"secret":"missing"}`)},
			"tag":   {AgentID: "bot", Name: "tag", Kind: tenant.ActionBuiltin, Builtin: "addTags"},
			"weird": {AgentID: "bot", Name: "weird", Kind: "lambda"},
		},
		Secrets:       fakeSecrets{"crmbridge/actions/acme": `{"token":"t0k","n":5}`},
		Conversations: fakeConversations{},
		Sources:       source.NewRegistry(env.fwd),
		HTTP:          srv.Client(),
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
	body := `{"botId":"bot","platformConversationId":"generic:acme:c1","name":"lookupOrder",
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
	body := `{"botId":"bot","platformConversationId":"generic:acme:known","name":"tag","data":[{"key":"tags","value":"vip","saveAs":"tagged"}]}`
	resp, _ := env.invoke(context.Background(), actionEvent(body))
	if resp.StatusCode != 200 || resp.Body != `{"results":[{"key":"tagged","value":"vip"}]}` {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if len(env.fwd.got) != 1 {
		t.Fatalf("%d builtin calls", len(env.fwd.got))
	}
	got := env.fwd.got[0]
	if got.Builtin != "addTags" || got.Name != "tag" || got.AgentID != "bot" || got.Attrs["email"] != "a@example.com" ||
		len(got.Params) != 1 || got.Params[0].Value[0] != "vip" {
		t.Fatalf("builtin request %+v", got)
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
		{name: "converse event at the action route", body: `{"botId":"bot","data":{"eventType":"sendMessage"}}`, status: 400, code: "wrong_route"},
		{name: "not JSON", body: `{`, status: 400, code: "invalid_payload"},
		{name: "unknown action", body: `{"botId":"bot","name":"nope","data":[]}`, status: 404, code: "unknown_action", message: `no action "nope" is configured for agent bot`},
		{name: "invalid action item", body: `{"botId":"bot","name":"broken","data":[]}`, status: 500, code: "config_invalid"},
		{name: "unreadable config", body: `{"botId":"bot","name":"unreadable","data":[]}`, status: 503, code: "config_unavailable"},
		{name: "invalid http spec", body: `{"botId":"bot","name":"badSpec","data":[]}`, status: 500, code: "config_invalid"},
		{name: "missing secret", body: `{"botId":"bot","name":"noSecret","data":[]}`, status: 500, code: "credentials_unavailable"},
		{name: "unknown kind", body: `{"botId":"bot","name":"weird","data":[]}`, status: 500, code: "config_invalid"},
		{name: "builtin without conversation", body: `{"botId":"bot","name":"tag","data":[]}`, status: 400, code: "invalid_payload"},
		{name: "builtin for an unknown source", body: `{"botId":"bot","platformConversationId":"other:acme:c","name":"tag","data":[]}`, status: 422, code: "builtin_unsupported"},
		{name: "endpoint 404", body: `{"botId":"bot","name":"lookupOrder","data":[]}`, answer: 404, status: 502, code: "action_failed", message: "the action's endpoint answered 404"},
		{name: "endpoint 503 after retries", body: `{"botId":"bot","name":"lookupOrder","data":[]}`, answer: 503, status: 502, code: "action_failed"},
		{name: "gate refuses", body: `{"botId":"bot","name":"lookupOrder","data":[]}`, gateErr: apigw.Errorf(403, "forbidden", "no"), status: 403, code: "forbidden"},
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
	env.h.HTTP = srv.Client()
	env.h.Actions = fakeActions{"slow": {AgentID: "bot", Name: "slow", Kind: tenant.ActionHTTP, HTTP: json.RawMessage(`{"url":"` + srv.URL + `","timeoutMs":100}`)}}
	resp, _ := env.invoke(context.Background(), actionEvent(`{"botId":"bot","name":"slow","data":[]}`))
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

func TestSpecCache(t *testing.T) {
	h := &Handler{}
	def := &tenant.Action{AgentID: "a", Name: "n", Kind: tenant.ActionHTTP, HTTP: json.RawMessage(`{"url":"https://a.example.com"}`)}
	s1, err := h.spec(def)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := h.spec(def)
	if s1 != s2 {
		t.Fatal("spec parsed twice")
	}
	changed := *def
	changed.HTTP = json.RawMessage(`{"url":"https://b.example.com"}`)
	s3, _ := h.spec(&changed)
	if s3 == s1 || s3.URL != "https://b.example.com" {
		t.Fatal("a changed definition reused the old spec")
	}
}
