package twilio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/twilio"
	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// desk is the tenant's desk: it verifies the bridge's signature and keeps
// what it got.
type desk struct {
	t      *testing.T
	secret stdwebhook.Secret
	srv    *httptest.Server
	status int

	mu     sync.Mutex
	events []deskGot
}

type deskGot struct {
	id  string
	ev  twilio.DeskEvent
	raw []byte
}

func newDesk(t *testing.T) *desk {
	s, err := stdwebhook.ParseSecret(callbackKey)
	if err != nil {
		t.Fatal(err)
	}
	d := &desk{t: t, secret: s, status: http.StatusOK}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get(stdwebhook.HeaderID)
		if err := stdwebhook.Verify([]stdwebhook.Secret{d.secret}, id, r.Header.Get(stdwebhook.HeaderTimestamp), r.Header.Get(stdwebhook.HeaderSignature), body, time.Now(), 100*365*24*time.Hour); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev twilio.DeskEvent
		_ = json.Unmarshal(body, &ev)
		d.mu.Lock()
		d.events = append(d.events, deskGot{id: id, ev: ev, raw: body})
		status := d.status
		d.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *desk) got() []deskGot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]deskGot(nil), d.events...)
}

func deskEnv(t *testing.T, extra string) (*env, *desk) {
	d := newDesk(t)
	settings := `"handover":{"deskUrl":"` + d.srv.URL + `","text":"A colleague will text you shortly."}`
	if extra != "" {
		settings += "," + extra
	}
	e := newEnv(t, envOpts{settings: settings, creds: map[string]string{"callbackSecret": callbackKey, "deskSecret": deskKey}})
	return e, d
}

// deskPost is the desk calling the bridge, signed with its secret.
func (e *env) deskPost(id, typ string, data map[string]string) (int, string) {
	e.t.Helper()
	d, _ := json.Marshal(data)
	body, _ := json.Marshal(map[string]any{"type": typ, "timestamp": e.clock.now().UTC().Format(time.RFC3339), "data": json.RawMessage(d)})
	s, _ := stdwebhook.ParseSecret(deskKey)
	req, _ := http.NewRequest(http.MethodPost, e.webhook()+"/desk", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range stdwebhook.Headers(s, id, e.clock.now(), body) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandoverToTheDeskAndBack(t *testing.T) {
	e, d := deskEnv(t, "")
	conv := e.conversation(e.visitor(twiliotest.Visitor{From: "whatsapp:" + dutchVisitor, To: "whatsapp:" + tenantNumber, Body: "I want a human", ProfileName: "Ada"}))
	if err := e.store.SetAttrs(context.Background(), conv.PCID(), map[string]string{twilio.AttrName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	req := source.HandoverRequest{AgentID: agentID, EscalateTo: "billing", ID: "h-1", Context: source.HandoverContext{
		Reason: source.ReasonEscalate, Params: map[string]string{"plan": "pro", "email": "***"},
		Transcript: []source.Turn{{From: source.TurnVisitor, Text: "I want a human", At: e.clock.now()}},
	}}
	if err := e.adapter.Escalate(context.Background(), e.acct, conv, req); err != nil {
		t.Fatal(err)
	}
	got := d.got()
	if len(got) != 1 || got[0].ev.Type != twilio.DeskEscalation || !strings.HasPrefix(got[0].id, "esc_") {
		t.Fatalf("desk got %+v", got)
	}
	var esc twilio.Escalation
	if err := json.Unmarshal(got[0].ev.Data, &esc); err != nil {
		t.Fatal(err)
	}
	if esc.ConversationID != conv.ID || esc.PlatformConversationID != conv.PCID() || esc.EscalateTo != "billing" || esc.Channel != "whatsapp" ||
		esc.Visitor.Name != "Ada" || esc.Visitor.Country != "NL" || esc.Visitor.Number != "" ||
		esc.Reason != "escalate" || esc.Context.Parameters["plan"] != "pro" || len(esc.Context.Transcript) != 1 ||
		esc.ReplyURL != e.webhook()+"/desk" {
		t.Fatalf("escalation %+v", esc)
	}
	if strings.Contains(string(got[0].raw), strings.TrimPrefix(dutchVisitor, "+")) {
		t.Fatalf("the number reached the desk without shareVisitorNumber: %s", got[0].raw)
	}
	if b := e.sentBodies("whatsapp:" + dutchVisitor); len(b) != 1 || b[0] != "A colleague will text you shortly." {
		t.Fatalf("visitor got %q", b)
	}
	// A retried escalate: the desk gets the same webhook-id (it dedupes);
	// the handover text is not sent twice.
	if err := e.adapter.Escalate(context.Background(), e.acct, conv, req); err != nil {
		t.Fatal(err)
	}
	if g := d.got(); g[1].id != got[0].id || len(e.sentBodies("whatsapp:"+dutchVisitor)) != 1 {
		t.Fatalf("retry: ids %s/%s, %d texts", g[1].id, got[0].id, len(e.sentBodies("whatsapp:"+dutchVisitor)))
	}

	// With the desk: the visitor's messages go there, not to the AI agent.
	if err := e.store.SetStatus(context.Background(), conv.PCID(), agentID, state.ConvEscalated, "billing"); err != nil {
		t.Fatal(err)
	}
	if evs := e.visitor(twiliotest.Visitor{From: "whatsapp:" + dutchVisitor, To: "whatsapp:" + tenantNumber, Body: "hello?"}); len(evs) != 0 {
		t.Fatalf("a message during the handover reached the AI agent: %+v", evs)
	}
	last := d.got()[len(d.got())-1]
	var vm twilio.VisitorMessage
	_ = json.Unmarshal(last.ev.Data, &vm)
	if last.ev.Type != twilio.DeskVisitorMessage || vm.Text != "hello?" || vm.ConversationID != conv.ID || !strings.HasPrefix(last.id, "msg_SM") {
		t.Fatalf("desk got %+v %+v", last, vm)
	}

	// The desk answers through the bridge, once per webhook-id.
	for range 2 {
		if status, body := e.deskPost("evt_1", twilio.DeskAgentMessage, map[string]string{"conversationId": conv.ID, "text": "Hi Ada, Sam here."}); status != 200 {
			t.Fatalf("agent.message: %d %s", status, body)
		}
	}
	if b := e.sentBodies("whatsapp:" + dutchVisitor); len(b) != 2 || b[1] != "Hi Ada, Sam here." {
		t.Fatalf("visitor got %q", b)
	}
	// And hands back.
	status, body := e.deskPost("evt_2", twilio.DeskHandedBack, map[string]string{"conversationId": conv.ID})
	evs := e.lastBatch().Events
	if status != 200 || len(evs) != 1 || evs[0].Kind != source.HandedBack || evs[0].Conversation != conv.ID {
		t.Fatalf("handedBack: %d %s %+v", status, body, evs)
	}
}

func TestDeskChecks(t *testing.T) {
	e, _ := deskEnv(t, "")
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	tests := []struct {
		name, id, typ string
		data          map[string]string
		status        int
		code          string
	}{
		{"not handed over", "e1", twilio.DeskAgentMessage, map[string]string{"conversationId": conv.ID, "text": "hi"}, 409, "not_with_desk"},
		{"unknown conversation", "e2", twilio.DeskHandedBack, map[string]string{"conversationId": "tw000000000000000000000000"}, 404, "unknown_conversation"},
		{"unknown type", "e3", "agent.joined", map[string]string{"conversationId": conv.ID}, 400, "invalid_event"},
		{"no text", "e4", twilio.DeskAgentMessage, map[string]string{"conversationId": conv.ID}, 400, "invalid_event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.deskPost(tc.id, tc.typ, tc.data)
			if status != tc.status || !strings.Contains(body, tc.code) {
				t.Fatalf("got %d %s", status, body)
			}
		})
	}
	// A wrong signature.
	req, _ := http.NewRequest(http.MethodPost, e.webhook()+"/desk", strings.NewReader(`{}`))
	req.Header.Set("webhook-id", "x")
	req.Header.Set("webhook-timestamp", "1")
	req.Header.Set("webhook-signature", "v1,AAAA")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned desk call: %d", resp.StatusCode)
	}
}

func TestHandoverRefusals(t *testing.T) {
	e := newEnv(t, envOpts{})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	if err := e.adapter.Escalate(context.Background(), e.acct, conv, source.HandoverRequest{ID: "h"}); !errors.Is(err, source.ErrUnsupported) {
		t.Fatalf("without a desk: %v", err)
	}
	e2, d := deskEnv(t, "")
	d.status = http.StatusServiceUnavailable
	conv2 := e2.conversation(e2.visitor(twiliotest.Visitor{Body: "hi"}))
	if err := e2.adapter.Escalate(context.Background(), e2.acct, conv2, source.HandoverRequest{ID: "h"}); err == nil {
		t.Fatal("a refusing desk accepted the handover")
	}
	if b := e2.sentBodies(visitorNumber); len(b) != 0 {
		t.Fatalf("the visitor was told of a handover that failed: %q", b)
	}
}

func TestGetUserInfoAndClose(t *testing.T) {
	for _, share := range []bool{false, true} {
		settings := ""
		if share {
			settings = `"shareVisitorNumber":true`
		}
		e := newEnv(t, envOpts{settings: settings})
		evs := e.visitor(twiliotest.Visitor{From: "whatsapp:" + dutchVisitor, To: "whatsapp:" + tenantNumber, Body: "hi", ProfileName: "Ada"})
		conv := e.conversation(evs)
		res, err := e.adapter.Builtin(context.Background(), e.acct, conv, source.ActionRequest{Builtin: twilio.BuiltinGetUserInfo, Attrs: evs[0].Attrs})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]ultimate.ActionResult{}
		for _, r := range res {
			got[r.Key] = r
		}
		if got["profileName"].Value != "Ada" || !got["profileName"].Sanitize || got["channel"].Value != "whatsapp" || got["country"].Value != "NL" {
			t.Fatalf("results %+v", res)
		}
		if n, ok := got["phoneNumber"]; ok != share || (share && (n.Value != dutchVisitor || !n.Sanitize)) {
			t.Fatalf("share=%v: phone %+v", share, n)
		}
	}
	e := newEnv(t, envOpts{})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	if _, err := e.adapter.Builtin(context.Background(), e.acct, conv, source.ActionRequest{Builtin: "addTags"}); !errors.Is(err, source.ErrUnsupported) {
		t.Fatalf("addTags: %v", err)
	}
	if err := e.adapter.Close(context.Background(), e.acct, conv); err != nil {
		t.Fatal(err)
	}
	if c, err := e.store.Conversation(context.Background(), conv.PCID()); err != nil || c.Status != state.ConvEnded {
		t.Fatalf("after close: %+v %v", c, err)
	}
	next := e.visitor(twiliotest.Visitor{Body: "hello again"})
	if next[0].Kind != source.Started || next[0].Conversation == conv.ID {
		t.Fatalf("after close: %+v (a new conversation)", next)
	}
	// A late bot message to the closed conversation still reaches the visitor.
	if err := e.send(conv, textMsg("late", "Goodbye!")); err != nil {
		t.Fatal(err)
	}
}
