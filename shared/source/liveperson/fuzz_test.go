package liveperson

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
)

// FuzzParse feeds arbitrary methods, sub-paths and bodies to the router and
// parser: they must never panic, every refusal must be an *apigw.Error, and
// every accepted request must carry an answer for LivePerson.
func FuzzParse(f *testing.F) {
	ep := lptest.Endpoint{Account: testAccount, BotID: testBotID}
	for _, r := range []lptest.Request{
		ep.Environments(), ep.State(),
		ep.CreateConversation(testConv, lptest.ConversationBody(lptest.MessagingSDES(lptest.Person{FirstName: "A", Email: "a@example.com"}, true), "MESSAGING")),
		ep.Text(testConv, 1, "hi", lptest.ExternalID("crmbridge:c=1;t=Buy")),
		ep.Click(testConv, 2, "Buy (1/2)", "crmbridge:c=0;t=Buy"),
		ep.Start(testConv, 3, "refund"), ep.Closed(testConv, 4), ep.Transferred(testConv, 5),
		ep.HostedFile(testConv, 6, "/v1/AUTH_async-images/le1/a.png", "PNG", "caption"),
	} {
		f.Add(r.Method, r.Proxy, r.Body)
	}
	a := newAdapter()
	acct := account(f, baseSettings(f), userPass)
	f.Fuzz(func(t *testing.T, method, proxy string, body []byte) {
		req := &apigw.Request{Method: method, Params: map[string]string{"proxy": proxy}, Body: body}
		routeErr := a.Route(req)
		b, err := a.Parse(req, acct)
		if routeErr != nil && err == nil {
			t.Fatalf("Route refused (%v) but Parse accepted", routeErr)
		}
		if err != nil {
			if !isAPIError(err) {
				t.Fatalf("not an *apigw.Error: %v", err)
			}
			return
		}
		if b == nil || b.Reply == nil {
			t.Fatal("accepted without an answer")
		}
		if strings.HasSuffix(strings.TrimSuffix(proxy, "/"), "/events") && b.MustExist == "" {
			t.Fatal("an event accepted without naming the conversation that must exist")
		}
		for _, ev := range b.Events {
			if ev.Kind == source.Message && strings.TrimSpace(ev.Text) == "" {
				t.Fatalf("message without text: %+v", ev)
			}
			if ev.ID == "" || ev.Conversation == "" || !strings.HasPrefix(ev.ID, ev.Conversation+"#") {
				t.Fatalf("event %+v", ev)
			}
			if ev.CardIndex != nil && (*ev.CardIndex < 0 || *ev.CardIndex >= maxCards) {
				t.Fatalf("card index %d", *ev.CardIndex)
			}
		}
	})
}

func isAPIError(err error) bool {
	var ae *apigw.Error
	return errors.As(err, &ae)
}

// FuzzAuthenticate feeds arbitrary Authorization headers to the verifier:
// no panic, and every refusal is a 401 (or 503 when keys are unavailable).
func FuzzAuthenticate(f *testing.F) {
	s := demo(f)
	for _, k := range []lptest.TokenKind{lptest.TokenValid, lptest.TokenExpired, lptest.TokenAlgNone, lptest.TokenAlgHS256, lptest.TokenWrongScope} {
		tok, err := s.Token(k, testNow)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("Bearer " + tok)
	}
	f.Add("")
	f.Add("Bearer")
	f.Add("Bearer e30.e30.")
	f.Add("Bearer eyJhbGciOiJSUzI1NiJ9.bnVsbA.AAAA")
	a := newAdapter()
	acct := account(f, baseSettings(f), userPass)
	req := &apigw.Request{Method: "GET"}
	f.Fuzz(func(t *testing.T, header string) {
		req.Header = map[string][]string{"Authorization": {header}}
		err := a.Authenticate(req, acct, testNow)
		if err == nil {
			return
		}
		var ae *apigw.Error
		if !errors.As(err, &ae) || (ae.Status != 401 && ae.Status != 503) {
			t.Fatalf("got %v", err)
		}
	})
}
