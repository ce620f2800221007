package sunshine

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// eventsDir holds the repository's sample events (sam local invoke, the
// local invoke test); this test keeps the Sunshine ones truthful.
var eventsDir = filepath.Join("..", "..", "..", "events")

func demoAccount(t *testing.T) *source.Account {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, "tenant", "source-sunshine-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	it, err := tenant.DecodeItemJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The demo tenant is the local stack's: its API runs on loopback.
	a := New(egress.New(egress.Options{Local: true}))
	src, err := tenant.ParseSource(it, func(name string, s json.RawMessage) (any, error) {
		if name != Name {
			t.Fatalf("demo item is for source %q", name)
		}
		return a.ParseSettings(s)
	})
	if err != nil {
		t.Fatalf("demo tenant item: %v", err)
	}
	var secret struct{ Name, SecretString string }
	raw, err = os.ReadFile(filepath.Join(eventsDir, "tenant", "secret-source-sunshine-demo.json"))
	if err != nil || json.Unmarshal(raw, &secret) != nil {
		t.Fatalf("demo secret: %v", err)
	}
	if secret.Name != src.CredentialsSecret {
		t.Fatalf("secret %q is not the item's credentialsSecret %q", secret.Name, src.CredentialsSecret)
	}
	if err := a.ValidateCredentials([]byte(secret.SecretString)); err != nil {
		t.Fatalf("demo secret: %v", err)
	}
	return &source.Account{Source: src, Credentials: []byte(secret.SecretString)}
}

func TestSampleEvents(t *testing.T) {
	acct := demoAccount(t)
	tests := []struct {
		file   string
		status int // 0: accepted
		kinds  []source.EventKind
		text   string
	}{
		{"sunshine-message.json", 0, []source.EventKind{source.Message}, "I want a refund"},
		{"sunshine-postback.json", 0, []source.EventKind{source.Message}, "Select"},
		{"sunshine-create.json", 0, []source.EventKind{source.Started}, ""},
		{"sunshine-passcontrol-back.json", 0, []source.EventKind{source.HandedBack}, ""},
		{"sunshine-business-message-ignored.json", 0, nil, ""},
		{"sunshine-bad-api-key.json", http.StatusUnauthorized, nil, ""},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(eventsDir, "source-inbound", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.PathParameters["account"] != acct.Account || ev.PathParameters["source"] != Name {
				t.Fatalf("path parameters %v", ev.PathParameters)
			}
			req, err := apigw.FromEvent(ev, apigw.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			a := testAdapter()
			if err := a.Route(req); err != nil {
				t.Fatal(err)
			}
			err = a.Authenticate(req, acct, testNow)
			if tc.status != 0 {
				wantAPIError(t, err, tc.status, "bad_api_key")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := a.Parse(req, acct)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []source.EventKind
			for _, e := range b.Events {
				kinds = append(kinds, e.Kind)
			}
			if len(kinds) != len(tc.kinds) || (len(kinds) > 0 && kinds[0] != tc.kinds[0]) {
				t.Fatalf("kinds %v, want %v", kinds, tc.kinds)
			}
			if tc.text != "" && b.Events[0].Text != tc.text {
				t.Fatalf("text %q", b.Events[0].Text)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join(eventsDir, "source-inbound", "sunshine-*.json"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("sample %s is not checked here", filepath.Base(f))
		}
	}
}
