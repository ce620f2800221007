package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

func TestConversationEndToEnd(t *testing.T) {
	conv := newConv("e2e")
	status, body := send(t, "evt-"+conv+"-start", generic.TypeConversationStarted, generic.InboundData{
		ConversationID: conv,
		User:           map[string]string{"name": "Ann Example", "email": "ann@example.com", "locale": "de-DE", "plan": "gold", "favouriteColour": "teal"},
	})
	if status != 200 {
		t.Fatalf("started: %d %s", status, body)
	}
	words := []string{"one", "two 👍🏽", "three \uFFFE", "four", "five"} // emoji and a noncharacter: SQS (or fauxqs) refuses them raw
	for i, w := range words {
		if status, body := send(t, fmt.Sprintf("evt-%s-%d", conv, i), generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: w}); status != 200 {
			t.Fatalf("message %s: %d %s", w, status, body)
		}
	}
	two := 1
	send(t, "evt-"+conv+"-click", generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "Choose Pro", CardIndex: &two})
	send(t, "evt-"+conv+"-end", generic.TypeConversationEnded, generic.InboundData{ConversationID: conv})
	drain(t)

	got := chats(pcid(conv))
	var kinds []string
	for _, r := range got {
		kinds = append(kinds, r.Chat.EventType)
	}
	want := []string{"startSession", "message", "message", "message", "message", "message", "message", "endSession"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("AI agent got %v, want %v", kinds, want)
	}
	// Session parameters follow the account's metadata rules: listed fields
	// only, personal ones sanitized, plan renamed.
	meta := map[string]string{}
	for _, m := range got[0].Chat.MetaData {
		meta[m.Key] = fmt.Sprintf("%s/%v", m.Value, m.Sanitize)
	}
	wantMeta := map[string]string{"name": "Ann Example/true", "email": "ann@example.com/true", "locale": "de-DE/false", "customerPlan": "gold/false"}
	if fmt.Sprint(meta) != fmt.Sprint(wantMeta) {
		t.Fatalf("metaData = %v, want %v", meta, wantMeta)
	}
	click := got[6].Chat
	if click.Text != "Choose Pro" || click.CardIndex == nil || *click.CardIndex != 1 {
		t.Fatalf("button click = %+v", click)
	}
	// The replies reach the tenant's callback signed and in the order sent.
	wantTexts := []string{ultimatetest.WelcomeText}
	for _, w := range words {
		wantTexts = append(wantTexts, "You said: "+w)
	}
	wantTexts = append(wantTexts, "You chose: Choose Pro (card 1)")
	if got := texts(conv); !slices.Equal(got, wantTexts) {
		t.Fatalf("desk got %q,\nwant %q", got, wantTexts)
	}
}

func TestRichContentReachesTheTenantInOurShape(t *testing.T) {
	conv := newConv("rich")
	for i, w := range []string{"buttons", "link", "carousel"} {
		send(t, fmt.Sprintf("evt-%s-%d", conv, i), generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: w})
	}
	drain(t)
	var msgs []generic.MessageData
	for _, e := range stack.Desk.Inbox(conv) {
		var d generic.MessageData
		_ = json.Unmarshal(e.Data, &d)
		msgs = append(msgs, d)
	}
	if len(msgs) != 4 {
		t.Fatalf("desk got %d messages, want welcome + 3", len(msgs))
	}
	if b := msgs[1].Message.Buttons; len(b) != 2 || b[0].Type != "button" || b[0].Text != "Yes" {
		t.Errorf("buttons = %+v", b)
	}
	if b := msgs[2].Message.Buttons; len(b) != 1 || b[0].Type != "link" || b[0].URL != "https://example.com/docs" {
		t.Errorf("link button = %+v", b)
	}
	if c := msgs[3].Message; c.Type != "carousel" || len(c.CarouselCards) != 2 || c.CarouselCards[1].Buttons[1].URL == "" {
		t.Errorf("carousel = %+v", c)
	}
	for _, m := range msgs {
		if m.PlatformConversationID != pcid(conv) || m.Message.MessageID == "" {
			t.Errorf("message lacks ids: %+v", m)
		}
	}
}

// 50 identical concurrent deliveries of one event: one is queued, the
// others are duplicates, and the AI agent gets it once. (No claim is left
// in progress for a retry to meet: the one write is the claim.)
func TestInboundDuplicatesReachTheAgentOnce(t *testing.T) {
	conv := newConv("dup")
	id := "evt-" + conv
	for i := 0; i < 2; i++ {
		status, body := send(t, id, generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "hello"})
		if status != 200 {
			t.Fatalf("delivery %d: %d %s", i, status, body)
		}
		if i == 1 && !strings.Contains(body, `"duplicate":1`) {
			t.Fatalf("second delivery not reported as a duplicate: %s", body)
		}
	}
	id2 := "evt-" + conv + "-concurrent"
	answers := concurrently(t, 50, func() (string, error) {
		status, body, err := trySend("demo", id2, generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "again"}, time.Now())
		switch {
		case err != nil:
			return "", err
		case strings.Contains(body, `"queued":1`):
			return "queued", nil
		case strings.Contains(body, `"duplicate":1`):
			return "duplicate", nil
		}
		return fmt.Sprintf("%d %s", status, body), nil
	})
	if answers["queued"] != 1 || answers["duplicate"] != 49 {
		t.Fatalf("answers = %v, want exactly one queued and 49 duplicates", answers)
	}
	drain(t)
	var n int
	for _, r := range chats(pcid(conv)) {
		if r.Chat.EventType == "message" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("AI agent got %d messages, want 2 (one per event ID)", n)
	}
}

// concurrently runs fn n times at once and counts its answers.
func concurrently(t *testing.T, n int, fn func() (string, error)) map[string]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := fn()
			if err != nil {
				t.Errorf("concurrent call: %v", err)
				return
			}
			mu.Lock()
			answers[a]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return answers
}

// 50 identical concurrent sendMessage webhooks: one queued, the tenant
// gets the message once.
func TestOutboundDuplicateReachesTheTenantOnce(t *testing.T) {
	conv := newConv("outdup")
	msg := converse(map[string]any{"platformConversationId": pcid(conv), "eventType": "sendMessage", "type": "text", "text": "only once", "messageId": "m-" + conv})
	b, _ := json.Marshal(msg)
	answers := concurrently(t, 50, func() (string, error) {
		req, _ := http.NewRequest(http.MethodPost, stack.API+"/webhooks/message", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+agentSecret.WebhookSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, body), nil
	})
	if answers[`200 {"status":"queued"}`] != 1 || answers[`200 {"status":"duplicate"}`] != 49 {
		t.Fatalf("answers = %v, want one queued and 49 duplicates", answers)
	}
	drain(t)
	if got := texts(conv); !slices.Equal(got, []string{"only once"}) {
		t.Fatalf("desk got %q", got)
	}
}

func TestAgentRejectionIsKeptAndReplayed(t *testing.T) {
	td := newDeps(t, nil)
	in := td.h[route.SourceInbound]
	conv := newConv("rejected")
	id := "evt-" + conv
	td.ai.fail(400)
	resp, _ := in(context.Background(), inboundEvent(t, id, generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "keep me"}))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"queued":1`) {
		t.Fatalf("accepted: %d %s", resp.StatusCode, resp.Body)
	}
	drain(t)
	key := state.EventKey("generic", "demo", id)
	dl, err := td.d.State.DeadLetter(context.Background(), key)
	if err != nil || dl.Kind != state.DeadInbound || dl.Reason != "AI agent /converse/chat: HTTP 400" || dl.Attempts != 1 {
		t.Fatalf("dead letter = %+v, %v", dl, err)
	}
	noPII(t, td, dl.Reason, resp.Body)
	if _, err := td.d.Replayer().Replay(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	drain(t)
	if got := chats(pcid(conv)); len(got) != 1 || got[0].Chat.Text != "keep me" {
		t.Fatalf("after replay the AI agent got %+v", got)
	}
	// The platform's late retry is a duplicate, not a second send.
	resp, _ = in(context.Background(), inboundEvent(t, id, generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "keep me"}))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "duplicate") {
		t.Fatalf("late retry: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestRotatedAPIKeyIsFetchedAgainOnce(t *testing.T) {
	td := newDeps(t, nil)
	in := td.h[route.SourceInbound]
	conv := newConv("rotated")
	send := func(i int) {
		t.Helper()
		resp, _ := in(context.Background(), inboundEvent(t, fmt.Sprintf("evt-%s-%d", conv, i), generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: fmt.Sprint(i)}))
		if resp.StatusCode != 200 {
			t.Fatalf("message %d: %d %s", i, resp.StatusCode, resp.Body)
		}
		drain(t)
	}
	send(0) // warm the caches, then make the next call a 401
	sm := td.sm.n.Load()
	td.ai.fail(401)
	send(1)
	if d := td.sm.n.Load() - sm; d != 1 {
		t.Fatalf("Secrets Manager calls after a 401 = %d, want 1 (the key is read again once)", d)
	}
	if n := len(chats(pcid(conv))); n != 2 {
		t.Fatalf("the AI agent accepted %d messages, want both", n)
	}
	// A key that stays wrong is not retried forever: one refresh, then a dead letter.
	td.ai.fail(401, 401, 401, 401)
	send(2)
	td.ai.mu.Lock()
	left := len(td.ai.next)
	td.ai.next = nil
	td.ai.mu.Unlock()
	if left != 2 {
		t.Fatalf("calls made with a wrong key = %d, want 2 (the first and one retry)", 4-left)
	}
	if dl, err := td.d.State.DeadLetter(context.Background(), state.EventKey("generic", "demo", fmt.Sprintf("evt-%s-2", conv))); err != nil || !strings.Contains(dl.Reason, "HTTP 401") {
		t.Fatalf("dead letter %+v, %v", dl, err)
	}
}

func TestBadInboundRequests(t *testing.T) {
	conv := newConv("bad")
	data := generic.InboundData{ConversationID: conv, Text: "hi"}
	tests := []struct {
		name   string
		do     func() (int, string)
		status int
		code   string
	}{
		{"timestamp six minutes old", func() (int, string) {
			return sendAt(t, "demo", "evt-old", generic.TypeMessage, data, time.Now().Add(-6*time.Minute))
		}, 401, "bad_timestamp"},
		{"timestamp six minutes ahead", func() (int, string) {
			return sendAt(t, "demo", "evt-new", generic.TypeMessage, data, time.Now().Add(6*time.Minute))
		}, 401, "bad_timestamp"},
		{"signed with another key", func() (int, string) {
			other, _ := stdwebhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
			body, _ := generic.NewEvent(generic.TypeMessage, data, time.Now())
			s, b, _ := generic.Post(context.Background(), nil, stack.API+"/sources/generic/demo", other, "evt-x", body, time.Now())
			return s, string(b)
		}, 401, "bad_signature"},
		{"body over the limit", func() (int, string) {
			return post(t, stack.API+"/sources/generic/demo", strings.Repeat("x", 300<<10), nil)
		}, 413, "body_too_large"},
		{"unknown account", func() (int, string) {
			return sendAt(t, "nobody", "evt-u", generic.TypeMessage, data, time.Now())
		}, 404, "unknown_account"},
		{"no such route", func() (int, string) { return post(t, stack.API+"/hooks", "{}", nil) }, 404, "route_not_found"},
		{"wrong method on a webhook route", func() (int, string) {
			resp, err := http.Get(stack.API + "/webhooks/message")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			_, _ = fmt.Fprint(&b, "")
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			return resp.StatusCode, string(buf[:n])
		}, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tt.do()
			if status != tt.status || errorCode(t, body) != tt.code {
				t.Fatalf("got %d %s, want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
	if n := len(chats(pcid(conv))); n != 0 {
		t.Fatalf("a rejected request reached the AI agent (%d events)", n)
	}
}

// demoGenericCredentials is the demo generic account's secret value, for
// test accounts that sign like it (each under its own secret name).
func demoGenericCredentials(t *testing.T) string {
	t.Helper()
	sf, err := tenant.ReadSecretFile("../../events/tenant/secret-source-generic-demo.json")
	if err != nil {
		t.Fatal(err)
	}
	return sf.SecretString
}

// Each webhook scheme, with rotation, on an agent of its own.
func TestWebhookAuthSchemes(t *testing.T) {
	schemes := []webhookauth.Scheme{
		{Kind: webhookauth.SchemeHeader, Header: "Authorization", Prefix: "Bearer "},
		{Kind: webhookauth.SchemeHeader, Header: "X-Webhook-Secret"},
		{Kind: webhookauth.SchemeHMAC, Header: "X-Signature", Encoding: "hex"},
		{Kind: webhookauth.SchemeHMAC, Header: "X-Signature", Encoding: "base64"},
		{Kind: webhookauth.SchemeToken, Param: "token"},
	}
	for i, sc := range schemes {
		t.Run(fmt.Sprintf("%s-%s-%s", sc.Kind, sc.Header, sc.Encoding), func(t *testing.T) {
			agent := fmt.Sprintf("a%02d%021x", i, time.Now().UnixNano()) // 24 hex, unique per run
			account := "acct-" + agent
			scheme, _ := json.Marshal(sc)
			putItems(t, []string{
				fmt.Sprintf(`{"pk":{"S":"AGENT#%s"},"sk":{"S":"CONFIG"},"secret":{"S":"crmbridge/agents/%s"},"webhookAuth":{"M":%s}}`, agent, agent, ddbMap(scheme)),
				fmt.Sprintf(`{"pk":{"S":"SOURCE#generic#%s"},"sk":{"S":"CONFIG"},"agentId":{"S":"%s"},"enabled":{"BOOL":true},"credentialsSecret":{"S":"crmbridge/sources/generic/%s"},"settings":{"M":{"callbackUrl":{"S":"%s/demo/callback"}}}}`, account, agent, account, stack.API),
			}, map[string]string{
				"crmbridge/agents/" + agent:            `{"apiKey":"k","webhookSecret":"new-secret","previousWebhookSecret":"old-secret"}`,
				"crmbridge/sources/generic/" + account: demoGenericCredentials(t),
			})
			for _, c := range []struct {
				secret string
				status int
			}{{"new-secret", 200}, {"old-secret", 200}, {"wrong-secret", 401}} {
				body, _ := json.Marshal(map[string]any{"botId": agent, "data": map[string]any{
					"platformConversationId": "generic:" + account + ":c", "eventType": "sendMessage", "text": "hi " + c.secret,
				}})
				headers, query := webhookauth.Sign(sc, c.secret, body)
				url := stack.API + "/webhooks/message"
				if v, ok := query[sc.Param]; ok {
					url += "?" + sc.Param + "=" + v
				}
				status, resp := post(t, url, body, headers)
				if status != c.status {
					t.Fatalf("secret %s: %d %s, want %d", c.secret, status, resp, c.status)
				}
			}
			// No credentials at all.
			body := fmt.Sprintf(`{"botId":%q,"data":{"platformConversationId":"generic:%s:c","eventType":"sendMessage","text":"x"}}`, agent, account)
			if status, resp := post(t, stack.API+"/webhooks/message", body, nil); status != 401 || errorCode(t, resp) != "missing_credentials" {
				t.Fatalf("no credentials: %d %s", status, resp)
			}
			// The right secret cannot reach the demo agent's conversations.
			body2, _ := json.Marshal(map[string]any{"botId": agent, "data": map[string]any{"platformConversationId": "generic:demo:c", "eventType": "sendMessage", "text": "x"}})
			h, q := webhookauth.Sign(sc, "new-secret", body2)
			url := stack.API + "/webhooks/message"
			if v, ok := q[sc.Param]; ok {
				url += "?" + sc.Param + "=" + v
			}
			if status, resp := post(t, url, body2, h); status != 403 || errorCode(t, resp) != "not_owner" {
				t.Fatalf("another tenant's conversation: %d %s", status, resp)
			}
		})
	}
}

// ddbMap turns a flat JSON object of strings into a DynamoDB JSON map body.
func ddbMap(obj []byte) string {
	var m map[string]string
	_ = json.Unmarshal(obj, &m)
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf(`%q:{"S":%q}`, k, v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// flakyTenant is a generic account whose callback the test controls: it
// answers a status given, or holds the next requests (taken, then no
// answer until the bridge gives up: a bridge that died mid-call), and
// counts every request as an event.
type flakyTenant struct {
	account  string
	mu       sync.Mutex
	status   int // next answers; 0 means 200
	hold     int // the next that many accepted requests get no answer
	got      []string
	gotIDs   []string // webhook-id of each accepted request
	allIDs   []string // of every request
	attempts int
	changed  chan struct{}
	srv      *httptest.Server
}

func newFlakyTenant(t *testing.T) *flakyTenant { return newFlakyTenantWith(t, "") }

// newFlakyTenantWith adds extra attributes (DynamoDB JSON, after a comma)
// to the account's item.
func newFlakyTenantWith(t *testing.T, extra string) *flakyTenant {
	t.Helper()
	f := &flakyTenant{account: "flaky" + fmt.Sprint(time.Now().UnixNano()%1e9)}
	sf, _ := tenant.ReadSecretFile("../../events/tenant/secret-source-generic-demo.json")
	var c generic.Credentials
	_ = json.Unmarshal([]byte(sf.SecretString), &c)
	cb, _ := stdwebhook.ParseSecret(c.CallbackSecret)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err := stdwebhook.Verify([]stdwebhook.Secret{cb}, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now(), 0); err != nil {
			w.WriteHeader(401)
			return
		}
		f.mu.Lock()
		status, hold := f.status, f.hold > 0
		f.attempts++
		f.allIDs = append(f.allIDs, r.Header.Get("webhook-id"))
		if status == 0 {
			f.got = append(f.got, string(body))
			f.gotIDs = append(f.gotIDs, r.Header.Get("webhook-id"))
			if hold {
				f.hold--
			}
		}
		changed(&f.changed)
		f.mu.Unlock()
		switch {
		case status != 0:
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"no customer ` + piiInAnswers + `"}`))
		case hold:
			<-r.Context().Done()
		case strings.Contains(string(body), `"type":"team.status"`):
			_, _ = w.Write([]byte(`{"isOnline":false}`))
		default:
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	t.Cleanup(f.srv.Close)
	putItems(t, []string{fmt.Sprintf(`{"pk":{"S":"SOURCE#generic#%s"},"sk":{"S":"CONFIG"},"agentId":{"S":"%s"},"enabled":{"BOOL":true},"credentialsSecret":{"S":"crmbridge/sources/generic/%s"},"settings":{"M":{"callbackUrl":{"S":"%s/cb"},"timeoutSeconds":{"N":"2"}}}%s}`,
		f.account, localstack.DemoAgentID, f.account, f.srv.URL, extra)}, map[string]string{"crmbridge/sources/generic/" + f.account: sf.SecretString})
	return f
}

// await waits until the tenant has had n requests in all.
func (f *flakyTenant) await(t *testing.T, n int) {
	t.Helper()
	awaitChange(t, fmt.Sprintf("%d requests to the tenant", n), &f.mu, &f.changed, func() bool { return f.attempts >= n })
}

func (f *flakyTenant) received() (bodies, ids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...), append([]string(nil), f.gotIDs...)
}

func (f *flakyTenant) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.allIDs...)
}

func (f *flakyTenant) answer(status int) { f.mu.Lock(); f.status = status; f.mu.Unlock() }

// A tenant answering 500 keeps the message queued; a 400 makes it a dead
// letter (the status kept, never the answer body); a replay delivers it
// with the same webhook-id, and the AI agent's late retry is a duplicate.
func TestFailedDeliveryIsKeptAndReplayed(t *testing.T) {
	f := newFlakyTenant(t)
	td := newDeps(t, nil)
	pc := "generic:" + f.account + ":c1"
	msg := converse(map[string]any{"platformConversationId": pc, "eventType": "sendMessage", "text": "kept", "messageId": "kept-" + f.account})
	f.answer(500)
	resp, _ := td.h[route.WebhookMessage](context.Background(), webhookEvent("/webhooks/message", msg, nil))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"queued"`) {
		t.Fatalf("accepted: %d %s", resp.StatusCode, resp.Body)
	}
	f.await(t, 2) // two deliveries failed: it stays queued
	f.answer(400)
	drain(t)
	key := state.BotMessageKey(localstack.DemoAgentID, "kept-"+f.account)
	dl, err := td.d.State.DeadLetter(context.Background(), key)
	if err != nil || dl.Attempts != 1 || !strings.Contains(dl.Reason, "HTTP 400") {
		t.Fatalf("dead letter = %+v, %v", dl, err)
	}
	noPII(t, td, dl.Reason)
	list, _ := td.d.State.DeadLetters(context.Background(), state.DeadOutbound, 0)
	if !slices.ContainsFunc(list, func(d state.DeadLetter) bool { return d.Key == key }) {
		t.Fatal("the dead letter is not listed")
	}
	f.answer(0)
	if _, err := td.d.Replayer().Replay(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	drain(t)
	got, ids := f.received()
	if len(got) != 1 || !strings.Contains(got[0], `"text":"kept"`) {
		t.Fatalf("tenant got %q after replay", got)
	}
	if all := f.ids(); len(all) < 4 || slices.ContainsFunc(all, func(id string) bool { return id != ids[0] }) {
		t.Fatalf("webhook-ids %q: every delivery of one message carries the same one", all)
	}
	// The AI agent's late retry of the same message is a duplicate.
	resp, _ = td.h[route.WebhookMessage](context.Background(), webhookEvent("/webhooks/message", msg, nil))
	drain(t)
	if got, _ := f.received(); resp.StatusCode != 200 || !strings.Contains(resp.Body, "duplicate") || len(got) != 1 {
		t.Fatalf("late retry: %d %s, tenant got %d", resp.StatusCode, resp.Body, len(got))
	}
}

func TestEscalationOutcomesAndHumanHold(t *testing.T) {
	f := newFlakyTenant(t)
	td := newDeps(t, nil)
	esc := td.h[route.WebhookEscalation]
	pc := "generic:" + f.account + ":c2"
	escalate := webhookEvent("/webhooks/escalation", converse(map[string]any{"platformConversationId": pc, "eventType": "escalate", "escalateTo": "billing"}), nil)
	for _, tc := range []struct {
		tenant int
		status int
		code   string
	}{{500, 503, "handover_unavailable"}, {422, 409, "handover_rejected"}} {
		f.answer(tc.tenant)
		resp, _ := esc(context.Background(), escalate)
		if resp.StatusCode != tc.status || errorCode(t, resp.Body) != tc.code {
			t.Fatalf("tenant %d: %d %s", tc.tenant, resp.StatusCode, resp.Body)
		}
	}
	f.answer(0)
	resp, _ := esc(context.Background(), escalate)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"escalated"`) {
		t.Fatalf("handover: %d %s", resp.StatusCode, resp.Body)
	}
	if got, _ := f.received(); !strings.Contains(got[0], `"type":"escalation.requested"`) || !strings.Contains(got[0], `"escalateTo":"billing"`) {
		t.Fatalf("tenant got %q", got)
	}
	cv, err := td.d.State.Conversation(context.Background(), pc)
	if err != nil || cv.Status != state.ConvEscalated || cv.HandoverTo != "billing" {
		t.Fatalf("conversation = %+v, %v", cv, err)
	}
	if resp, _ := esc(context.Background(), escalate); !strings.Contains(resp.Body, "already_escalated") || len(f.got) != 1 {
		t.Fatalf("second escalate: %s (tenant got %d)", resp.Body, len(f.got))
	}
}

func TestHeldWhileEscalatedThenHandedBack(t *testing.T) {
	conv := newConv("hold")
	send(t, "evt-"+conv+"-1", generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "human"})
	drain(t)
	if got := texts(conv); !slices.Contains(got, ultimatetest.EscalatedText) {
		t.Fatalf("the AI agent's escalation did not succeed: %q", got)
	}
	// Accepted at once; held at delivery, the conversation being a human's.
	status, body := send(t, "evt-"+conv+"-2", generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "hello human"})
	if status != 200 || !strings.Contains(body, `"queued":1`) {
		t.Fatalf("message while with a human: %d %s", status, body)
	}
	drain(t)
	send(t, "evt-"+conv+"-3", generic.TypeHandedBack, generic.InboundData{ConversationID: conv})
	send(t, "evt-"+conv+"-4", generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "bot again"})
	drain(t)
	var seq []string
	for _, r := range chats(pcid(conv)) {
		seq = append(seq, r.Chat.EventType+":"+r.Chat.Text)
	}
	want := []string{"message:human", "endSession:", "message:bot again"}
	if !slices.Equal(seq, want) {
		t.Fatalf("AI agent got %q, want %q (nothing while held)", seq, want)
	}
	if got := texts(conv); got[len(got)-1] != "You said: bot again" || got[len(got)-2] != ultimatetest.WelcomeText {
		t.Fatalf("after hand-back the AI agent did not start afresh: %q", got)
	}
}

func TestTeamStatusSchedule(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 11, 23, 10, 0, 0, 0, berlin), true},  // Monday 10:00
		{time.Date(2026, 11, 23, 8, 59, 0, 0, berlin), false}, // before opening
		{time.Date(2026, 11, 22, 12, 0, 0, 0, berlin), false}, // Sunday
		{time.Date(2026, 12, 24, 11, 0, 0, 0, berlin), false}, // a holiday
	} {
		at := tc.at
		td := newDeps(t, func() time.Time { return at })
		resp, _ := td.h[route.WebhookEscalation](context.Background(), webhookEvent("/webhooks/escalation", converse(map[string]any{"eventType": "isTeamOnline"}), nil))
		want := fmt.Sprintf(`{"isOnline":%v}`, tc.want)
		if resp.StatusCode != 200 || resp.Body != want {
			t.Errorf("%s: %d %s, want %s", at, resp.StatusCode, resp.Body, want)
		}
	}
}

func TestSingleURLForwardsAndAnswersLikeTheOwner(t *testing.T) {
	for _, tc := range []struct {
		name  string
		route string
		body  func(conv string) any
		want  string
	}{
		{"escalate", "escalation", func(c string) any {
			return converse(map[string]any{"platformConversationId": pcid(c), "eventType": "escalate"})
		}, `"escalated"`},
		{"team", "escalation", func(string) any {
			return converse(map[string]any{"eventType": "isTeamOnline", "teamId": "always"})
		}, `{"isOnline":true}`},
		{"action", "action", func(c string) any {
			return map[string]any{"botId": localstack.DemoAgentID, "platformConversationId": pcid(c), "name": "lookupOrder", "data": []map[string]any{{"key": "orderId", "value": []string{"7"}}}}
		}, `"orderStatus"`},
		{"unknown action", "action", func(c string) any {
			return map[string]any{"botId": localstack.DemoAgentID, "platformConversationId": pcid(c), "name": "nope", "data": []any{}}
		}, `unknown_action`},
	} {
		dStatus, dBody := webhook(t, "/webhooks/"+tc.route, tc.body(newConv("direct")))
		status, body := webhook(t, "/webhooks", tc.body(newConv("single")))
		if status != dStatus || withoutRequestID(body) != withoutRequestID(dBody) || !strings.Contains(body, tc.want) {
			t.Errorf("%s: single URL %d %s, direct %d %s, want %s", tc.name, status, body, dStatus, dBody, tc.want)
		}
	}
}

func TestHTTPActionWithSecretHeaderAndTimeout(t *testing.T) {
	var gotAuth, gotConv string
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotConv = r.Header.Get("Authorization"), r.Header.Get("X-Conversation")
		if strings.HasSuffix(r.URL.Path, "/slow") {
			<-r.Context().Done() // no answer before the call-out's timeout gives up
			return
		}
		_, _ = w.Write([]byte(`{"balance":{"amount":12.5,"currency":"EUR"},"vip":true}`))
	}))
	defer slow.Close()
	name := fmt.Sprintf("balance%d", time.Now().UnixNano()%1e9)
	putItems(t, []string{
		fmt.Sprintf(`{"pk":{"S":"AGENT#%s"},"sk":{"S":"ACTION#%s"},"kind":{"S":"http"},"http":{"M":{"method":{"S":"POST"},"url":{"S":"%s/accounts/{{data.account}}"},"headers":{"M":{"Authorization":{"S":"Token {{secret.token}}"},"X-Conversation":{"S":"{{conversation.id}}"}}},"secret":{"S":"crmbridge/actions/%s/%s"},"body":{"M":{"account":{"S":"{{data.account}}"}}},"timeoutMs":{"N":"200"},"results":{"L":[{"M":{"key":{"S":"balance"},"path":{"S":"balance.amount"}}},{"M":{"key":{"S":"vip"},"path":{"S":"vip"}}}]}}}}`, localstack.DemoAgentID, name, slow.URL, localstack.DemoAgentID, name),
		fmt.Sprintf(`{"pk":{"S":"AGENT#%s"},"sk":{"S":"ACTION#%s-slow"},"kind":{"S":"http"},"http":{"M":{"method":{"S":"GET"},"url":{"S":"%s/slow"},"timeoutMs":{"N":"100"}}}}`, localstack.DemoAgentID, name, slow.URL),
	}, map[string]string{"crmbridge/actions/" + localstack.DemoAgentID + "/" + name: `{"token":"s3cret"}`})
	td := newDeps(t, nil)
	act := td.h[route.WebhookAction]
	conv := newConv("act")
	resp, _ := act(context.Background(), webhookEvent("/webhooks/action", map[string]any{
		"botId": localstack.DemoAgentID, "platformConversationId": pcid(conv), "name": name,
		"data": []map[string]any{{"key": "account", "value": []string{"A-1"}}, {"key": "balance", "value": []string{""}, "saveAs": "accountBalance"}},
	}, nil))
	if resp.StatusCode != 200 || resp.Body != `{"results":[{"key":"accountBalance","value":"12.5"},{"key":"vip","value":"true"}]}` {
		t.Fatalf("action: %d %s", resp.StatusCode, resp.Body)
	}
	if gotAuth != "Token s3cret" || gotConv != conv {
		t.Fatalf("call-out headers: %q %q", gotAuth, gotConv)
	}
	resp, _ = act(context.Background(), webhookEvent("/webhooks/action", map[string]any{
		"botId": localstack.DemoAgentID, "platformConversationId": pcid(conv), "name": name + "-slow", "data": []any{},
	}, nil))
	if resp.StatusCode != 504 || errorCode(t, resp.Body) != "action_timeout" {
		t.Fatalf("slow action: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestWidgetEscalationFlow(t *testing.T) {
	conv := newConv("widget")
	p := pcid(conv)
	status, body := webhook(t, "/webhooks/escalation", converse(map[string]any{"platformConversationId": p, "eventType": "widgetEscalate", "escalateTo": "support"}))
	if status != 200 {
		t.Fatalf("widgetEscalate: %d %s", status, body)
	}
	pos := 3
	wait := 2
	steps := []struct {
		typ    string
		data   generic.InboundData
		status int
	}{
		{generic.TypeAgentMessage, generic.InboundData{ConversationID: conv, Text: "too early"}, 409},
		{generic.TypeAgentQueue, generic.InboundData{ConversationID: conv, QueuePosition: &pos, WaitMinutes: &wait}, 200},
		{generic.TypeAgentJoined, generic.InboundData{ConversationID: conv, Agent: &generic.AgentInfo{Name: "Sam", AvatarURL: "https://example.com/sam.png"}}, 200},
		{generic.TypeAgentMessage, generic.InboundData{ConversationID: conv, Text: "Hi, Sam here"}, 200},
		{generic.TypeAgentLeft, generic.InboundData{ConversationID: conv}, 200},
	}
	for i, s := range steps {
		if status, body := send(t, fmt.Sprintf("evt-%s-%d", conv, i), s.typ, s.data); status != s.status {
			t.Fatalf("%s: %d %s, want %d", s.typ, status, body, s.status)
		}
	}
	// The visitor's widget messages reach the desk.
	if status, body := webhook(t, "/webhooks/message", converse(map[string]any{"platformConversationId": p, "eventType": "widgetMessage", "text": "thanks"})); status != 200 {
		t.Fatalf("widgetMessage: %d %s", status, body)
	}
	drain(t)
	var widget []string
	for _, r := range chats(p) {
		if r.Widget != nil {
			widget = append(widget, r.Widget.EventType+":"+r.Widget.QueuePosition+r.Widget.WaitingTime+r.Widget.Agent+r.Widget.Text)
		}
	}
	want := []string{"escalationQueueUpdate:32", "escalationSuccess:Sam", "message:Hi, Sam here", "agentDisconnect:"}
	if !slices.Equal(widget, want) {
		t.Fatalf("widget API got %q, want %q", widget, want)
	}
	var deskTypes []string
	for _, e := range stack.Desk.Inbox(conv) {
		deskTypes = append(deskTypes, e.Type)
	}
	if !slices.Equal(deskTypes, []string{generic.OutWidgetEscalation, generic.OutWidgetMessage}) {
		t.Fatalf("desk got %q", deskTypes)
	}
}

var requestIDRE = regexp.MustCompile(`,"requestId":"[^"]*"`)

func withoutRequestID(body string) string { return requestIDRE.ReplaceAllString(body, "") }
