package generic

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// Deterministic test secrets: 32 bytes of one value each.
func testSecret(b byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), 32)))
}

var (
	inboundSecret  = testSecret('i')
	previousSecret = testSecret('p')
	callbackSecret = testSecret('c')
)

func mustSecret(t *testing.T, s string) stdwebhook.Secret {
	t.Helper()
	k, err := stdwebhook.ParseSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func credsJSON(inbound, previous, callback string) []byte {
	b, _ := json.Marshal(Credentials{InboundSecret: inbound, PreviousInboundSecret: previous, CallbackSecret: callback})
	return b
}

// account returns a generic account calling back to url, with its settings
// parsed as the tenant loader parses them.
func account(url string) *source.Account {
	s, err := parseSettings(json.RawMessage(`{"callbackUrl":"`+url+`"}`), localEgress())
	if err != nil {
		panic(err)
	}
	return &source.Account{
		Source:      &tenant.Source{Source: Name, Account: "acme", AgentID: "618a30beee4e8e87d2f94015", Enabled: true, Settings: s},
		Credentials: credsJSON(inboundSecret, previousSecret, callbackSecret),
	}
}

// wantAPIError fails t unless err is an *apigw.Error with status and code.
func wantAPIError(t *testing.T, err error, status int, code string) *apigw.Error {
	t.Helper()
	var e *apigw.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apigw.Error", err, err)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("got %d %s (%q), want %d %s", e.Status, e.Code, e.Message, status, code)
	}
	return e
}

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// signedRequest is an inbound request signed with secret at ts.
func signedRequest(t *testing.T, secret string, id string, ts time.Time, body string) *apigw.Request {
	t.Helper()
	h := http.Header{}
	for k, v := range stdwebhook.Headers(mustSecret(t, secret), id, ts, []byte(body)) {
		h.Set(k, v)
	}
	return &apigw.Request{Method: http.MethodPost, Header: h, Body: []byte(body), Params: map[string]string{}}
}

func TestAuthenticate(t *testing.T) {
	const body = `{"type":"message","data":{"conversationId":"c1","text":"hi"}}`
	a := New(nil, time.Now)
	acct := account("https://tenant.example.com/hook")
	tests := []struct {
		name   string
		req    func(t *testing.T) *apigw.Request
		acct   *source.Account
		status int // 0: accepted
		code   string
	}{
		{name: "inbound secret", req: func(t *testing.T) *apigw.Request { return signedRequest(t, inboundSecret, "evt_1", testNow, body) }},
		{name: "previous secret during rotation", req: func(t *testing.T) *apigw.Request { return signedRequest(t, previousSecret, "evt_1", testNow, body) }},
		{name: "within tolerance", req: func(t *testing.T) *apigw.Request {
			return signedRequest(t, inboundSecret, "evt_1", testNow.Add(-4*time.Minute), body)
		}},
		{name: "callback secret is not an inbound secret", req: func(t *testing.T) *apigw.Request { return signedRequest(t, callbackSecret, "evt_1", testNow, body) },
			status: 401, code: "bad_signature"},
		{name: "tampered body", req: func(t *testing.T) *apigw.Request {
			r := signedRequest(t, inboundSecret, "evt_1", testNow, body)
			r.Body = []byte(strings.Replace(body, "hi", "ho", 1))
			return r
		}, status: 401, code: "bad_signature"},
		{name: "other webhook-id", req: func(t *testing.T) *apigw.Request {
			r := signedRequest(t, inboundSecret, "evt_1", testNow, body)
			r.Header.Set("webhook-id", "evt_2")
			return r
		}, status: 401, code: "bad_signature"},
		{name: "garbage signature", req: func(t *testing.T) *apigw.Request {
			r := signedRequest(t, inboundSecret, "evt_1", testNow, body)
			r.Header.Set("webhook-signature", "v1,AAAA")
			return r
		}, status: 401, code: "bad_signature"},
		{name: "stale timestamp", req: func(t *testing.T) *apigw.Request {
			return signedRequest(t, inboundSecret, "evt_1", testNow.Add(-6*time.Minute), body)
		}, status: 401, code: "bad_timestamp"},
		{name: "future timestamp", req: func(t *testing.T) *apigw.Request {
			return signedRequest(t, inboundSecret, "evt_1", testNow.Add(6*time.Minute), body)
		}, status: 401, code: "bad_timestamp"},
		{name: "timestamp not a number", req: func(t *testing.T) *apigw.Request {
			r := signedRequest(t, inboundSecret, "evt_1", testNow, body)
			r.Header.Set("webhook-timestamp", "2025-06-01T12:00:00Z")
			return r
		}, status: 401, code: "bad_timestamp"},
		{name: "missing webhook-id", req: func(t *testing.T) *apigw.Request {
			r := signedRequest(t, inboundSecret, "evt_1", testNow, body)
			r.Header.Del("webhook-id")
			return r
		}, status: 401, code: "missing_signature"},
		{name: "missing webhook-timestamp", req: func(t *testing.T) *apigw.Request {
			r := signedRequest(t, inboundSecret, "evt_1", testNow, body)
			r.Header.Del("webhook-timestamp")
			return r
		}, status: 401, code: "missing_signature"},
		{name: "missing webhook-signature", req: func(t *testing.T) *apigw.Request {
			r := signedRequest(t, inboundSecret, "evt_1", testNow, body)
			r.Header.Del("webhook-signature")
			return r
		}, status: 401, code: "missing_signature"},
		{name: "no headers at all", req: func(t *testing.T) *apigw.Request {
			return &apigw.Request{Header: http.Header{}, Body: []byte(body)}
		}, status: 401, code: "missing_signature"},
		{name: "no credentials", req: func(t *testing.T) *apigw.Request { return signedRequest(t, inboundSecret, "evt_1", testNow, body) },
			acct: &source.Account{Source: acct.Source}, status: 500, code: "account_misconfigured"},
		{name: "credentials without inbound secret", req: func(t *testing.T) *apigw.Request { return signedRequest(t, inboundSecret, "evt_1", testNow, body) },
			acct: &source.Account{Source: acct.Source, Credentials: credsJSON("", "", callbackSecret)}, status: 500, code: "account_misconfigured"},
		{name: "credentials not JSON", req: func(t *testing.T) *apigw.Request { return signedRequest(t, inboundSecret, "evt_1", testNow, body) },
			acct: &source.Account{Source: acct.Source, Credentials: []byte("whsec_x")}, status: 500, code: "account_misconfigured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ac := acct
			if tt.acct != nil {
				ac = tt.acct
			}
			err := a.Authenticate(tt.req(t), ac, testNow)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				return
			}
			e := wantAPIError(t, err, tt.status, tt.code)
			for _, s := range []string{inboundSecret, previousSecret, callbackSecret, "aWlp", "cHBw", "Y2Nj"} {
				if strings.Contains(e.Message, s) || strings.Contains(err.Error(), s) {
					t.Fatalf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func TestAuthenticateTolerance(t *testing.T) {
	a := &Adapter{Tolerance: time.Minute}
	req := signedRequest(t, inboundSecret, "evt_1", testNow.Add(-2*time.Minute), `{}`)
	wantAPIError(t, a.Authenticate(req, account("https://x.example.com"), testNow), 401, "bad_timestamp")
}

func TestRoute(t *testing.T) {
	a := New(nil, time.Now)
	tests := []struct {
		method string
		proxy  string
		status int
		code   string
	}{
		{method: "POST"},
		{method: "GET", status: 405, code: "method_not_allowed"},
		{method: "PUT", status: 405, code: "method_not_allowed"},
		{method: "POST", proxy: "events", status: 404, code: "route_not_found"},
		{method: "GET", proxy: "a/b", status: 404, code: "route_not_found"},
	}
	for _, tt := range tests {
		req := &apigw.Request{Method: tt.method, Params: map[string]string{"account": "acme"}}
		if tt.proxy != "" {
			req.Params["proxy"] = tt.proxy
		}
		err := a.Route(req)
		if tt.status == 0 {
			if err != nil {
				t.Errorf("%s /%s: %v", tt.method, tt.proxy, err)
			}
			continue
		}
		e := wantAPIError(t, err, tt.status, tt.code)
		if tt.status == 405 && e.Headers["Allow"] != "POST" {
			t.Errorf("Allow %q", e.Headers["Allow"])
		}
	}
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		raw     string
		problem string // "" means valid
		local   string // the problem in the local stack's mode, if it differs
	}{
		{raw: `{"callbackUrl":"https://tenant.example.com/hook"}`},
		{raw: `{"callbackUrl":"https://tenant.example.com/hook","timeoutSeconds":25}`},
		{raw: `{"callbackUrl":"https://tenant.example.com/hook","other":true}`, problem: "other: unknown field (known: callbackUrl, timeoutSeconds)"},
		{raw: `{"callbackUrl":"https://tenant.example.com/hook","timeoutSecond":5}`, problem: "timeoutSecond: unknown field; did you mean `timeoutSeconds`?"},
		{raw: `{"callbackURL":"https://tenant.example.com/hook"}`, problem: "callbackURL: unknown field; did you mean `callbackUrl`?"},
		{raw: `{"callbackUrl":"http://127.0.0.1:9000/hook","timeoutSeconds":1}`, problem: "callbackUrl: host 127.0.0.1: loopback addresses are refused", local: "-"},
		{raw: `{"callbackUrl":"http://localhost/hook"}`, problem: "callbackUrl: host localhost: loopback names are refused", local: "-"},
		{raw: `{"callbackUrl":"https://169.254.169.254/latest"}`, problem: "callbackUrl: host 169.254.169.254: cloud metadata endpoint addresses are refused"},
		{raw: `{"callbackUrl":"https://10.1.2.3/hook"}`, problem: "callbackUrl: host 10.1.2.3: private addresses are refused"},
		{raw: `{}`, problem: "callbackUrl: required"},
		{raw: `{"callbackUrl":""}`, problem: "callbackUrl: required"},
		{raw: `{"callbackUrl":"http://tenant.example.com/hook"}`, problem: "callbackUrl: must be https://"},
		{raw: `{"callbackUrl":"http://127.0.0.1:@tenant.example.com/hook"}`, problem: "callbackUrl: must not carry a user"},
		{raw: `{"callbackUrl":"tenant.example.com"}`, problem: "callbackUrl: must be an absolute https:// URL"},
		{raw: `{"callbackUrl":"https://t.example.com","timeoutSeconds":-1}`, problem: "timeoutSeconds: must be between 1 and 25"},
		{raw: `{"callbackUrl":"https://t.example.com","timeoutSeconds":26}`, problem: "timeoutSeconds: must be between 1 and 25"},
		{raw: `{"callbackUrl":"https://t.example.com","timeoutSeconds":1.5}`, problem: "timeoutSeconds: must be a whole number"},
		{raw: `{"callbackUrl":42}`, problem: "callbackUrl: must be a string, got a number"},
		{raw: `not json`, problem: "not valid JSON"},
		{raw: ``, problem: "callbackUrl: required"},
	}
	strict, local := New(nil, time.Now), New(egress.New(egress.Options{Local: true}), time.Now)
	for _, tt := range tests {
		for _, m := range []struct {
			a       *Adapter
			problem string
		}{{strict, tt.problem}, {local, cmp.Or(tt.local, tt.problem)}} {
			v, err := m.a.ParseSettings(json.RawMessage(tt.raw))
			if m.problem == "" || m.problem == "-" {
				if _, ok := v.(*Settings); err != nil || !ok {
					t.Errorf("ParseSettings(%s), local=%v: %T %v", tt.raw, m.a.HTTP.Local(), v, err)
				}
				continue
			}
			if err == nil || !strings.HasPrefix(err.Error(), m.problem) {
				t.Errorf("ParseSettings(%s), local=%v = %v, want %q", tt.raw, m.a.HTTP.Local(), err, m.problem)
			}
		}
	}
	s, err := parseSettings(json.RawMessage(`{"callbackUrl":"https://t.example.com"}`), strict.HTTP)
	if err != nil || s.TimeoutSeconds != 10 {
		t.Fatalf("default timeout %+v, %v", s, err)
	}
}

func TestValidateCredentials(t *testing.T) {
	const bad = "whsec_dG9vc2hvcnQ=" // "tooshort": decodes, but too few bytes
	tests := []struct {
		name    string
		raw     []byte
		problem string
	}{
		{name: "all three", raw: credsJSON(inboundSecret, previousSecret, callbackSecret)},
		{name: "no previous", raw: credsJSON(inboundSecret, "", callbackSecret)},
		{name: "without prefix", raw: credsJSON(strings.TrimPrefix(inboundSecret, "whsec_"), "", callbackSecret)},
		{name: "empty", raw: nil, problem: "no credentials: set credentialsSecret on the account"},
		{name: "not JSON", raw: []byte(inboundSecret), problem: "credentials: not a JSON object with inboundSecret and callbackSecret"},
		{name: "wrong types", raw: []byte(`{"inboundSecret":1}`), problem: "credentials: not a JSON object"},
		{name: "no inbound", raw: credsJSON("", "", callbackSecret), problem: "credentials inboundSecret: required"},
		{name: "bad inbound", raw: credsJSON(bad, "", callbackSecret), problem: "credentials inboundSecret: parse secret"},
		{name: "bad previous", raw: credsJSON(inboundSecret, bad, callbackSecret), problem: "credentials previousInboundSecret: parse secret"},
		{name: "no callback", raw: credsJSON(inboundSecret, "", ""), problem: "credentials callbackSecret: required"},
		{name: "bad callback", raw: credsJSON(inboundSecret, "", "whsec_!!!"), problem: "credentials callbackSecret: parse secret"},
	}
	a := New(nil, time.Now)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.ValidateCredentials(tt.raw)
			if tt.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.problem) {
				t.Fatalf("err %v, want %q", err, tt.problem)
			}
			for _, s := range []string{inboundSecret, callbackSecret, "dG9vc2hvcnQ", "aWlp", "Y2Nj"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func TestAdapterBasics(t *testing.T) {
	fixed := time.Unix(5, 0)
	eg := egress.New(egress.Options{})
	a := New(eg, func() time.Time { return fixed })
	if a.Name() != "generic" || a.Budget() != 15*time.Second || a.HTTP != eg {
		t.Fatalf("%+v", a)
	}
	if !a.Now().Equal(fixed) {
		t.Fatal("the clock given to New is not the adapter's")
	}
}
