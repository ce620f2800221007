package liveperson

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

var updateEvents = flag.Bool("update", false, "rewrite the sample events under events/source-inbound")

const eventsDir = "../../../events"

// sampleRequests are the sample events: one per Custom Endpoint case, signed
// with the demo key at lptest.Timestamp (so their tokens have expired).
func sampleRequests(t *testing.T) map[string]lptest.Request {
	tok, err := demo(t).Token(lptest.TokenValid, lptest.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	ep := lptest.Endpoint{Account: lptest.DemoAccount, BotID: lptest.DemoBotID, Authorization: "Bearer " + tok}
	person := lptest.Person{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0000", CustomerID: "C-1815", Language: "en-GB"}
	return map[string]lptest.Request{
		"environments":       ep.Environments(),
		"state":              ep.State(),
		"put-conversation":   ep.CreateConversation(testConv, lptest.ConversationBody(lptest.MessagingSDES(person, true), "MESSAGING")),
		"text":               ep.Text(testConv, 1, "I want to change my plan"),
		"rich-content-click": ep.Click(testConv, 2, "Choose (2/3)", clickID(1, "Choose")),
		"start":              ep.Start(testConv, 0, "I need help with my bill"),
		"closed":             ep.Closed(testConv, 3),
		"hosted-file":        ep.HostedFile(testConv, 4, "/v1/AUTH_async-images/90412077/5f2c/bill.png", "PNG", "My bill"),
		"transferred":        ep.Transferred(testConv, 5),
		"unknown-type":       ep.PostEvent(testConv, map[string]any{"type": "TYPING", "source": "CONSUMER", "data": map[string]any{}, "context": map[string]any{"lpEvent": map[string]any{"sequence": 6}}}),
	}
}

// demoAccount reads the demo tenant and secret items as an operator would
// put them, validated by the adapter.
func demoAccount(t *testing.T, a *Adapter) *source.Account {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, "tenant", "source-liveperson-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	it, err := tenant.DecodeItemJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := tenant.ParseSource(it, source.NewRegistry(a).ParseSettings)
	if err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(filepath.Join(eventsDir, "tenant", "secret-source-liveperson-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var secret struct{ Name, SecretString string }
	if err := json.Unmarshal(raw, &secret); err != nil {
		t.Fatal(err)
	}
	if secret.Name != cfg.CredentialsSecret {
		t.Fatalf("secret %s, tenant names %s", secret.Name, cfg.CredentialsSecret)
	}
	if err := a.ValidateCredentials([]byte(secret.SecretString)); err != nil {
		t.Fatal(err)
	}
	return &source.Account{Source: cfg, Credentials: []byte(secret.SecretString)}
}

func TestSampleEvents(t *testing.T) {
	a := newAdapter()
	acct := demoAccount(t, a)
	now := time.Now()
	s := demo(t)
	for name, r := range sampleRequests(t) {
		t.Run(name, func(t *testing.T) {
			ev := r.Event("sample-liveperson-"+name, lptest.Timestamp)
			want, err := lptest.EventJSON(ev)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(eventsDir, "source-inbound", "liveperson-"+name+".json")
			if *updateEvents {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./shared/source/liveperson -run TestSampleEvents -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s is out of date; run go test ./shared/source/liveperson -run TestSampleEvents -update", path)
			}

			// As saved, the token has expired.
			req := fromEventJSON(t, got)
			if c, _ := code(t, a.Authenticate(req, acct, now)); c != "token_expired" {
				t.Fatalf("saved event: %q, want token_expired", c)
			}
			// Re-signed, it replays.
			fresh, err := lptest.ResignEvent(got, s, now)
			if err != nil {
				t.Fatal(err)
			}
			req = fromEventJSON(t, fresh)
			if err := a.Route(req); err != nil {
				t.Fatal(err)
			}
			if err := a.Authenticate(req, acct, now); err != nil {
				t.Fatal(err)
			}
			b, err := a.Parse(req, acct)
			if name == "unknown-type" {
				if c, status := code(t, err); c != "unknown_event_type" || status != 400 {
					t.Fatalf("unknown type: %q/%d", c, status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkSample(t, name, b)
		})
	}
}

func fromEventJSON(t *testing.T, raw []byte) *apigw.Request {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	req, err := apigw.FromEvent(ev, apigw.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func checkSample(t *testing.T, name string, b *source.Batch) {
	t.Helper()
	kinds := []source.EventKind{}
	for _, ev := range b.Events {
		kinds = append(kinds, ev.Kind)
	}
	want := map[string][]source.EventKind{
		"environments": {}, "state": {},
		"put-conversation": {source.Started}, "text": {source.Message}, "rich-content-click": {source.Message},
		"start": {source.Message}, "closed": {source.Ended}, "hosted-file": {source.Message}, "transferred": {source.HandedBack},
	}[name]
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	switch name {
	case "state":
		if string(b.Reply.Body) != `{"state":"online","version":"1.0.0"}` {
			t.Fatalf("state %s", b.Reply.Body)
		}
	case "environments":
		if string(b.Reply.Body) != `["draft","production"]` {
			t.Fatalf("environments %s", b.Reply.Body)
		}
	case "rich-content-click":
		if ev := b.Events[0]; ev.Text != "Choose" || ev.CardIndex == nil || *ev.CardIndex != 1 {
			t.Fatalf("click %+v", ev)
		}
	case "start":
		if b.Events[0].Text != "I need help with my bill" {
			t.Fatalf("start %+v", b.Events[0])
		}
	case "hosted-file":
		if b.Events[0].Text != "My bill\n[image, private] /v1/AUTH_async-images/90412077/5f2c/bill.png" {
			t.Fatalf("hosted file %+v", b.Events[0])
		}
	case "put-conversation":
		if ev := b.Events[0]; !ev.MustBeNew || ev.User["email"] != "ada@example.com" || ev.Attrs["sdes.customerId"] != "C-1815" {
			t.Fatalf("put %+v", ev)
		}
	}
}
