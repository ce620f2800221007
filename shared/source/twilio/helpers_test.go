package twilio_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/twilio"
	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	agentID    = "64f1c0ffee0ddba11ad0be57"
	authToken  = "test-auth-token-0123456789abcdef"
	apiKeySid  = "SK0123456789abcdef0123456789abcdef"
	apiSecret  = "test-api-secret"
	// Numbers from the ranges reserved for fiction.
	tenantNumber  = "+15005550006"
	visitorNumber = "+15005550101"
	dutchVisitor  = "+31612345678"
	callbackKey   = "whsec_GUEs4+gfmvQ0Esn0E7eqOgkK7OBgAaORZ/BzX1Dtsak="
	deskKey       = "whsec_PF6QiGV8775NnSZzIORqeXcot8WCbD0goeJPntGBLkk="
)

var quickSids = []string{
	"HX00000000000000000000000000000001", "HX00000000000000000000000000000002", "HX00000000000000000000000000000003",
}

// clock is a settable test clock.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *clock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// env is one Twilio account on a fake Twilio, with the adapter over an
// in-memory State table, behind a small bridge front (the route, the
// adapter's Authenticate and Parse) that records what Parse returned.
type env struct {
	t       testing.TB
	clock   *clock
	twilio  *twiliotest.Server
	adapter *twilio.Adapter
	store   *state.Store
	acct    *source.Account
	front   *httptest.Server

	mu      sync.Mutex
	batches []*source.Batch
}

type envOpts struct {
	settings string // extra settings JSON members, e.g. `"media":"url"`
	creds    map[string]string
	twilio   twiliotest.Options
	// noPublicBase leaves publicBaseUrl unset (the URL is rebuilt).
	noPublicBase bool
	// wrap wraps the bridge's outbound transport (fault injection).
	wrap func(http.RoundTripper) http.RoundTripper
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{}}
	e.clock.ms.Store(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli())
	o.twilio.Now = e.clock.now
	if len(o.twilio.Accounts) == 0 {
		o.twilio.Accounts = []twiliotest.Account{{SID: accountSID, AuthToken: authToken, APIKeySid: apiKeySid, APIKeySecret: apiSecret}}
	}
	if o.twilio.Contents == nil {
		o.twilio.Contents = map[string]twiliotest.Content{}
		for i, sid := range quickSids {
			c := twiliotest.Content{Body: "{{1}}"}
			for j := range i + 1 {
				c.Actions = append(c.Actions, "{{"+string(rune('2'+j))+"}}")
			}
			o.twilio.Contents[sid] = c
		}
	}
	e.twilio = twiliotest.New(o.twilio)
	base, err := e.twilio.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.twilio.Close() })

	db := dynamotest.New()
	if err := localstack.CreateTables(context.Background(), db, "tenants", "state"); err != nil {
		t.Fatal(err)
	}
	e.store = &state.Store{DB: db, Table: "state", Now: e.clock.now}
	hc := egress.New(egress.Options{Local: true, Now: e.clock.now, Wrap: o.wrap})
	e.adapter = twilio.New(hc, e.clock.now, e.store, nil)
	e.front = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.front.Close)

	settings := `{"apiBaseUrl":"` + base + `","messagingBaseUrl":"` + base + `"`
	if !o.noPublicBase {
		settings += `,"publicBaseUrl":"` + e.front.URL + `"`
	}
	if o.settings != "" {
		settings += "," + o.settings
	}
	settings += "}"
	parsed, err := e.adapter.ParseSettings(json.RawMessage(settings))
	if err != nil {
		t.Fatalf("settings %s: %v", settings, err)
	}
	creds := map[string]string{"authToken": authToken, "apiKeySid": apiKeySid, "apiKeySecret": apiSecret}
	for k, v := range o.creds {
		if v == "" {
			delete(creds, k)
		} else {
			creds[k] = v
		}
	}
	raw, _ := json.Marshal(creds)
	e.acct = &source.Account{
		Source:      &tenant.Source{Source: twilio.Name, Account: accountSID, AgentID: agentID, Enabled: true, Settings: parsed},
		Credentials: raw,
	}
	return e
}

// serve is the bridge's front for the adapter: the HTTP API event, the
// route check, Authenticate and Parse, and Parse's reply.
func (e *env) serve(w http.ResponseWriter, r *http.Request) {
	rt, params, _ := route.Table.Match(r.Method, r.URL.Path)
	ev, err := apigw.FromHTTP(r, rt, params, 0)
	if err != nil {
		apigw.WriteHTTP(w, apigw.Fail(err, ""))
		return
	}
	req, err := apigw.FromEvent(ev, apigw.Limits{})
	if err == nil {
		err = e.adapter.Route(req)
	}
	if err == nil {
		err = e.adapter.Authenticate(req, e.acct, e.clock.now())
	}
	var b *source.Batch
	if err == nil {
		b, err = e.adapter.Parse(req, e.acct)
	}
	if err != nil {
		apigw.WriteHTTP(w, apigw.Fail(err, ""))
		return
	}
	e.mu.Lock()
	e.batches = append(e.batches, b)
	e.mu.Unlock()
	e.record(r.Context(), b.Events)
	apigw.WriteHTTP(w, apigw.Raw(b.Reply.Status, b.Reply.ContentType, b.Reply.Body))
}

// record does to the conversation item what the inbound pipeline does
// when it accepts the events: a start or message makes it active (unless
// it is with a human), an end or hand-back ends it, a start keeps its
// attributes.
func (e *env) record(ctx context.Context, evs []source.Event) {
	for _, ev := range evs {
		pcid := e.acct.Conversation(ev.Conversation).PCID()
		c, _ := e.store.Conversation(ctx, pcid)
		var err error
		switch ev.Kind {
		case source.Started, source.Message:
			if c == nil || c.Status != state.ConvEscalated {
				err = e.store.SetStatus(ctx, pcid, agentID, state.ConvActive, "")
			}
			if err == nil && len(ev.Attrs) > 0 {
				err = e.store.SetAttrs(ctx, pcid, ev.Attrs)
			}
		case source.Ended, source.HandedBack:
			err = e.store.SetStatus(ctx, pcid, agentID, state.ConvEnded, "")
		}
		if err != nil {
			e.t.Errorf("record %s: %v", ev.Kind, err)
		}
	}
}

func (e *env) webhook() string { return e.front.URL + "/sources/twilio/" + accountSID }

// visitor sends a visitor's message and returns the events Parse made.
func (e *env) visitor(v twiliotest.Visitor) []source.Event {
	e.t.Helper()
	if v.From == "" {
		v.From = visitorNumber
	}
	if v.To == "" {
		v.To = tenantNumber
	}
	n := e.batchCount()
	_, status, body, err := e.twilio.Inbound(context.Background(), accountSID, e.webhook(), v)
	if err != nil || status != http.StatusOK {
		e.t.Fatalf("inbound: %d %s %v", status, body, err)
	}
	if !strings.Contains(string(body), "<Response>") {
		e.t.Fatalf("answer is not TwiML: %s", body)
	}
	if e.batchCount() != n+1 {
		e.t.Fatal("Parse did not run")
	}
	return e.lastBatch().Events
}

func (e *env) batchCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.batches)
}

func (e *env) lastBatch() *source.Batch {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.batches[len(e.batches)-1]
}

// conversation is the conversation of the events (all of one).
func (e *env) conversation(evs []source.Event) source.Conversation {
	e.t.Helper()
	if len(evs) == 0 {
		e.t.Fatal("no events")
	}
	return e.acct.Conversation(evs[0].Conversation)
}

// send delivers a bot message with the bridge's retry loop in miniature.
func (e *env) send(conv source.Conversation, m ultimate.Message) error {
	var p source.Progress
	var err error
	for range 3 {
		if err = e.adapter.Send(context.Background(), e.acct, conv, m, &p); err == nil || !retry.IsRetryable(err) {
			return err
		}
	}
	return err
}

// sentBodies are the texts the visitor received (a quick reply as its
// rendered body).
func (e *env) sentBodies(to string) []string {
	var out []string
	for _, m := range e.twilio.Sent(to) {
		out = append(out, m.Body)
	}
	return out
}

func kinds(evs []source.Event) []source.EventKind {
	out := make([]source.EventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

func textMsg(id, text string) ultimate.Message {
	return ultimate.Message{Type: "text", Text: text, MessageID: id}
}

// postRaw posts a form body to u with headers; it returns the status, the
// code of a JSON error answer and the body.
func (e *env) postRaw(u, body string, headers map[string]string) (int, string, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb apigw.ErrorBody
	_ = json.Unmarshal(b, &eb)
	return resp.StatusCode, eb.Error.Code, string(b)
}

// postSigned posts form parameters to u signed with the account's token.
func (e *env) postSigned(u string, p url.Values) (int, string, string) {
	e.t.Helper()
	return e.postRaw(u, p.Encode(), map[string]string{twilio.HeaderSignature: twilio.Sign([]byte(authToken), twilio.HMACSHA1, u, p)})
}
