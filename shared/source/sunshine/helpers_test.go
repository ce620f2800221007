package sunshine

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// IDs used by the fixtures in testdata/.
const (
	testApp         = "65a1f0c0ffee4b1d9e2a7c01"
	testIntegration = "65a1f0c0ffee4b1d9e2a7c10"
	testConv        = "65a1f0c0ffee4b1d9e2a7d01"
	testUser        = "65a1f0c0ffee4b1d9e2a7e01"
	testKeyID       = "app_65a1f0c0ffee4b1d9e2a7c99"
	testKeySecret   = "k3y-s3cret-for-tests-only"
	testSecret      = "8564b3e6a8b20a4bdb68b05ce9bc5936"
	testPrevSecret  = "0f0e0d0c0b0a09080706050403020100"
)

var testNow = time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)

func credsJSON(t *testing.T, prev string) []byte {
	t.Helper()
	b, err := json.Marshal(Credentials{KeyID: testKeyID, KeySecret: testKeySecret, WebhookSecret: testSecret, PreviousWebhookSecret: prev})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// account builds an account with settings (integrationId filled in unless
// given) pointing at baseURL.
func account(t *testing.T, baseURL string, settings map[string]any) *source.Account {
	t.Helper()
	s := map[string]any{"integrationId": testIntegration}
	if baseURL != "" {
		s["baseUrl"] = baseURL
	}
	for k, v := range settings {
		s[k] = v
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parseSettings(raw, egress.New(egress.Options{Local: true}))
	if err != nil {
		t.Fatal(err)
	}
	return &source.Account{
		Source:      &tenant.Source{Source: Name, Account: testApp, AgentID: "64f1c0ffee0ddba11ad0be57", Enabled: true, Settings: parsed},
		Credentials: credsJSON(t, testPrevSecret),
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func request(body []byte, header map[string]string) *apigw.Request {
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	return &apigw.Request{
		Method: http.MethodPost, Path: "/sources/sunshine/" + testApp, RouteKey: "ANY /sources/{source}/{account}",
		Params: map[string]string{"source": Name, "account": testApp}, Header: h, Body: body,
	}
}

// fakeAPI starts the fake SunCo API for the test app.
func fakeAPI(t *testing.T) *sunshinetest.Server {
	t.Helper()
	f := sunshinetest.New(sunshinetest.Options{AppID: testApp, KeyID: testKeyID, KeySecret: testKeySecret, IntegrationID: testIntegration, Now: func() time.Time { return testNow }})
	if _, err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func testAdapter() *Adapter {
	return &Adapter{HTTP: egress.New(egress.Options{Local: true, Now: func() time.Time { return testNow }}), Now: func() time.Time { return testNow }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func testConversation() source.Conversation {
	return source.Conversation{Source: Name, Account: testApp, ID: testConv}
}

// wantAPIError checks err is an *apigw.Error with status and code whose
// message mentions every fragment.
func wantAPIError(t *testing.T, err error, status int, code string, fragments ...string) {
	t.Helper()
	var ae *apigw.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *apigw.Error", err, err)
	}
	if ae.Status != status || ae.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", ae.Status, ae.Code, ae.Message, status, code)
	}
	for _, f := range fragments {
		if !strings.Contains(ae.Message, f) {
			t.Errorf("message %q does not mention %q", ae.Message, f)
		}
	}
}

// wantHTTPError checks err wraps an *egress.StatusError with status and
// SunCo's error code (the code alone: the title is free text and stays out
// of errors).
func wantHTTPError(t *testing.T, err error, status int, code string) *egress.StatusError {
	t.Helper()
	var he *egress.StatusError
	if !errors.As(err, &he) {
		t.Fatalf("error %v is not an *egress.StatusError", err)
	}
	if he.Status != status || he.Code != code || he.Reason != "" {
		t.Fatalf("got HTTP %d code %q reason %q, want %d code %q", he.Status, he.Code, he.Reason, status, code)
	}
	return he
}
