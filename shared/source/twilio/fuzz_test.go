package twilio_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ids"
)

// FuzzParse: any sub-route, query and form body reaching Parse (as if
// signed) never panics; refusals are *apigw.Error values; every accepted
// request answers Twilio, and its events have IDs and conversations the
// inbound rules accept and carry no phone number.
func FuzzParse(f *testing.F) {
	msg := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {accountSID}, "From": {visitorNumber}, "To": {tenantNumber}, "Body": {"hi"}}
	f.Add("", "", msg.Encode())
	wa := url.Values{"MessageSid": {"MM0123456789abcdef0123456789abcdef"}, "AccountSid": {accountSID}, "From": {"whatsapp:+31612345678"}, "To": {"whatsapp:" + tenantNumber},
		"NumMedia": {"11"}, "MediaContentType0": {"image/[x]"}, "Latitude": {"91"}, "Longitude": {"1e400"}, "ButtonPayload": {"o9"}, "ProfileName": {"\u0000\u202e"}}
	f.Add("", "", wa.Encode())
	stop := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdee"}, "AccountSid": {accountSID}, "From": {visitorNumber}, "To": {tenantNumber}, "Body": {"STOP"}, "OptOutType": {"STOP"}}
	f.Add("", "", stop.Encode())
	st := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {accountSID}, "MessageStatus": {"failed"}, "ErrorCode": {"30007"}}
	f.Add("status", "c=tw0123&m=m0123456789abcdef01234567&p=0", st.Encode())
	f.Add("status", "c=%00&m=x&p=-1", st.Encode())
	e := newEnv(f, envOpts{})
	f.Fuzz(func(t *testing.T, proxy, query, body string) {
		if proxy != "" && proxy != "status" {
			proxy = "status"
		}
		q, _ := url.ParseQuery(query)
		req := &apigw.Request{
			Method: "POST", Params: map[string]string{"source": "twilio", "account": accountSID, "proxy": proxy},
			Header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, Query: q, RawQuery: query, Body: []byte(body),
		}
		b, err := e.adapter.Parse(req, e.acct)
		if err != nil {
			var ae *apigw.Error
			if !errors.As(err, &ae) {
				t.Fatalf("not an *apigw.Error: %v", err)
			}
			return
		}
		if b.Reply == nil || b.Reply.Status != 200 {
			t.Fatalf("no answer for Twilio: %+v", b)
		}
		for i, ev := range b.Events {
			if ids.Event("id", ev.ID) != nil || ids.Conversation("conversation", ev.Conversation) != nil {
				t.Fatalf("event %d: id %q conversation %q", i, ev.ID, ev.Conversation)
			}
			for _, n := range []string{visitorNumber, "31612345678"} {
				if strings.Contains(ev.Conversation, n) || strings.Contains(ev.ID, n) {
					t.Fatalf("a number in event %d: %+v", i, ev)
				}
			}
		}
	})
}
