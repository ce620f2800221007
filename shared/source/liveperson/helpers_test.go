package liveperson

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

var testNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

const (
	testAccount = lptest.DemoAccount
	testBotID   = lptest.DemoBotID
	testConv    = "608b2868-f686-4b89-891f-497816958cfc"
)

var (
	demoOnce     sync.Once
	demoSentinel *lptest.Sentinel
	demoErr      error
	otherOnce    sync.Once
	otherKey     *lptest.Sentinel
	otherErr     error
)

// demo is the demo account's Sentinel (embedded key: no key generation).
func demo(t testing.TB) *lptest.Sentinel {
	t.Helper()
	demoOnce.Do(func() { demoSentinel, demoErr = lptest.DemoSentinel() })
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoSentinel
}

// stranger is a Sentinel with a key the account does not trust.
func stranger(t testing.TB) *lptest.Sentinel {
	t.Helper()
	otherOnce.Do(func() { otherKey, otherErr = lptest.NewSentinel(testAccount) })
	if otherErr != nil {
		t.Fatal(otherErr)
	}
	return otherKey
}

// baseSettings are valid settings with the demo key and a Public API URL.
func baseSettings(t testing.TB) Settings {
	return Settings{
		BotID: testBotID, Environments: []string{"production"}, JWTPublicKeyPEM: demo(t).PublicKeyPEM(), JWTKeyIDs: []string{lptest.DemoKID},
		APIBaseURL: "http://127.0.0.1:9", Skills: map[string]string{"billing": "Billing-Human"}, DefaultSkill: "human",
	}
}

// account is an account with settings s, parsed as the tenant loader
// parses them; settings that do not parse stay raw, as an account no
// loader would hand out, to test the adapter's refusal.
func account(t testing.TB, s Settings, creds []byte) *source.Account {
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var settings any = json.RawMessage(raw)
	if parsed, err := parseSettings(raw, egress.New(egress.Options{Local: true})); err == nil {
		settings = parsed
	}
	return &source.Account{Source: &tenant.Source{Source: Name, Account: testAccount, AgentID: lptest.DemoAgentID, Enabled: true, Settings: settings}, Credentials: creds}
}

var userPass = []byte(`{"username":"crmbridge-api","password":"s3cret-pass"}`)

func newAdapter() *Adapter {
	// Local mode: the fake LivePerson APIs listen on loopback.
	a := New(egress.New(egress.Options{Local: true, Now: func() time.Time { return testNow }}), func() time.Time { return testNow })
	a.PollInterval = 10 * time.Millisecond
	a.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return a
}

func endpoint(t testing.TB) lptest.Endpoint {
	t.Helper()
	b, err := demo(t).Bearer(testNow)
	if err != nil {
		t.Fatal(err)
	}
	return lptest.Endpoint{Account: testAccount, BotID: testBotID, Authorization: b}
}

func apiRequest(t testing.TB, r lptest.Request) *apigw.Request {
	t.Helper()
	req, err := apigw.FromEvent(r.Event("req-1", testNow), apigw.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// code returns the *apigw.Error code and status of err ("" for nil).
func code(t testing.TB, err error) (string, int) {
	t.Helper()
	if err == nil {
		return "", 0
	}
	var ae *apigw.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error is not an *apigw.Error: %v", err)
	}
	return ae.Code, ae.Status
}

func ptr[T any](v T) *T { return &v }
