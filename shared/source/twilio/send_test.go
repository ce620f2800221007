package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/twilio"
	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// loseAnswers lets the request through and drops Twilio's answer for the
// first n creates: Twilio has the message, the bridge does not know it.
type loseAnswers struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (l *loseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Messages.json") && l.n.Add(-1) >= 0 {
		resp.Body.Close()
		return nil, errors.New("connection reset after the request was sent")
	}
	return resp, err
}

func TestNeverResendsWhatTwilioAccepted(t *testing.T) {
	lose := &loseAnswers{}
	e := newEnv(t, envOpts{settings: `"sms":{"maxSegments":1}`, wrap: func(rt http.RoundTripper) http.RoundTripper { lose.next = rt; return lose }})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	long := strings.Repeat("Three parts of text, each its own SMS. ", 11)

	// The answer to the second part is lost: the retry finds it at Twilio.
	lose.n.Store(0)
	var p source.Progress
	err := e.adapter.Send(context.Background(), e.acct, conv, textMsg("m-long", long), &p)
	if err != nil {
		t.Fatal(err)
	}
	want := e.sentBodies(visitorNumber)
	if len(want) < 3 {
		t.Fatalf("%d parts", len(want))
	}
	// A redelivery of the same message after a crash (a fresh Progress):
	// nothing is sent again.
	var fresh source.Progress
	if err := e.adapter.Send(context.Background(), e.acct, conv, textMsg("m-long", long), &fresh); err != nil {
		t.Fatal(err)
	}
	if got := e.sentBodies(visitorNumber); len(got) != len(want) {
		t.Fatalf("redelivery sent again: %d messages, want %d", len(got), len(want))
	}

	// Lost answers in the middle of another message.
	lose.n.Store(1)
	p = source.Progress{}
	msg := textMsg("m-two", strings.Repeat("Another long text in parts. ", 12))
	err = e.adapter.Send(context.Background(), e.acct, conv, msg, &p)
	if err == nil || !retry.IsRetryable(err) || p.Sent != 0 {
		t.Fatalf("a lost answer: %v (sent %d): retryable, nothing counted", err, p.Sent)
	}
	if err := e.adapter.Send(context.Background(), e.acct, conv, msg, &p); err != nil {
		t.Fatal(err)
	}
	bodies := e.sentBodies(visitorNumber)[len(want):]
	seen := map[string]int{}
	for _, b := range bodies {
		seen[b]++
		if seen[b] > 1 {
			t.Fatalf("part sent twice: %q", b)
		}
	}
	if p.Sent != len(bodies) || len(bodies) < 2 {
		t.Fatalf("progress %d, %d bodies", p.Sent, len(bodies))
	}
}

// refuseNth answers the nth create with a 503 without passing it on.
type refuseNth struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (f *refuseNth) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Messages.json") && f.n.Add(-1) == 0 {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	return f.next.RoundTrip(r)
}

func TestRetryContinuesFromTheFailedPart(t *testing.T) {
	refuse := &refuseNth{}
	e := newEnv(t, envOpts{settings: `"sms":{"maxSegments":1}`, wrap: func(rt http.RoundTripper) http.RoundTripper { refuse.next = rt; return refuse }})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	refuse.n.Store(2)
	var p source.Progress
	msg := textMsg("m-parts", strings.Repeat("Two or more parts of a reply. ", 8))
	err := e.adapter.Send(context.Background(), e.acct, conv, msg, &p)
	if err == nil || !retry.IsRetryable(err) || p.Sent != 1 {
		t.Fatalf("a 503 on the second part: %v, sent %d", err, p.Sent)
	}
	if err := e.adapter.Send(context.Background(), e.acct, conv, msg, &p); err != nil {
		t.Fatal(err)
	}
	bodies := e.sentBodies(visitorNumber)
	if p.Sent != len(bodies) || !strings.HasPrefix(bodies[0], "(1/") || !strings.HasPrefix(bodies[1], "(2/") {
		t.Fatalf("progress %d, sent %q", p.Sent, bodies)
	}
}

func TestTwilioRefusals(t *testing.T) {
	e := newEnv(t, envOpts{})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	e.twilio.FailNext(http.StatusBadRequest, 21610)
	err := e.send(conv, textMsg("m1", "hello?"))
	if !errors.Is(err, twilio.ErrOptedOut) || retry.IsRetryable(err) || !strings.Contains(err.Error(), "twilio-21610") {
		t.Fatalf("21610: %v", err)
	}
	// Twilio knew of the opt-out before the bridge: now the bridge knows.
	if evs := e.visitor(twiliotest.Visitor{Body: "anyone?"}); len(evs) != 0 {
		t.Fatalf("an opted-out visitor's message went on: %+v", evs)
	}

	e2 := newEnv(t, envOpts{creds: map[string]string{"apiKeySecret": "wrong"}})
	conv2 := e2.conversation(e2.visitor(twiliotest.Visitor{Body: "hi"}))
	err = e2.send(conv2, textMsg("m1", "hello"))
	if err == nil || retry.IsRetryable(err) || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "twilio-20003") {
		t.Fatalf("a wrong API key: %v", err)
	}
}

func TestWhatsAppWindow(t *testing.T) {
	e := newEnv(t, envOpts{})
	wa := twiliotest.Visitor{From: "whatsapp:" + visitorNumber, To: "whatsapp:" + tenantNumber, Body: "hi"}
	conv := e.conversation(e.visitor(wa))
	e.clock.add(23 * time.Hour)
	if err := e.send(conv, textMsg("m1", "within the window")); err != nil {
		t.Fatal(err)
	}
	e.clock.add(2 * time.Hour)
	calls := e.twilio.Calls()
	err := e.send(conv, textMsg("m2", "too late"))
	if !errors.Is(err, twilio.ErrOutsideWindow) || retry.IsRetryable(err) {
		t.Fatalf("outside the window: %v", err)
	}
	if e.twilio.Calls() != calls {
		t.Fatal("the bridge asked Twilio anyway")
	}
	// The visitor writes again: the window reopens.
	e.visitor(wa)
	if err := e.send(conv, textMsg("m3", "welcome back")); err != nil {
		t.Fatal(err)
	}
}

func TestSenders(t *testing.T) {
	const service = "MG0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		settings, from, service string
	}{
		{"", tenantNumber, ""},
		{`"from":"+15005550009"`, "+15005550009", ""},
		{`"messagingServiceSid":"` + service + `"`, "", service},
	} {
		e := newEnv(t, envOpts{settings: tc.settings})
		conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
		if err := e.send(conv, textMsg("m", "hello")); err != nil {
			t.Fatal(err)
		}
		m, _ := e.twilio.Last(visitorNumber)
		if m.From != tc.from || m.MessagingServiceSid != tc.service {
			t.Errorf("%s: from %q service %q", tc.settings, m.From, m.MessagingServiceSid)
		}
	}
}

func TestFailedDeliveryIsADeadLetter(t *testing.T) {
	e := newEnv(t, envOpts{})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	e.twilio.FailDelivery(30007)
	if err := e.send(conv, textMsg("m-filtered", "Your code is 1234")); err != nil {
		t.Fatal(err)
	}
	m, _ := e.twilio.Last(visitorNumber)
	for range 2 { // Twilio may call back twice; one dead letter
		if err := e.twilio.Deliver(context.Background(), m.Sid); err != nil {
			t.Fatal(err)
		}
	}
	dl, err := e.store.DeadLetter(context.Background(), state.BotMessageKey(agentID, "twilio-"+m.Sid))
	if err != nil {
		t.Fatal(err)
	}
	if dl.Kind != state.DeadOutbound || !strings.Contains(dl.Reason, "undelivered, error 30007") || dl.Ref["pcid"] != conv.PCID() {
		t.Fatalf("dead letter %+v", dl)
	}
	if strings.Contains(dl.Reason, visitorNumber) || strings.Contains(dl.Ref["pcid"], visitorNumber) {
		t.Fatalf("a phone number in the dead letter's reason or refs: %+v", dl)
	}
	// Its payload is an outbound dead letter the replay understands.
	var dm twilio.DeadMessage
	if err := json.Unmarshal([]byte(dl.Payload), &dm); err != nil || dm.Event == nil || dm.PCID != conv.PCID() ||
		dm.Event.EventType != ultimate.EventSendMessage || dm.Event.Message().Text != "Your code is 1234" {
		t.Fatalf("payload %s: %v", dl.Payload, err)
	}
	// A delivered message leaves nothing.
	if err := e.send(conv, textMsg("m-ok", "fine")); err != nil {
		t.Fatal(err)
	}
	ok, _ := e.twilio.Last(visitorNumber)
	if err := e.twilio.Deliver(context.Background(), ok.Sid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.DeadLetter(context.Background(), state.BotMessageKey(agentID, "twilio-"+ok.Sid)); err == nil {
		t.Fatal("a delivered message was kept as a dead letter")
	}
}

func TestWhatsAppWindowFailureReportedByTwilio(t *testing.T) {
	e := newEnv(t, envOpts{})
	wa := twiliotest.Visitor{From: "whatsapp:" + visitorNumber, To: "whatsapp:" + tenantNumber, Body: "hi"}
	conv := e.conversation(e.visitor(wa))
	e.twilio.FailDelivery(63016)
	if err := e.send(conv, textMsg("m", "hello")); err != nil {
		t.Fatal(err)
	}
	m, _ := e.twilio.Last(wa.From)
	if err := e.twilio.Deliver(context.Background(), m.Sid); err != nil {
		t.Fatal(err)
	}
	dl, err := e.store.DeadLetter(context.Background(), state.BotMessageKey(agentID, "twilio-"+m.Sid))
	if err != nil || !strings.Contains(dl.Reason, "63016") || !strings.Contains(dl.Reason, "24-hour window") {
		t.Fatalf("%+v %v", dl, err)
	}
}

func TestStatusCallbackForSomeoneElsesMessage(t *testing.T) {
	e := newEnv(t, envOpts{})
	// A Messaging Service whose own status URL points at the bridge: a
	// failure without the bridge's query names nothing of ours.
	u := e.webhook() + "/status"
	p := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "MessageStatus": {"failed"}, "ErrorCode": {"30003"}, "AccountSid": {accountSID}}
	status, _, body := e.postSigned(u, p)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
}
