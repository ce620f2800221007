package handover_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
)

const fallbackText = "Our assistant is unavailable; a person will answer you."

// held are the events the AI agent never got.
var held = []source.Event{{Kind: source.Message, Text: "where is my parcel"}, {Kind: source.Message, Text: "hello?"}}

// platformEnv is the bridge over the real adapters (app.Sources) with one
// account of src whose settings point at a fake platform.
func platformEnv(t *testing.T, src, account string, settings map[string]any, creds string) (*apptest.Env, *source.Account) {
	t.Helper()
	e := apptest.New(t, apptest.Options{})
	secret := tenanttest.SourceSecretName(src, account)
	e.Put(t,
		tenanttest.Agent(agentID, tenanttest.Fields{"scheme": "header"}, nil),
		tenanttest.Source(src, account, agentID, tenanttest.Fields{
			"settings": settings, "credentialsSecret": secret,
			"fallback": tenanttest.Fields{"afterSeconds": 60, "text": fallbackText},
			"metadata": []any{tenanttest.Fields{"field": "email", "sanitize": true}},
		}),
	)
	e.Secrets.Set(secret, creds)
	acct, err := e.Deps.Accounts.Account(context.Background(), src, account, agentID)
	if err != nil {
		t.Fatal(err)
	}
	return e, acct
}

func fallback(t *testing.T, e *apptest.Env, acct *source.Account, conv source.Conversation) {
	t.Helper()
	ctx := context.Background()
	if err := e.Deps.State.SetAttrs(ctx, conv.PCID(), map[string]string{"param.email": "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Deps.Handover.AgentUnavailable(budget(t, 10*time.Second), acct, conv, held); err != nil {
		t.Fatalf("AgentUnavailable: %v", err)
	}
	cv, err := e.Deps.State.Conversation(ctx, conv.PCID())
	if err != nil || cv.Status != "escalated" {
		t.Fatalf("conversation %+v, %v", cv, err)
	}
}

// The fallback hands the conversation to a human on every adapter, after
// telling the visitor, with the context the platform can show.
func TestFallbackOnEveryAdapter(t *testing.T) {
	t.Run("generic: escalation.requested with reason agent_unavailable", func(t *testing.T) {
		key := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
		sec, err := stdwebhook.ParseSecret(key)
		if err != nil {
			t.Fatal(err)
		}
		type event struct {
			id   string
			body map[string]any
		}
		var mu sync.Mutex
		var got []event
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := stdwebhook.Verify([]stdwebhook.Secret{sec}, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, apptest.Start, 0); err != nil {
				t.Errorf("signature: %v", err)
			}
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			mu.Lock()
			got = append(got, event{r.Header.Get("webhook-id"), m})
			mu.Unlock()
		}))
		t.Cleanup(srv.Close)
		e, acct := platformEnv(t, "generic", "acme", map[string]any{"callbackUrl": srv.URL + "/hook"}, `{"inboundSecret":"`+key+`","callbackSecret":"`+key+`"}`)
		fallback(t, e, acct, acct.Conversation("c-42"))
		if len(got) != 2 || got[0].body["type"] != "message" || got[1].body["type"] != "escalation.requested" {
			t.Fatalf("events %+v", got)
		}
		msg := got[0].body["data"].(map[string]any)["message"].(map[string]any)
		data := got[1].body["data"].(map[string]any)
		hc, _ := json.Marshal(data["context"])
		if msg["text"] != fallbackText || data["reason"] != "agent_unavailable" ||
			string(hc) != `{"held":["where is my parcel","hello?"],"parameters":{"email":"***"}}` {
			t.Fatalf("message %v, escalation %v", msg, data)
		}
		if !strings.HasPrefix(got[0].id, "msg_fallback-") || got[0].id != "msg_fallback-"+strings.TrimPrefix(got[1].id, "msg_") {
			t.Fatalf("webhook-ids %q, %q: both derived from the handover's ID", got[0].id, got[1].id)
		}
	})

	t.Run("sunshine: passControl", func(t *testing.T) {
		const app, integ, keyID, user, conv = "65a1f0c0ffee4b1d9e2a7c01", "65a1f0c0ffee4b1d9e2a7c10", "app_65a1f0c0ffee4b1d9e2a7c99", "65a1f0c0ffee4b1d9e2a7e01", "65a1f0c0ffee4b1d9e2a7d01"
		f := sunshinetest.New(sunshinetest.Options{AppID: app, KeyID: keyID, KeySecret: "k3y", IntegrationID: integ, Now: func() time.Time { return apptest.Start }})
		if _, err := f.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		f.AddConversation(conv, user)
		f.UserText(conv, user, "where is my parcel")
		e, acct := platformEnv(t, "sunshine", app, map[string]any{"baseUrl": f.URL(), "integrationId": integ},
			`{"keyId":"`+keyID+`","keySecret":"k3y","webhookSecret":"whs"}`)
		fallback(t, e, acct, acct.Conversation(conv))
		var ops []string
		for _, c := range f.Calls() {
			if c.Op == "PostMessage" || c.Op == "PassControl" {
				ops = append(ops, c.Op)
			}
		}
		if strings.Join(ops, " ") != "PostMessage PassControl" {
			t.Fatalf("calls %v: the visitor is told, then the pass", ops)
		}
		c, _ := f.Conversation(conv)
		md := c.PassMetadata
		if c.Active == nil || c.Active.Name != sunshinetest.AgentSwitchboardName || md["reason"] != "agent_unavailable" || md["heldMessages"] != float64(2) || md["param.email"] != "***" {
			t.Fatalf("active %+v, metadata %v", c.Active, md)
		}
	})

	t.Run("liveperson: transfer", func(t *testing.T) {
		api := lptest.NewPublicAPI(lptest.DemoAccount, "crmbridge-api", "s3cret-pass")
		base, stop, err := api.Start("")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		sen, err := lptest.DemoSentinel()
		if err != nil {
			t.Fatal(err)
		}
		const conv = "608b2868-f686-4b89-891f-497816958cfc"
		e, acct := platformEnv(t, "liveperson", lptest.DemoAccount, map[string]any{
			"botId": lptest.DemoBotID, "jwtPublicKeyPem": sen.PublicKeyPEM(), "jwtKeyIds": []string{lptest.DemoKID},
			"apiBaseUrl": base, "defaultSkill": "human",
		}, `{"username":"crmbridge-api","password":"s3cret-pass"}`)
		fallback(t, e, acct, acct.Conversation(conv))
		if v := api.Violations(); len(v) > 0 {
			t.Fatalf("Public API violations %v", v)
		}
		msgs := api.Messages()
		var cmds []string
		for _, c := range api.Calls() {
			if c.Command != "login" {
				cmds = append(cmds, c.Command)
			}
		}
		if len(msgs) != 2 || string(msgs[0][0]) != `"`+fallbackText+`"` || !strings.HasPrefix(strings.Join(cmds, " "), "messages messages transfer command") {
			t.Fatalf("commands %v, messages %s", cmds, msgs)
		}
		var note struct{ Text, MessageAudience string }
		_ = json.Unmarshal(msgs[1][0], &note)
		if note.MessageAudience != "AGENTS_AND_MANAGERS" || !strings.Contains(note.Text, "could not be reached") ||
			!strings.Contains(note.Text, "- email: ***") || !strings.Contains(note.Text, "did not get: 2") {
			t.Fatalf("note %+v", note)
		}
		if !api.Transferred(conv) {
			t.Fatal("the conversation is still the bot's")
		}
	})
}
