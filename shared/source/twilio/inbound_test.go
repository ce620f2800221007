package twilio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/twilio"
	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
	"github.com/crmbridge/crmbridge/shared/state"
)

func TestFirstMessageStartsAConversation(t *testing.T) {
	e := newEnv(t, envOpts{})
	evs := e.visitor(twiliotest.Visitor{Body: "Hello there", FromCountry: "US"})
	if !reflect.DeepEqual(kinds(evs), []source.EventKind{source.Started, source.Message}) {
		t.Fatalf("events %v", kinds(evs))
	}
	start, msg := evs[0], evs[1]
	if !strings.HasPrefix(start.Conversation, "tw") || start.Conversation != msg.Conversation {
		t.Fatalf("conversation IDs %q %q", start.Conversation, msg.Conversation)
	}
	if start.Params[twilio.ParamChannel] != "sms" || start.Params[twilio.ParamCountry] != "US" || start.User != nil {
		t.Fatalf("session parameters %v user %v", start.Params, start.User)
	}
	if msg.Text != "Hello there" || !strings.HasPrefix(msg.ID, "SM") || start.ID != msg.ID+"#start" {
		t.Fatalf("message %+v start ID %s", msg, start.ID)
	}
	// No phone number in anything the bridge passes on or logs as an ID.
	b, _ := json.Marshal(evs)
	for _, n := range []string{visitorNumber, tenantNumber, strings.TrimPrefix(visitorNumber, "+")} {
		if strings.Contains(string(b), n) || strings.Contains(e.acct.Conversation(start.Conversation).PCID(), n) {
			t.Fatalf("a phone number leaked into the events: %s", b)
		}
	}

	// The same pair is the same conversation; another visitor is another.
	evs2 := e.visitor(twiliotest.Visitor{Body: "second"})
	if !reflect.DeepEqual(kinds(evs2), []source.EventKind{source.Message}) || evs2[0].Conversation != start.Conversation {
		t.Fatalf("second message: %+v", evs2)
	}
	evs3 := e.visitor(twiliotest.Visitor{From: dutchVisitor, Body: "hoi"})
	if evs3[0].Conversation == start.Conversation || evs3[0].Params[twilio.ParamCountry] != "NL" {
		t.Fatalf("another visitor: %+v", evs3)
	}
	// The same visitor writing to another of the tenant's numbers.
	evs4 := e.visitor(twiliotest.Visitor{To: "+15005550007", Body: "hi"})
	if evs4[0].Kind != source.Started || evs4[0].Conversation == start.Conversation {
		t.Fatalf("another tenant number: %+v", evs4)
	}
}

func TestSessionRestartsAfterIdleAndHandBack(t *testing.T) {
	e := newEnv(t, envOpts{settings: `"sessionIdleMinutes":30`})
	first := e.visitor(twiliotest.Visitor{Body: "one"})
	conv := e.conversation(first)
	e.clock.add(20 * time.Minute)
	if k := kinds(e.visitor(twiliotest.Visitor{Body: "two"})); !reflect.DeepEqual(k, []source.EventKind{source.Message}) {
		t.Fatalf("within the idle time: %v", k)
	}
	e.clock.add(31 * time.Minute)
	evs := e.visitor(twiliotest.Visitor{Body: "three"})
	if !reflect.DeepEqual(kinds(evs), []source.EventKind{source.Started, source.Message}) || evs[0].Conversation != conv.ID {
		t.Fatalf("after idling: %v", evs)
	}
	if err := e.store.SetStatus(context.Background(), conv.PCID(), agentID, state.ConvEnded, ""); err != nil {
		t.Fatal(err)
	}
	if k := kinds(e.visitor(twiliotest.Visitor{Body: "four"})); k[0] != source.Started {
		t.Fatalf("after the session ended: %v", k)
	}
}

func TestWhatsAppProfileMediaLocationTyping(t *testing.T) {
	e := newEnv(t, envOpts{settings: `"media":"url"`})
	wa := "whatsapp:" + dutchVisitor
	evs := e.visitor(twiliotest.Visitor{From: wa, To: "whatsapp:" + tenantNumber, Body: "see this", ProfileName: "Ada\u0007 Lovelace",
		Media: []twiliotest.Media{{ContentType: "image/jpeg", URL: "https://api.twilio.com/2010-04-01/Accounts/" + accountSID + "/Messages/MM1/Media/ME1"}}})
	start, msg := evs[0], evs[1]
	if start.User[twilio.UserName] != "Ada Lovelace" || start.Attrs[twilio.AttrName] != "Ada Lovelace" || start.Params[twilio.ParamChannel] != "whatsapp" || start.Params[twilio.ParamCountry] != "NL" {
		t.Fatalf("start %+v", start)
	}
	if msg.Text != "see this\n[image/jpeg] https://api.twilio.com/2010-04-01/Accounts/"+accountSID+"/Messages/MM1/Media/ME1" {
		t.Fatalf("text %q", msg.Text)
	}
	if got := e.twilio.Typing(); len(got) != 1 || got[0] != msg.ID {
		t.Fatalf("typing indicators %v for %s", got, msg.ID)
	}
	loc := e.visitor(twiliotest.Visitor{From: wa, To: "whatsapp:" + tenantNumber, Latitude: "52.370216", Longitude: "4.895168", Label: "Dam", Address: "Amsterdam"})
	if loc[0].Text != "[location] 52.370216,4.895168 Dam Amsterdam" {
		t.Fatalf("location %q", loc[0].Text)
	}
}

func TestMediaURLsOmittedByDefault(t *testing.T) {
	e := newEnv(t, envOpts{})
	evs := e.visitor(twiliotest.Visitor{Media: []twiliotest.Media{{ContentType: "application/pdf", URL: "https://api.twilio.com/x"}, {ContentType: "image/png", URL: "https://api.twilio.com/y"}}})
	if evs[1].Text != "[application/pdf]\n[image/png]" {
		t.Fatalf("text %q", evs[1].Text)
	}
}

func TestOptOut(t *testing.T) {
	for _, advanced := range []bool{false, true} {
		t.Run(map[bool]string{false: "keywords", true: "OptOutType"}[advanced], func(t *testing.T) {
			e := newEnv(t, envOpts{twilio: twiliotest.Options{AdvancedOptOut: advanced}})
			first := e.visitor(twiliotest.Visitor{Body: "hello"})
			conv := e.conversation(first)
			stop := e.visitor(twiliotest.Visitor{Body: "Stop"})
			if len(stop) != 1 || stop[0].Kind != source.Ended || stop[0].Conversation != conv.ID || stop[0].Text != "" {
				t.Fatalf("STOP: %+v (the AI agent gets endSession only)", stop)
			}
			if evs := e.visitor(twiliotest.Visitor{Body: "are you there?"}); len(evs) != 0 {
				t.Fatalf("an opted-out visitor's message reached the AI agent: %+v", evs)
			}
			if err := e.send(conv, textMsg("m1", "answer")); err == nil || !strings.Contains(err.Error(), "opted out") {
				t.Fatalf("send to an opted-out visitor: %v", err)
			}
			if n := len(e.twilio.Sent(visitorNumber)); n != 0 {
				t.Fatalf("%d messages sent after STOP", n)
			}
			if evs := e.visitor(twiliotest.Visitor{Body: "START"}); len(evs) != 0 {
				t.Fatalf("START went to the AI agent: %+v", evs)
			}
			again := e.visitor(twiliotest.Visitor{Body: "back again"})
			if again[0].Kind != source.Started || again[0].Conversation == conv.ID {
				t.Fatalf("after START: %+v (a new conversation)", again)
			}
			// "Yes" while subscribed is an answer, not an opt-in.
			if yes := e.visitor(twiliotest.Visitor{Body: "Yes"}); len(yes) != 1 || yes[0].Text != "Yes" {
				t.Fatalf("yes: %+v", yes)
			}
			if help := e.visitor(twiliotest.Visitor{Body: "HELP"}); len(help) != 0 {
				t.Fatalf("HELP went to the AI agent: %+v", help)
			}
		})
	}
}

func TestLocalizedAndCustomKeywords(t *testing.T) {
	e := newEnv(t, envOpts{settings: `"optOut":{"stop":["uitschrijven"],"forwardHelp":true}`})
	e.visitor(twiliotest.Visitor{Body: "hola"})
	if evs := e.visitor(twiliotest.Visitor{Body: "¡ALTO!"}); len(evs) != 1 || evs[0].Kind != source.Ended {
		t.Fatalf("ALTO: %+v", evs)
	}
	e.visitor(twiliotest.Visitor{From: dutchVisitor, Body: "hallo"})
	if evs := e.visitor(twiliotest.Visitor{From: dutchVisitor, Body: "Uitschrijven"}); len(evs) != 1 || evs[0].Kind != source.Ended {
		t.Fatalf("a custom keyword: %+v", evs)
	}
	e.visitor(twiliotest.Visitor{From: "+4915112345678", Body: "hallo"})
	if evs := e.visitor(twiliotest.Visitor{From: "+4915112345678", Body: "help"}); len(evs) != 1 || evs[0].Text != "help" {
		t.Fatalf("forwardHelp: %+v", evs)
	}
	// On WhatsApp a keyword is text unless Twilio says otherwise.
	wa := twiliotest.Visitor{From: "whatsapp:" + visitorNumber, To: "whatsapp:" + tenantNumber, Body: "stop"}
	if evs := e.visitor(wa); evs[len(evs)-1].Kind != source.Message || evs[len(evs)-1].Text != "stop" {
		t.Fatalf("WhatsApp 'stop': %+v", evs)
	}
	wa.Extra = map[string]string{"OptOutType": "STOP"}
	if evs := e.visitor(wa); len(evs) != 1 || evs[0].Kind != source.Ended {
		t.Fatalf("WhatsApp with OptOutType: %+v", evs)
	}
}

func TestWebhookAuthentication(t *testing.T) {
	e := newEnv(t, envOpts{creds: map[string]string{"previousAuthToken": "the-old-token"}})
	post := func(sig, settings, body string) (int, string) {
		h := map[string]string{}
		if sig != "" {
			h[twilio.HeaderSignature] = sig
		}
		if settings != "" {
			h[twilio.HeaderSignatureSettings] = settings
		}
		status, code, _ := e.postRaw(e.webhook(), body, h)
		return status, code
	}
	params := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {accountSID}, "From": {visitorNumber}, "To": {tenantNumber}, "Body": {"hi"}}
	body := params.Encode()
	sign := func(key string) string { return twilio.Sign([]byte(key), twilio.HMACSHA1, e.webhook(), params) }
	tests := []struct {
		name, sig, settings, body string
		status                    int
		code                      string
	}{
		{"the auth token", sign(authToken), "", body, 200, ""},
		{"the previous token in a rotation", sign("the-old-token"), "", body, 200, ""},
		{"another token", sign("someone-else"), "", body, 401, "bad_signature"},
		{"no signature", "", "", body, 401, "missing_signature"},
		{"a changed body", sign(authToken), "", body + "&Extra=1", 401, "bad_signature"},
		{"signed with a shared key the account lacks", sign(authToken), "key=KS1,algorithm=HMAC_SHA256", body, 401, "no_signing_key"},
		{"bad settings", sign(authToken), "algorithm=ROT13", body, 401, "bad_signature_settings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, code := post(tc.sig, tc.settings, tc.body); status != tc.status || code != tc.code {
				t.Fatalf("got %d %q, want %d %q", status, code, tc.status, tc.code)
			}
		})
	}
}

func TestJSONAndSharedKeyWebhooks(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, asJSON := range []bool{false, true} {
			o := envOpts{}
			if shared {
				o.creds = map[string]string{"sharedKeySecret": "the-shared-key"}
				o.twilio.Accounts = []twiliotest.Account{{SID: accountSID, AuthToken: authToken, APIKeySid: apiKeySid, APIKeySecret: apiSecret,
					SharedKeyID: "KS0123456789abcdef0123456789abcdef", SharedKey: "the-shared-key"}}
			}
			e := newEnv(t, o)
			evs := e.visitor(twiliotest.Visitor{Body: "signed", JSON: asJSON})
			if evs[len(evs)-1].Text != "signed" {
				t.Fatalf("shared=%v json=%v: %+v", shared, asJSON, evs)
			}
		}
	}
}

func TestMessageChecks(t *testing.T) {
	e := newEnv(t, envOpts{})
	post := func(p url.Values) (int, string) {
		status, code, _ := e.postSigned(e.webhook(), p)
		return status, code
	}
	good := func() url.Values {
		return url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {accountSID}, "From": {visitorNumber}, "To": {tenantNumber}, "Body": {"hi"}}
	}
	tests := []struct {
		name   string
		change func(url.Values)
		status int
		code   string
	}{
		{"another account's message", func(p url.Values) { p.Set("AccountSid", "ACffffffffffffffffffffffffffffffff") }, 403, "account_mismatch"},
		{"no MessageSid", func(p url.Values) { p.Del("MessageSid") }, 400, "invalid_message"},
		{"a malformed MessageSid", func(p url.Values) { p.Set("MessageSid", "SM../../x") }, 400, "invalid_message"},
		{"an RCS sender", func(p url.Values) { p.Set("From", "rcs:acme") }, 400, "invalid_message"},
		{"mixed channels", func(p url.Values) { p.Set("From", "whatsapp:"+visitorNumber) }, 400, "invalid_message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.change(p)
			if status, code := post(p); status != tc.status || code != tc.code {
				t.Fatalf("got %d %s, want %d %s", status, code, tc.status, tc.code)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	a := twilio.New(nil, time.Now, nil, nil)
	tests := []struct {
		method, account, proxy string
		status                 int
	}{
		{"POST", accountSID, "", 0},
		{"POST", accountSID, "status", 0},
		{"POST", accountSID, "desk", 0},
		{"GET", accountSID, "", 405},
		{"PUT", accountSID, "", 405},
		{"POST", accountSID, "other", 404},
		{"POST", "demo", "", 404},
		{"POST", "ACABC", "", 404},
	}
	for _, tc := range tests {
		err := a.Route(&apigw.Request{Method: tc.method, Params: map[string]string{"account": tc.account, "proxy": tc.proxy}})
		if got := statusOf(err); got != tc.status {
			t.Errorf("%s %s/%s: %d (%v), want %d", tc.method, tc.account, tc.proxy, got, err, tc.status)
		}
	}
}

func statusOf(err error) int {
	if err == nil {
		return 0
	}
	return apigw.AsError(err).Status
}

// The URL Twilio signed, rebuilt from what API Gateway passes on.
func TestWebhookURL(t *testing.T) {
	ev := func(domain, stage, rawPath, query, proto string) *apigw.Request {
		e := events.APIGatewayV2HTTPRequest{RawPath: rawPath, RawQueryString: query, Headers: map[string]string{},
			PathParameters: map[string]string{"source": "twilio", "account": accountSID},
			RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: domain, Stage: stage, HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}}
		if proto != "" {
			e.Headers["x-forwarded-proto"] = proto
		}
		r, err := apigw.FromEvent(e, apigw.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p := "/sources/twilio/" + accountSID
	tests := []struct {
		req    *apigw.Request
		public string
		want   string
	}{
		{ev("abc.execute-api.eu-west-1.amazonaws.com", "$default", p, "", "https"), "", "https://abc.execute-api.eu-west-1.amazonaws.com" + p},
		{ev("abc.execute-api.eu-west-1.amazonaws.com", "prod", "/prod"+p, "a=1", "https"), "", "https://abc.execute-api.eu-west-1.amazonaws.com/prod" + p + "?a=1"},
		{ev("abc.execute-api.eu-west-1.amazonaws.com", "prod", p, "", ""), "", "https://abc.execute-api.eu-west-1.amazonaws.com/prod" + p},
		{ev("bridge.example.com", "$default", p, "x=%2F", "http,https"), "", "http://bridge.example.com" + p + "?x=%2F"},
		{ev("abc.execute-api.eu-west-1.amazonaws.com", "$default", p, "c=1", "https"), "https://chat.example.com/api", "https://chat.example.com/api" + p + "?c=1"},
	}
	for _, tc := range tests {
		if got := twilio.WebhookURL(tc.req, tc.public); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

// A start whose events never got through (the pipeline refused them) is
// started again by the next message.
func TestStartRepeatedUntilItGetsThrough(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {accountSID}, "From": {visitorNumber}, "To": {tenantNumber}, "Body": {"hi"}}
	req := &apigw.Request{Method: "POST", Params: map[string]string{"source": "twilio", "account": accountSID},
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte(p.Encode())}
	b, err := e.adapter.Parse(req, e.acct)
	if err != nil || b.Events[0].Kind != source.Started {
		t.Fatalf("%+v %v", b, err)
	}
	// Parse ran, the pipeline never recorded the events: start again.
	if evs := e.visitor(twiliotest.Visitor{Body: "hello?"}); evs[0].Kind != source.Started || evs[0].Conversation != b.Events[0].Conversation {
		t.Fatalf("%+v", evs)
	}
}
