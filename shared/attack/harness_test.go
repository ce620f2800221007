package attack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/secrets/secretstest"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// ---- the world: loopback servers standing in for everyone outside ----

// server is a loopback HTTP server that counts the connections it accepts
// (whatever speaks on them), keeps every request it reads, and answers with
// a handler the test can swap between trials.
type server struct {
	*httptest.Server
	conns   atomic.Int64
	handler atomic.Pointer[http.HandlerFunc]
	mu      sync.Mutex
	reqs    []seen
}

// seen is one request a server read.
type seen struct {
	method, uri string
	header      http.Header
	body        []byte
}

func (s seen) String() string {
	var b strings.Builder
	b.WriteString(s.method + " " + s.uri + "\n")
	_ = s.header.Write(&b)
	b.Write(s.body)
	// Basic credentials count as what they encode.
	for _, v := range s.header.Values("Authorization") {
		if enc, ok := strings.CutPrefix(v, "Basic "); ok {
			if dec, err := base64.StdEncoding.DecodeString(enc); err == nil {
				b.WriteString("\n" + string(dec))
			}
		}
	}
	return b.String()
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.set(h)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: b})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		if h := s.handler.Load(); h != nil && *h != nil {
			(*h)(w, r)
		}
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// set swaps the handler (nil answers 200 with an empty body).
func (s *server) set(h http.HandlerFunc) { s.handler.Store(&h) }

func (s *server) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// copies counts the occurrences of any of needles in what s received.
func (s *server) copies(needles ...string) int {
	n := 0
	for _, r := range s.requests() {
		n += countAll(r.String(), needles)
	}
	return n
}

func (s *server) addr() netip.AddrPort {
	return netip.MustParseAddrPort(s.Listener.Addr().String())
}

func countAll(hay string, needles []string) int {
	n := 0
	for _, x := range needles {
		if x != "" {
			n += strings.Count(hay, x)
		}
	}
	return n
}

// vendorOK is what the platforms, the AI agent and the tenants' endpoints
// answer when all is well, in the shapes the adapters read.
func vendorOK(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/login"):
		_, _ = io.WriteString(w, `{"bearer":"lp-bearer"}`)
	case strings.Contains(r.URL.Path, "/command/"):
		_, _ = io.WriteString(w, `{"state":"completed"}`)
	case strings.HasSuffix(r.URL.Path, "/jwks"):
		_, _ = io.WriteString(w, jwksOf(sentinelA()))
	case bytes.Contains(b, []byte(`"type":"team.status"`)):
		_, _ = io.WriteString(w, `{"isOnline":true}`)
	case bytes.Contains(b, []byte(`"type":"action"`)):
		_, _ = io.WriteString(w, `{"results":[]}`)
	case strings.Contains(r.URL.Path, "/shop/"):
		_, _ = io.WriteString(w, `{"status":"shipped","customer":{"email":"`+piiEmail+`"}}`)
	default:
		_, _ = io.WriteString(w, `{}`)
	}
}

// world is what a test's environments share: the vendor every item points
// at (allowed by the egress client, as a deployed vendor would be), an
// attacker on another allowed address (so that only the redirect rule can
// stop a request reaching it), and a canary on loopback the guard must
// refuse, standing for the Lambda Runtime API, the metadata service or a
// private host.
type world struct {
	vendor, attacker, canary *server
	eg                       *egress.Client
}

// rebinding names resolve, at dial time, to addresses the URL check cannot
// see in the name.
func (w *world) resolver() resolver {
	return resolver{
		"rebind.attacker.example":  {netip.MustParseAddr("127.0.0.1")},
		"mixed.attacker.example":   {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")},
		"meta.attacker.example":    {netip.MustParseAddr("169.254.169.254")},
		"mapped.attacker.example":  {netip.MustParseAddr("::ffff:127.0.0.1")},
		"private.attacker.example": {netip.MustParseAddr("10.1.2.3")},
	}
}

type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", host)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{
		vendor:   newServer(t, vendorOK),
		attacker: newServer(t, vendorOK),
		canary:   newServer(t, vendorOK),
	}
	// The deployed (strict) client, with the vendor and the attacker
	// allowed by exact address: only the canary is "internal".
	w.eg = egress.New(egress.Options{Allow: []netip.AddrPort{w.vendor.addr(), w.attacker.addr()}, Resolver: w.resolver()})
	return w
}

// checkVendorPaths fails t if a vendor received a request whose path has a
// dot segment or a control character: what an ID placed in a path must
// never make.
func (w *world) checkVendorPaths(t testing.TB) (bad int) {
	t.Helper()
	for _, s := range []*server{w.vendor, w.attacker, w.canary} {
		for _, r := range s.requests() {
			p, _, _ := strings.Cut(r.uri, "?")
			for _, seg := range strings.Split(p, "/") {
				dec, err := url.PathUnescape(seg)
				if err != nil || dec == "." || dec == ".." || strings.ContainsAny(dec, "\r\n\x00") {
					bad++
					t.Errorf("a vendor received a path with a dot segment or a control character: %s %s", r.method, r.uri)
					break
				}
			}
		}
	}
	return bad
}

// outside counts what reached a place nothing may reach: requests at the
// attacker, connections to the canary (whatever spoke on them: a TLS hello
// to its plain HTTP port is one) and requests on them (a kept-alive
// connection is opened once).
func (w *world) outside() int {
	return w.attacker.count() + int(w.canary.conns.Load()) + w.canary.count()
}

// ---- the tenants ----

const (
	agentA = "64f1c0ffee0ddba11ad0be57"
	agentB = "618a30beee4e8e87d2f94015"
	// piiEmail is in vendors' answers (error bodies included): it must
	// never reach a log line, a dead letter or an answer of the bridge.
	piiEmail = "ada.lovelace@example.com"
)

// tenantFix is one customer: an AI agent with its generic, Sunshine and
// LivePerson accounts, actions and secrets. Every secret value carries the
// tenant's marker, so a copy anywhere it should not be is counted.
type tenantFix struct {
	name, agent, marker                  string
	generic, sunshine, lp, lpJWKS, lpBot string
	scheme                               webhookauth.Scheme
	apiKey, webhookSecret                string
	inbound, callback                    string // whsec_ keys
	sunKeyID, sunKeySecret, sunWebhook   string
	lpPassword, shopKey, shopK           string
	sentinel                             *lptest.Sentinel
	inboundKey                           stdwebhook.Secret
}

func whsec(marker string) string {
	key := []byte(marker + strings.Repeat("k", 32))[:32]
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

func newTenant(name, agent, marker string, scheme webhookauth.Scheme, s *lptest.Sentinel, acctBase string) *tenantFix {
	tn := &tenantFix{
		name: name, agent: agent, marker: marker, scheme: scheme,
		generic: "acme-" + strings.ToLower(name), sunshine: acctBase + "5a0a1", lp: acctBase[:4] + "0001", lpJWKS: acctBase[:4] + "0002",
		lpBot:  "3f1c6a2e-8d4b-4e0f-9a77-2b5c1d9e6f1" + strings.ToLower(name)[:1],
		apiKey: marker + "-apikey", webhookSecret: marker + "-webhook",
		inbound: whsec(marker + "in"), callback: whsec(marker + "cb"),
		sunKeyID: "app_" + strings.ToLower(name), sunKeySecret: marker + "-sunkey", sunWebhook: marker + "-sunhook",
		lpPassword: marker + "-lppass", shopKey: marker + "-shopkey", shopK: marker + "-shopk",
	}
	tn.sentinel = &lptest.Sentinel{Account: tn.lp, Key: s.Key, KID: s.KID}
	tn.inboundKey, _ = stdwebhook.ParseSecret(tn.inbound)
	return tn
}

// secretValues are every secret the tenant has, as stored.
func (tn *tenantFix) secretValues() []string {
	return []string{tn.apiKey, tn.webhookSecret, tn.inbound, tn.callback, tn.sunKeySecret, tn.sunWebhook, tn.lpPassword, tn.shopKey, tn.shopK}
}

// secretNames are the names of its secrets in Secrets Manager.
func (tn *tenantFix) secretNames() []string {
	return []string{
		tenanttest.AgentSecretName(tn.agent), tenanttest.SourceSecretName(generic.Name, tn.generic),
		tenanttest.SourceSecretName("sunshine", tn.sunshine), tenanttest.SourceSecretName("liveperson", tn.lp),
		tenanttest.SourceSecretName("liveperson", tn.lpJWKS), "crmbridge/actions/" + tn.agent + "/shop",
	}
}

var (
	sentinelOnce sync.Once
	sentinels    [2]*lptest.Sentinel
	sentinelErr  error
)

// sentinelA is the demo Sentinel (its key is embedded); B gets a key of
// its own, made once per test binary.
func sentinelA() *lptest.Sentinel { loadSentinels(); return sentinels[0] }
func sentinelB() *lptest.Sentinel { loadSentinels(); return sentinels[1] }

func loadSentinels() {
	sentinelOnce.Do(func() {
		if sentinels[0], sentinelErr = lptest.DemoSentinel(); sentinelErr != nil {
			return
		}
		sentinels[1], sentinelErr = lptest.NewSentinel("")
	})
	if sentinelErr != nil {
		panic(sentinelErr)
	}
}

func jwksOf(s *lptest.Sentinel) string {
	pub := s.Key.PublicKey
	n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	e := base64.RawURLEncoding.EncodeToString([]byte{1, 0, 1})
	return `{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"` + s.KID + `","n":"` + n + `","e":"` + e + `"}]}`
}

var (
	tenantA = newTenant("A", agentA, "SECRET-A-7f3a", webhookauth.Scheme{Kind: webhookauth.SchemeHMAC}, sentinelA(), "aaaa000000000000000")
	tenantB = newTenant("B", agentB, "SECRET-B-91c2", webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}, sentinelB(), "bbbb000000000000000")
)

// urls are where a tenant's items send the bridge; tests point one of them
// somewhere it must not go.
type urls struct {
	callback, sunshine, liveperson, jwks, agent, action string
}

func (w *world) defaultURLs(tn *tenantFix) urls {
	return urls{
		callback:   w.vendor.URL + "/generic/" + tn.name + "/callback",
		sunshine:   w.vendor.URL,
		liveperson: w.vendor.URL,
		jwks:       w.vendor.URL + "/jwks",
		action:     w.vendor.URL + "/shop/orders/{{data.id}}",
	}
}

// items are the tenant's configuration, as an operator writes it.
func (tn *tenantFix) items(u urls) []tenanttest.Fields {
	scheme := tenanttest.Fields{"scheme": tn.scheme.Kind}
	if tn.scheme.Prefix != "" {
		scheme["prefix"] = tn.scheme.Prefix
	}
	other := tenantB
	if tn == tenantB {
		other = tenantA
	}
	agentExtra := tenanttest.Fields{"teams": tenanttest.Fields{
		"default": tenanttest.Fields{"mode": "fixed", "online": true},
		"desk":    tenanttest.Fields{"mode": "callback", "source": generic.Name, "account": tn.generic},
		// A team whose callback account is the other tenant's: the
		// bridge must refuse to use it for this agent.
		"foreign": tenanttest.Fields{"mode": "callback", "source": generic.Name, "account": other.generic},
	}}
	if u.agent != "" {
		agentExtra["baseUrl"] = u.agent
	}
	lpSettings := func(jwks bool) tenanttest.Fields {
		s := tenanttest.Fields{"botId": tn.lpBot, "apiBaseUrl": u.liveperson, "transferWaitSeconds": 0, "defaultSkill": "human"}
		if jwks {
			s["jwksUrl"] = u.jwks
		} else {
			s["jwtPublicKeyPem"] = tn.sentinel.PublicKeyPEM()
			s["jwtKeyIds"] = []any{tn.sentinel.KID}
		}
		return s
	}
	items := []tenanttest.Fields{
		tenanttest.Agent(tn.agent, scheme, agentExtra),
		tenanttest.Source(generic.Name, tn.generic, tn.agent, tenanttest.Fields{
			"credentialsSecret": tenanttest.SourceSecretName(generic.Name, tn.generic),
			"settings":          tenanttest.Fields{"callbackUrl": u.callback, "timeoutSeconds": 2},
			"metadata":          []any{tenanttest.Fields{"field": "email", "sanitize": true}},
		}),
		tenanttest.Source("sunshine", tn.sunshine, tn.agent, tenanttest.Fields{
			"credentialsSecret": tenanttest.SourceSecretName("sunshine", tn.sunshine),
			"settings":          tenanttest.Fields{"baseUrl": u.sunshine, "integrationId": "int" + tn.sunshine, "actWithoutSwitchboard": true},
		}),
		tenanttest.Source("liveperson", tn.lp, tn.agent, tenanttest.Fields{
			"credentialsSecret": tenanttest.SourceSecretName("liveperson", tn.lp), "settings": lpSettings(false),
		}),
		tenanttest.Source("liveperson", tn.lpJWKS, tn.agent, tenanttest.Fields{
			"credentialsSecret": tenanttest.SourceSecretName("liveperson", tn.lpJWKS), "settings": lpSettings(true),
		}),
		tenanttest.Action(tn.agent, "lookup", tenanttest.Fields{"kind": "http", "http": tenanttest.Fields{
			"method": "POST", "url": u.action, "secret": "crmbridge/actions/" + tn.agent + "/shop",
			"headers": tenanttest.Fields{"X-Api-Key": "{{secret.key}}", "X-Order-Ref": "{{data.ref}}"},
			"body":    tenanttest.Fields{"k": "{{secret.k}}", "note": "{{data.note}}"},
			"results": []any{tenanttest.Fields{"key": "status", "path": "status"}},
		}}),
		tenanttest.Action(tn.agent, "forward", tenanttest.Fields{"kind": "builtin", "builtin": "forward"}),
		tenanttest.Action(tn.agent, "tags", tenanttest.Fields{"kind": "builtin", "builtin": "addTags"}),
	}
	return items
}

func (tn *tenantFix) secretsJSON() map[string]string {
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	lp := j(map[string]string{"username": "bot-" + tn.name, "password": tn.lpPassword})
	return map[string]string{
		tenanttest.AgentSecretName(tn.agent):                  j(tenant.AgentSecret{APIKey: tn.apiKey, WebhookSecret: tn.webhookSecret}),
		tenanttest.SourceSecretName(generic.Name, tn.generic): j(generic.Credentials{InboundSecret: tn.inbound, CallbackSecret: tn.callback}),
		tenanttest.SourceSecretName("sunshine", tn.sunshine):  j(map[string]string{"keyId": tn.sunKeyID, "keySecret": tn.sunKeySecret, "webhookSecret": tn.sunWebhook}),
		tenanttest.SourceSecretName("liveperson", tn.lp):      lp,
		tenanttest.SourceSecretName("liveperson", tn.lpJWKS):  lp,
		"crmbridge/actions/" + tn.agent + "/shop":             j(map[string]string{"key": tn.shopKey, "k": tn.shopK}),
	}
}

// ---- one bridge over fresh fakes ----

// env is the bridge as the functions wire it (app.Build, Deps.Handlers)
// over in-memory DynamoDB and Secrets Manager, with both tenants
// configured.
type env struct {
	w        *world
	db       *dynamotest.DB
	sm       *secretstest.Secrets
	clock    *apptest.Clock
	deps     *app.Deps
	handlers map[string]apigw.LambdaHandler
	logs     *sink
	seq      atomic.Int64

	mu      sync.Mutex
	dbOps   map[string]int // DynamoDB calls by operation
	smReads map[string]int // Secrets Manager reads by secret name
}

type envOptions struct {
	// urls changes where a tenant's items point (default: the vendor).
	urls func(tn *tenantFix, u *urls)
	// items changes a tenant's items before they are written, bypassing
	// `tenants validate` as an operator's direct put-item would.
	items func(tn *tenantFix, items []tenanttest.Fields)
	// discardLogs keeps no log lines (the memory test): they are still
	// scanned for secrets as they are written.
	discardLogs bool
	// eg replaces the world's client.
	eg *egress.Client
}

func (w *world) env(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{w: w, db: dynamotest.New(), sm: secretstest.New(), clock: &apptest.Clock{}, dbOps: map[string]int{}, smReads: map[string]int{}}
	e.clock.Add(time.Duration(apptest.Start.UnixNano()))
	e.logs = &sink{keep: !o.discardLogs, secrets: append(tenantA.secretValues(), tenantB.secretValues()...)}
	ctx := context.Background()
	if err := localstack.CreateTables(ctx, e.db, apptest.TenantsTable, apptest.StateTable); err != nil {
		t.Fatal(err)
	}
	for _, tn := range []*tenantFix{tenantA, tenantB} {
		u := w.defaultURLs(tn)
		if o.urls != nil {
			o.urls(tn, &u)
		}
		items := tn.items(u)
		if o.items != nil {
			o.items(tn, items)
		}
		if err := tenanttest.Put(ctx, e.db, apptest.TenantsTable, items...); err != nil {
			t.Fatal(err)
		}
		for name, v := range tn.secretsJSON() {
			e.sm.Set(name, v)
		}
	}
	e.db.Fault = func(op, _ string) error {
		e.mu.Lock()
		e.dbOps[op]++
		e.mu.Unlock()
		return nil
	}
	e.sm.Fault = func(name string) error {
		e.mu.Lock()
		e.smReads[name]++
		e.mu.Unlock()
		return nil
	}
	eg := o.eg
	if eg == nil {
		eg = w.eg
	}
	cfg := app.Config{
		TenantsTable: apptest.TenantsTable, StateTable: apptest.StateTable, UltimateBaseURL: w.vendor.URL,
		LogLevel: "DEBUG", DeadLetterTTL: 24 * time.Hour, ConfigTTL: time.Minute, SecretsTTL: 5 * time.Minute,
	}
	pol := apptest.Fast
	e.deps = app.Build(cfg, e.db, e.sm, app.Options{Out: e.logs, Service: "attack", Now: e.clock.Now, Retry: &pol, Egress: eg})
	e.handlers = e.deps.Handlers(nil)
	return e
}

// cost is what a unit of work cost in AWS calls.
type cost struct{ db, dbWrites, sm int }

func (e *env) cost() cost {
	e.mu.Lock()
	defer e.mu.Unlock()
	var c cost
	for op, n := range e.dbOps {
		c.db += n
		if op != "GetItem" && op != "Query" && op != "Scan" {
			c.dbWrites += n
		}
	}
	for _, n := range e.smReads {
		c.sm += n
	}
	return c
}

func (c cost) minus(d cost) cost { return cost{c.db - d.db, c.dbWrites - d.dbWrites, c.sm - d.sm} }

// reads returns how often the named secrets were read.
func (e *env) reads(names ...string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, x := range names {
		n += e.smReads[x]
	}
	return n
}

// sink receives the bridge's log and metric lines. Every write is checked
// for secret values and for being one JSON line; kept lines can be
// searched afterwards.
type sink struct {
	keep    bool
	secrets []string
	mu      sync.Mutex
	lines   []string
	n       int
	leaks   int // writes that held a secret
	broken  int // writes that were not one JSON object on one line
}

func (s *sink) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	leak := countAll(line, s.secrets)
	broken := strings.Contains(line, "\n") || !json.Valid([]byte(line))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.leaks += leak
	if broken {
		s.broken++
	}
	if s.keep {
		s.lines = append(s.lines, line)
	}
	return len(p), nil
}

func (s *sink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func (s *sink) counts() (lines, leaks, broken int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.leaks, s.broken
}

// ---- requests as API Gateway delivers them ----

// request is an HTTP request to the API, path percent-encoded as sent.
type request struct {
	method string
	path   string
	query  string
	header map[string]string
	body   []byte
	b64    bool // the body is already base64 and flagged so
}

// answer is what the bridge answered, or the panic it raised.
type answer struct {
	fn       string
	status   int
	header   map[string]string
	body     string
	err      error
	panicked any
}

// problem decodes a JSON error answer.
func (a answer) problem() (code, message string, ok bool) { return apptest.ErrorBody(a.body) }

func (a answer) String() string {
	b := a.body
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	if a.panicked != nil {
		return fmt.Sprintf("%s PANIC %v", a.fn, a.panicked)
	}
	return fmt.Sprintf("%s %d %s", a.fn, a.status, b)
}

// event is the HTTP API event for r: matched against the route table as
// API Gateway matches it (unmatched requests go to the $default route),
// path parameters decoded.
func (e *env) event(r request) (string, events.APIGatewayV2HTTPRequest) {
	rt, params, ok := route.Table.Match(r.method, r.path)
	key := rt.Key()
	if !ok {
		key, params = apigw.DefaultRoute, nil
	}
	for k, v := range params {
		if dec, err := url.PathUnescape(v); err == nil {
			params[k] = dec
		}
	}
	h := map[string]string{}
	if len(r.body) > 0 {
		h["content-type"] = "application/json"
	}
	for k, v := range r.header {
		h[strings.ToLower(k)] = v
	}
	body := string(r.body)
	return rt.Target, events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: key, RawPath: r.path, RawQueryString: r.query, Headers: h,
		PathParameters: params, Body: body, IsBase64Encoded: r.b64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: key, RequestID: fmt.Sprintf("atk-%d", e.seq.Add(1)), Stage: "$default", DomainName: "api.example.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.method, Path: r.path, SourceIP: "203.0.113.9"},
		},
	}
}

// do sends r through the function its route targets, recovering a panic.
func (e *env) do(r request) answer {
	fn, ev := e.event(r)
	return invoke(fn, e.handlers[fn], ev)
}

func invoke(fn string, h apigw.LambdaHandler, ev events.APIGatewayV2HTTPRequest) (a answer) {
	a.fn = fn
	defer func() {
		if p := recover(); p != nil {
			a.panicked = p
		}
	}()
	resp, err := h(context.Background(), ev)
	a.status, a.header, a.body, a.err = resp.StatusCode, resp.Headers, resp.Body, err
	return a
}

// ---- what each caller sends ----

func (e *env) next() int64 { return e.seq.Add(1) }

// genericReq is a generic inbound event signed with key at the bridge's
// current time.
func (e *env) genericReq(account string, key stdwebhook.Secret, id, typ string, data generic.InboundData) request {
	return e.genericAt(account, key, id, typ, data, e.clock.Now())
}

func (e *env) genericAt(account string, key stdwebhook.Secret, id, typ string, data generic.InboundData, at time.Time) request {
	body, _ := generic.NewEvent(typ, data, at)
	return request{method: "POST", path: "/sources/generic/" + account, header: stdwebhook.Headers(key, id, at, body), body: body}
}

// sunshineReq is a Sunshine Conversations webhook delivery for app.
func sunshineReq(app, apiKey string, evs ...map[string]any) request {
	body, _ := json.Marshal(map[string]any{"app": map[string]string{"id": app}, "webhook": map[string]string{"id": "wh1", "version": "v2"}, "events": evs})
	h := map[string]string{}
	if apiKey != "" {
		h["x-api-key"] = apiKey
	}
	return request{method: "POST", path: "/sources/sunshine/" + app, header: h, body: body}
}

// sunMessage is a visitor's text message event.
func sunMessage(id, conv, text string) map[string]any {
	return map[string]any{"id": id, "type": "conversation:message", "createdAt": "2026-11-25T10:00:00.000Z", "payload": map[string]any{
		"conversation": map[string]any{"id": conv, "type": "personal"},
		"message":      map[string]any{"id": "m-" + id, "author": map[string]any{"type": "user", "userId": "u1"}, "content": map[string]any{"type": "text", "text": text}},
	}}
}

// lpReq is a LivePerson Custom Endpoint call.
func lpReq(r lptest.Request) request {
	h := map[string]string{}
	if r.Authorization != "" {
		h["authorization"] = r.Authorization
	}
	return request{method: r.Method, path: r.Path(), header: h, body: r.Body}
}

// lpEndpoint is the tenant's LivePerson bot, with a valid token.
func (e *env) lpEndpoint(tn *tenantFix) lptest.Endpoint {
	bearer, err := tn.sentinel.Bearer(e.clock.Now())
	if err != nil {
		panic(err)
	}
	return lptest.Endpoint{Account: tn.lp, BotID: tn.lpBot, Authorization: bearer}
}

// webhook is an AI-agent webhook from tn, authenticated with tn's scheme.
func webhook(tn *tenantFix, path string, body []byte) request {
	return signedWebhook(tn.scheme, tn.webhookSecret, path, body)
}

func signedWebhook(s webhookauth.Scheme, secret, path string, body []byte) request {
	h, q := webhookauth.Sign(s, secret, body)
	r := request{method: "POST", path: path, header: h, body: body}
	if len(q) > 0 {
		v := url.Values{}
		for k, x := range q {
			v.Set(k, x)
		}
		r.query = v.Encode()
	}
	return r
}

func converse(bot string, data map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"botId": bot, "channel": "chat", "data": data})
	return b
}

func actionCall(bot, name, pcid string, params ...ultimate.ActionParam) []byte {
	if params == nil {
		params = []ultimate.ActionParam{}
	}
	m := map[string]any{"botId": bot, "name": name, "data": params}
	if pcid != "" {
		m["platformConversationId"] = pcid
	}
	b, _ := json.Marshal(m)
	return b
}

func param(k, v string) ultimate.ActionParam { return ultimate.ActionParam{Key: k, Value: []string{v}} }

// ---- the figures ----

// tally counts one class of attack: what was tried, refused, leaked and
// how often the bridge panicked.
type tally struct {
	class                         string
	tried, refused, leaks, panics int
	extra                         []string
}

// add records one attempt: problem is why it was not refused as it must
// be ("" when it was), leaks how many secrets or forbidden bytes got out.
func (tl *tally) add(t testing.TB, what string, a answer, problem string, leaks int) {
	t.Helper()
	tl.tried++
	tl.leaks += leaks
	switch {
	case a.panicked != nil:
		tl.panics++
		t.Errorf("%s: panic: %v", what, a.panicked)
	case problem != "":
		t.Errorf("%s: %s: %s", what, problem, a)
	default:
		tl.refused++
	}
	if leaks > 0 {
		t.Errorf("%s: %d leaks: %s", what, leaks, a)
	}
}

func (tl *tally) note(format string, args ...any) {
	tl.extra = append(tl.extra, fmt.Sprintf(format, args...))
}

// report logs the class's line and fails unless everything was refused,
// nothing leaked and nothing panicked.
func (tl *tally) report(t testing.TB) {
	t.Helper()
	extra := ""
	if len(tl.extra) > 0 {
		extra = " " + strings.Join(tl.extra, " ")
	}
	t.Logf("ATTACK %s: tried=%d refused=%d leaks=%d panics=%d%s", tl.class, tl.tried, tl.refused, tl.leaks, tl.panics, extra)
	if tl.tried == 0 || tl.refused != tl.tried || tl.leaks != 0 || tl.panics != 0 {
		t.Errorf("ATTACK %s failed: tried=%d refused=%d leaks=%d panics=%d", tl.class, tl.tried, tl.refused, tl.leaks, tl.panics)
	}
}

// secretsIn counts both tenants' secret values in s.
func secretsIn(s string) int {
	return countAll(s, append(tenantA.secretValues(), tenantB.secretValues()...))
}

// is4xxJSON reports an answer that refuses the request as the caller's
// mistake, with a JSON error that names the problem: want, or the limit of
// a size refusal.
func is4xxJSON(a answer, want ...string) bool {
	if a.panicked != nil || a.status < 400 || a.status > 499 {
		return false
	}
	code, msg, ok := a.problem()
	if !ok {
		return false
	}
	if code == "body_too_large" || code == "headers_too_large" || code == "uri_too_long" {
		return true
	}
	for _, w := range want {
		if strings.Contains(strings.ToLower(code+" "+msg), strings.ToLower(w)) {
			return true
		}
	}
	return len(want) == 0
}

// longestValue is the length of the longest string in a JSON log line.
func longestValue(line string) int {
	var v any
	if json.Unmarshal([]byte(line), &v) != nil {
		return len(line)
	}
	var walk func(any) int
	walk = func(x any) int {
		switch t := x.(type) {
		case string:
			return len(t)
		case map[string]any:
			n := 0
			for _, y := range t {
				n = max(n, walk(y))
			}
			return n
		case []any:
			n := 0
			for _, y := range t {
				n = max(n, walk(y))
			}
			return n
		}
		return 0
	}
	return walk(v)
}
