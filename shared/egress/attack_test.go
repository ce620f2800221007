package egress_test

// The attack suite of the outbound side: every caller of egress (generic
// and team callbacks, Sunshine, LivePerson, the Chat API, action call-outs)
// is pointed at an endpoint that redirects elsewhere, and at internal
// addresses directly, with the guard in the deployed (strict) mode. A
// loopback "vendor" and an "attacker" are allow-listed by exact address so
// that the guard is not what stops a redirect; a "canary" on loopback is
// not, standing for the Lambda Runtime API, the metadata service or a
// private host. The test counts what it tried, what was refused and what
// leaked, and logs one line for SECURITY.md:
//
//	ATTACK egress: tried=N refused=N leaks=0

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/action"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/source/sunshine"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// marker is in every secret and in the message text: any copy of it at a
// target that should get nothing is a leak.
const marker = "LEAKME-7f3a"

type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", host)
}

// caller sends one outbound request of a kind to base (scheme://host:port)
// and reports whether the bridge saw a failure.
type caller struct {
	name string
	call func(t *testing.T, eg *egress.Client, base string) error
}

func conv(src, acct string) source.Conversation {
	return source.Conversation{Source: src, Account: acct, ID: "c1"}
}

// The accounts' settings are parsed as the tenant loader parses them, with
// the caller's client: a URL its check refuses never reaches a request.
func genericAccount(eg *egress.Client, base string) (*source.Account, error) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte(marker+strings.Repeat("k", 32-len(marker))))
	settings, err := generic.New(eg, time.Now).ParseSettings(json.RawMessage(`{"callbackUrl":"` + base + `/hook"}`))
	if err != nil {
		return nil, err
	}
	creds, _ := json.Marshal(generic.Credentials{InboundSecret: secret, CallbackSecret: secret})
	return &source.Account{Source: &tenant.Source{Source: "generic", Account: "acme", AgentID: "a1", Enabled: true, Settings: settings}, Credentials: creds}, nil
}

var callers = []caller{
	{name: "generic callback", call: func(t *testing.T, eg *egress.Client, base string) error {
		msg := ultimate.Message{Type: "text", Text: "your code is " + marker, MessageID: "m1"}
		acct, err := genericAccount(eg, base)
		if err != nil {
			return err
		}
		return generic.New(eg, time.Now).Send(context.Background(), acct, conv("generic", "acme"), msg, nil)
	}},
	{name: "team callback", call: func(t *testing.T, eg *egress.Client, base string) error {
		acct, err := genericAccount(eg, base)
		if err != nil {
			return err
		}
		_, err = generic.New(eg, time.Now).TeamOnline(context.Background(), acct, source.TeamQuery{TeamID: marker})
		return err
	}},
	{name: "sunshine", call: func(t *testing.T, eg *egress.Client, base string) error {
		raw, _ := json.Marshal(map[string]any{"baseUrl": base, "integrationId": "i1"})
		settings, err := sunshine.New(eg).ParseSettings(raw)
		if err != nil {
			return err
		}
		creds, _ := json.Marshal(map[string]string{"keyId": "app_1", "keySecret": marker, "webhookSecret": "w"})
		acct := &source.Account{Source: &tenant.Source{Source: "sunshine", Account: "app1", AgentID: "a1", Enabled: true, Settings: settings}, Credentials: creds}
		msg := ultimate.Message{Type: "text", Text: "your code is " + marker, MessageID: "m1"}
		return sunshine.New(eg).Send(context.Background(), acct, conv("sunshine", "app1"), msg, nil)
	}},
	{name: "liveperson", call: func(t *testing.T, eg *egress.Client, base string) error {
		s, err := lptest.DemoSentinel()
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(map[string]any{"botId": lptest.DemoBotID, "jwtPublicKeyPem": s.PublicKeyPEM(), "apiBaseUrl": base})
		settings, err := liveperson.New(eg, time.Now).ParseSettings(raw)
		if err != nil {
			return err
		}
		creds, _ := json.Marshal(map[string]string{"username": "bot", "password": marker})
		acct := &source.Account{Source: &tenant.Source{Source: "liveperson", Account: lptest.DemoAccount, AgentID: "a1", Enabled: true, Settings: settings}, Credentials: creds}
		msg := ultimate.Message{Type: "text", Text: "your code is " + marker, MessageID: "m1"}
		return liveperson.New(eg, time.Now).Send(context.Background(), acct, conv("liveperson", lptest.DemoAccount), msg, nil)
	}},
	{name: "chat API", call: func(t *testing.T, eg *egress.Client, base string) error {
		c := &ultimate.Client{HTTP: eg, Keys: apiKey{}, DefaultBaseURL: base, Retry: retry.Policy{Attempts: 1}}
		return c.Chat(context.Background(), ultimate.Target{AgentID: "a1"}, ultimate.ChatEvent{PlatformConversationID: "generic:acme:c1", EventType: ultimate.EventMessage, Text: marker})
	}},
	{name: "action call-out", call: func(t *testing.T, eg *egress.Client, base string) error {
		spec, _ := json.Marshal(map[string]any{
			"method": "POST", "url": base + "/orders/{{data.id}}", "secret": "crmbridge/actions/a1/shop",
			"headers": map[string]string{"X-Api-Key": "{{secret.key}}"}, "body": map[string]string{"k": "{{secret.k}}"},
			"results": []map[string]string{{"key": "status", "path": "status"}},
		})
		parsed, err := action.ParseHTTP(spec, eg)
		if err != nil {
			return err
		}
		h := &action.Handler{
			Accounts: gate{},
			Actions:  actions{"lookup": {AgentID: "a1", Name: "lookup", Kind: tenant.ActionHTTP, Spec: parsed}},
			Secrets:  secrets{"crmbridge/actions/a1/shop": `{"key":"` + marker + `","k":"` + marker + `"}`},
			HTTP:     eg, Retry: retry.Policy{Attempts: 1},
		}
		body := `{"botId":"a1","name":"lookup","data":[{"key":"id","value":"o1"}]}`
		fn := &apigw.Handler{Name: "webhook-action", Serve: h.Serve, Now: time.Now}
		resp, err := fn.Invoke(context.Background(), events.APIGatewayV2HTTPRequest{
			RouteKey: "POST /webhooks/action", RawPath: "/webhooks/action", Body: body,
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "r1", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/webhooks/action"}},
		})
		if err != nil {
			return err
		}
		if strings.Contains(resp.Body, marker) {
			t.Errorf("the action's answer carries the secret: %s", resp.Body)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d %s", resp.StatusCode, resp.Body)
		}
		return nil
	}},
}

type apiKey struct{}

func (apiKey) APIKey(context.Context, string) (string, error) { return marker, nil }
func (apiKey) ForgetAPIKey(string)                            {}

type gate struct{}

func (gate) Admit(_ context.Context, req *apigw.Request, _ string) (*accounts.Call, error) {
	w, err := ultimate.ParseWebhook(req.Body)
	if err != nil {
		return nil, err
	}
	return &accounts.Call{Hook: w, Agent: &tenant.Agent{AgentID: w.BotID}}, nil
}

type actions map[string]*tenant.Action

func (a actions) Action(_ context.Context, _, name string) (*tenant.Action, error) {
	if d, ok := a[name]; ok {
		return d, nil
	}
	return nil, tenant.ErrNotFound
}

type secrets map[string]string

func (s secrets) ActionSecret(_ context.Context, _ *tenant.Action, name string, parse func([]byte) (any, error)) (any, error) {
	return parse([]byte(s[name]))
}

func TestAttackEgress(t *testing.T) {
	attacker := egress.NewTarget(t, nil)
	canary := egress.NewTarget(t, nil)
	canaryPort := fmt.Sprint(canary.Addr().Port())
	res := resolver{
		"rebind.attacker.example": {netip.MustParseAddr("127.0.0.1")},
		"mixed.attacker.example":  {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")},
		"meta.attacker.example":   {netip.MustParseAddr("169.254.169.254")},
		"mapped.attacker.example": {netip.MustParseAddr("::ffff:127.0.0.1")},
	}
	// Redirect targets: another origin that would accept anything, and
	// internal addresses the URL check refuses.
	redirects := []string{
		attacker.URL + "/steal",
		"http://localhost:" + canaryPort + "/",
		"http://127.0.0.1:" + canaryPort + "/2018-06-01/runtime/invocation/next",
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"https://rebind.attacker.example:" + canaryPort + "/",
	}
	// Configured URLs that point inside, directly or through DNS.
	internal := []string{
		"http://127.0.0.1:" + canaryPort,
		"http://localhost:" + canaryPort,
		"http://[::1]:" + canaryPort,
		"https://rebind.attacker.example:" + canaryPort,
		"https://mixed.attacker.example:" + canaryPort,
		"https://mapped.attacker.example:" + canaryPort,
		"https://meta.attacker.example",
		"http://169.254.169.254",
		"https://10.0.0.1",
		"https://100.64.0.1",
		"https://[::ffff:127.0.0.1]:" + canaryPort,
	}
	var tried, refused int
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			for _, code := range []int{301, 302, 303, 307, 308} {
				for _, loc := range redirects {
					vendor := egress.NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("Location", loc)
						w.WriteHeader(code)
					})
					eg := egress.New(egress.Options{Allow: []netip.AddrPort{vendor.Addr(), attacker.Addr()}, Resolver: res})
					before := attacker.Requests() + canary.Conns()
					err := c.call(t, eg, vendor.URL)
					tried++
					if err != nil && vendor.Requests() == 1 && attacker.Requests()+canary.Conns() == before {
						refused++
					} else {
						t.Errorf("%d to %s: err %v, vendor got %d requests", code, loc, err, vendor.Requests())
					}
				}
			}
			for _, u := range internal {
				eg := egress.New(egress.Options{Allow: []netip.AddrPort{attacker.Addr()}, Resolver: res})
				before := canary.Conns()
				err := c.call(t, eg, u)
				tried++
				if err != nil && canary.Conns() == before {
					refused++
				} else {
					t.Errorf("%s: err %v, canary connections %d", u, err, canary.Conns()-before)
				}
			}
		})
	}
	leaks := attacker.Requests() + canary.Conns() + attacker.Copies(marker) + canary.Copies(marker)
	t.Logf("ATTACK egress: tried=%d refused=%d leaks=%d", tried, refused, leaks)
	if leaks != 0 || refused != tried {
		t.Fatalf("attacker got %d requests (%d copies of a secret), canary %d connections; refused %d of %d",
			attacker.Requests(), attacker.Copies(marker), canary.Conns(), refused, tried)
	}
}

// TestAttackEgressControl: the same callers reach an allowed vendor, so the
// refusals above are the guard's and the redirect rule's doing, not a
// broken set-up.
func TestAttackEgressControl(t *testing.T) {
	for _, c := range callers {
		vendor := egress.NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/login"):
				_, _ = io.WriteString(w, `{"bearer":"b"}`)
			case strings.HasSuffix(r.URL.Path, "/hook"):
				_, _ = io.WriteString(w, `{"isOnline":true}`)
			default:
				_, _ = io.WriteString(w, `{"status":"shipped"}`)
			}
		})
		eg := egress.New(egress.Options{Allow: []netip.AddrPort{vendor.Addr()}})
		if err := c.call(t, eg, vendor.URL); err != nil || vendor.Requests() == 0 {
			t.Errorf("%s: %v, %d requests", c.name, err, vendor.Requests())
		}
	}
}
