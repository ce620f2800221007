package liveperson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/inbound"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
)

func parse(t *testing.T, s Settings, creds []byte, r lptest.Request) (*source.Batch, error) {
	t.Helper()
	return newAdapter().Parse(apiRequest(t, r), account(t, s, creds))
}

func mustParse(t *testing.T, r lptest.Request) *source.Batch {
	t.Helper()
	b, err := parse(t, baseSettings(t), userPass, r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func replyJSON(t *testing.T, b *source.Batch) (int, any) {
	t.Helper()
	if b.Reply == nil {
		t.Fatal("no reply")
	}
	var v any
	if err := json.Unmarshal(b.Reply.Body, &v); err != nil {
		t.Fatalf("reply %q: %v", b.Reply.Body, err)
	}
	return b.Reply.Status, v
}

func TestParseEnvironmentsAndState(t *testing.T) {
	ep := endpoint(t)
	b := mustParse(t, ep.Environments())
	if st, v := replyJSON(t, b); st != 200 || !reflect.DeepEqual(v, []any{"draft", "production"}) || len(b.Events) != 0 {
		t.Fatalf("environments: %d %v %v", st, v, b.Events)
	}
	for _, env := range []string{"draft", "production"} {
		ep.Env = env
		st, v := replyJSON(t, mustParse(t, ep.State()))
		if st != 200 || !reflect.DeepEqual(v, map[string]any{"state": "online", "version": "1.0.0"}) {
			t.Fatalf("state %s: %d %v", env, st, v)
		}
	}
	// Without a usable Public API user the bot cannot answer: Test
	// Connection must fail.
	ep.Env = ""
	b, err := parse(t, baseSettings(t), []byte(`{"username":"x"}`), ep.State())
	if err != nil {
		t.Fatal(err)
	}
	if _, v := replyJSON(t, b); v.(map[string]any)["state"] != "error" {
		t.Fatalf("state without credentials: %v", v)
	}
}

func TestParseUnknownBotOrEnvironment(t *testing.T) {
	ep := endpoint(t)
	other := ep
	other.BotID = "00000000-0000-0000-0000-000000000000"
	staging := ep
	staging.Env = "staging"
	for name, r := range map[string]lptest.Request{
		"bot env list": other.Environments(), "bot state": other.State(), "bot events": other.Text(testConv, 1, "hi"),
		"env state": staging.State(), "env put": staging.CreateConversation(testConv, nil),
	} {
		_, err := parse(t, baseSettings(t), userPass, r)
		want := "unknown_bot"
		if strings.HasPrefix(name, "env") {
			want = "unknown_environment"
		}
		if c, status := code(t, err); c != want || status != 404 {
			t.Errorf("%s: got %q/%d, want %s/404", name, c, status, want)
		}
	}
}

func TestParseCreateConversation(t *testing.T) {
	p := lptest.Person{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0000", CustomerID: "C-42", Language: "en-GB"}
	b := mustParse(t, endpoint(t).CreateConversation(testConv, lptest.ConversationBody(lptest.MessagingSDES(p, true), "MESSAGING")))
	if st, v := replyJSON(t, b); st != 200 || !reflect.DeepEqual(v, map[string]any{}) {
		t.Fatalf("reply %d %v", st, v)
	}
	if len(b.Events) != 1 {
		t.Fatalf("events: %+v", b.Events)
	}
	ev := b.Events[0]
	wantUser := map[string]string{
		"name": "Ada Lovelace", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000",
		"customerId": "C-42", "customerType": "vip", "customerStatus": "active", "language": "en-GB", "authenticated": "true",
	}
	if ev.Kind != source.Started || !ev.MustBeNew || ev.Conversation != testConv || !strings.HasPrefix(ev.ID, testConv+"#created#") {
		t.Fatalf("event %+v", ev)
	}
	if !reflect.DeepEqual(ev.User, wantUser) {
		t.Fatalf("user %v\nwant %v", ev.User, wantUser)
	}
	wantParams := map[string]string{ParamConversationType: "MESSAGING", ParamSkillID: "1234567", ParamEngagementID: "123498765", ParamCampaignID: "987665546"}
	if !reflect.DeepEqual(ev.Params, wantParams) {
		t.Fatalf("params %v", ev.Params)
	}
	for k, v := range wantUser {
		if ev.Attrs[AttrPrefix+k] != v {
			t.Fatalf("attrs %v lack %s", ev.Attrs, k)
		}
	}
	// The field names are chosen so the inbound handler's defaults sanitize
	// the personal ones.
	sanitized := map[string]bool{}
	for _, m := range inbound.SessionParams(nil, ev.User, ev.Params) {
		sanitized[m.Key] = m.Sanitize
	}
	for _, k := range []string{"name", "firstName", "lastName", "email", "phone"} {
		if !sanitized[k] {
			t.Errorf("%s is not sanitized by default", k)
		}
	}
	for _, k := range []string{ParamSkillID, "language", "customerType"} {
		if sanitized[k] {
			t.Errorf("%s is sanitized; it is not personal", k)
		}
	}
}

func TestParseCreateConversationLenient(t *testing.T) {
	for name, body := range map[string]string{
		"empty body": "", "no sdes": `{"context":{"type":"CHAT"}}`, "sdes of wrong type": `{"sdes":"x","context":[]}`,
	} {
		r := endpoint(t).CreateConversation(testConv, nil)
		r.Body = []byte(body)
		b, err := parse(t, baseSettings(t), userPass, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ev := b.Events[0]; ev.Kind != source.Started || !ev.MustBeNew || ev.User != nil || ev.Attrs != nil {
			t.Fatalf("%s: %+v", name, ev)
		}
	}
	r := endpoint(t).CreateConversation(testConv, nil)
	r.Body = []byte(`["not an object"]`)
	if _, err := parse(t, baseSettings(t), userPass, r); err == nil {
		t.Fatal("array body accepted")
	} else if c, status := code(t, err); c != "invalid_body" || status != 400 {
		t.Fatalf("got %s/%d", c, status)
	}
}

func TestParseEvents(t *testing.T) {
	ep := endpoint(t)
	card := func(n int) *int { return &n }
	tests := []struct {
		name string
		req  lptest.Request
		want *source.Event // nil: no event
	}{
		{"text", ep.Text(testConv, 7, " Hi there "),
			&source.Event{ID: testConv + "#7", Kind: source.Message, Conversation: testConv, Text: "Hi there"}},
		{"blank text", ep.Text(testConv, 8, "  "), nil},
		{"quick reply click with metadata", ep.Text(testConv, 9, "Yes", lptest.ExternalID(clickID(-1, "Yes"))),
			&source.Event{ID: testConv + "#9", Kind: source.Message, Conversation: testConv, Text: "Yes"}},
		{"carousel click with metadata", ep.Text(testConv, 10, "Buy (2/3)", lptest.ExternalID(clickID(1, "Buy"))),
			&source.Event{ID: testConv + "#10", Kind: source.Message, Conversation: testConv, Text: "Buy", CardIndex: card(1)}},
		{"carousel click without metadata", ep.Text(testConv, 11, "Buy (3/3)"),
			&source.Event{ID: testConv + "#11", Kind: source.Message, Conversation: testConv, Text: "Buy", CardIndex: card(2)}},
		{"foreign metadata ignored", ep.Text(testConv, 12, "Order 5", lptest.ExternalID("Yes-1234")),
			&source.Event{ID: testConv + "#12", Kind: source.Message, Conversation: testConv, Text: "Order 5"}},
		{"rich content click", ep.Click(testConv, 13, "Buy (1/3)", clickID(0, "Buy")),
			&source.Event{ID: testConv + "#13", Kind: source.Message, Conversation: testConv, Text: "Buy", CardIndex: card(0)}},
		{"rich content click without metadata", ep.Click(testConv, 14, "Buy (2/2)", ""),
			&source.Event{ID: testConv + "#14", Kind: source.Message, Conversation: testConv, Text: "Buy", CardIndex: card(1)}},
		{"rich content click on a plain button", ep.Click(testConv, 15, "Talk to us", ""),
			&source.Event{ID: testConv + "#15", Kind: source.Message, Conversation: testConv, Text: "Talk to us"}},
		// The service implementation guide's Figure 2.6.
		{"rich content map share", ep.PostEvent(testConv, map[string]any{"type": "RICH_CONTENT", "source": "CONSUMER", "data": map[string]any{"content": map[string]any{
			"type": "vertical", "elements": []any{map[string]any{"type": "map", "la": 49.4, "lo": 7.7}}}}, "context": map[string]any{"lpEvent": map[string]any{"sequence": 12}}}), nil},
		// START never starts a second session (the PUT did): its consumer
		// message is a message, and without one it does nothing.
		{"start with last consumer message", ep.Start(testConv, 3, "I need a refund"),
			&source.Event{ID: testConv + "#start#3", Kind: source.Message, Conversation: testConv, Text: "I need a refund"}},
		{"start", ep.Start(testConv, 0, ""), nil},
		{"closed", ep.Closed(testConv, 20),
			&source.Event{ID: testConv + "#conversation#20", Kind: source.Ended, Conversation: testConv}},
		// Transferred to the bot: the AI agent's session starts afresh.
		{"transferred", ep.Transferred(testConv, 21),
			&source.Event{ID: testConv + "#conversation#21", Kind: source.HandedBack, Conversation: testConv}},
		{"started", ep.PostEvent(testConv, lptest.StateEvent(testConv, 22, "STARTED")), nil},
		{"survey close", ep.PostEvent(testConv, map[string]any{"type": "CLOSE_CONVERSATION", "data": map[string]any{}, "context": map[string]any{"lpEvent": map[string]any{"sequence": 30}}}),
			&source.Event{ID: testConv + "#close_conversation#30", Kind: source.Ended, Conversation: testConv}},
		// A consumer's file, as the OpenAPI file's HostedFileChange has it:
		// a storage path only an agent's signed URL opens.
		{"hosted image with caption", ep.HostedFile(testConv, 31, "/v1/AUTH_async-images/le12345/5f2c/receipt.png", "PNG", "My receipt"),
			&source.Event{ID: testConv + "#hosted-file#31", Kind: source.Message, Conversation: testConv, Text: "My receipt\n[image, private] /v1/AUTH_async-images/le12345/5f2c/receipt.png"}},
		{"hosted file", ep.HostedFile(testConv, 32, "/v1/AUTH_async-images/le12345/5f2c/terms.pdf", "PDF", ""),
			&source.Event{ID: testConv + "#hosted-file#32", Kind: source.Message, Conversation: testConv, Text: "[file, private] /v1/AUTH_async-images/le12345/5f2c/terms.pdf"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			if err := json.Unmarshal(tc.req.Body, &body); err != nil || lptest.CheckEvent(body) != nil {
				t.Fatalf("the test's event is outside the OpenAPI file: %v %v", err, lptest.CheckEvent(body))
			}
			b := mustParse(t, tc.req)
			if b.MustExist != testConv {
				t.Fatalf("MustExist %q: an event needs its conversation created first", b.MustExist)
			}
			if st, v := replyJSON(t, b); st != 200 || !reflect.DeepEqual(v, map[string]any{"response": []any{}, "analytics": map[string]any{"intents": []any{}}}) {
				t.Fatalf("reply %d %v", st, v)
			}
			if tc.want == nil {
				if len(b.Events) != 0 {
					t.Fatalf("events %+v, want none", b.Events)
				}
				return
			}
			if len(b.Events) != 1 || !reflect.DeepEqual(b.Events[0], *tc.want) {
				t.Fatalf("events %+v\nwant %+v", b.Events, *tc.want)
			}
		})
	}
}

func TestParseEventErrors(t *testing.T) {
	ep := endpoint(t)
	long := strings.Repeat("x", maxText+1)
	tests := map[string]struct {
		body string
		code string
	}{
		"not JSON":           {`{"type":`, "invalid_body"},
		"array":              {`[]`, "invalid_body"},
		"no type":            {`{"data":{"message":"hi"}}`, "invalid_event"},
		"type not a string":  {`{"type":5}`, "invalid_event"},
		"text without data":  {`{"type":"TEXT"}`, "invalid_event"},
		"text not a string":  {`{"type":"TEXT","data":{"message":5}}`, "invalid_event"},
		"text too long":      {`{"type":"TEXT","data":{"message":"` + long + `"}}`, "text_too_long"},
		"start message long": {`{"type":"START","context":{"lpEvent":{"lastConsumerMessage":"` + long + `"}}}`, "text_too_long"},
		// The reference service answers an event type it does not know 400.
		"unknown type":           {`{"type":"SOMETHING_NEW","data":{}}`, "unknown_event_type"},
		"type in another case":   {`{"type":"text","data":{"message":"hi"}}`, "unknown_event_type"},
		"hosted file no path":    {`{"type":"hosted-file","data":{"fileType":"PNG"}}`, "invalid_event"},
		"hosted file no type":    {`{"type":"hosted-file","data":{"relativePath":"/a.png"}}`, "invalid_event"},
		"hosted file space path": {`{"type":"hosted-file","data":{"relativePath":"/a b.png","fileType":"PNG"}}`, "invalid_event"},
		"hosted caption long":    {`{"type":"hosted-file","data":{"relativePath":"/a.png","fileType":"PNG","caption":"` + long + `"}}`, "text_too_long"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := ep.PostEvent(testConv, nil)
			r.Body = []byte(tc.body)
			_, err := parse(t, baseSettings(t), userPass, r)
			if c, status := code(t, err); c != tc.code || status != 400 {
				t.Fatalf("got %q/%d, want %s/400", c, status, tc.code)
			}
		})
	}
}

func TestEventIDs(t *testing.T) {
	ep := endpoint(t)
	id := func(r lptest.Request) string {
		t.Helper()
		b := mustParse(t, r)
		if len(b.Events) != 1 {
			t.Fatalf("no event for %s", r.Body)
		}
		return b.Events[0].ID
	}
	noSeq := func(text string, ts int) lptest.Request {
		return ep.PostEvent(testConv, map[string]any{"type": "TEXT", "data": map[string]any{"message": text},
			"context": map[string]any{"lpEvent": map[string]any{"serverTimestamp": ts}}})
	}
	a, a2, b := id(noSeq("hi", 1)), id(noSeq("hi", 1)), id(noSeq("hi", 2))
	if a != a2 || a == b || !strings.HasPrefix(a, testConv+"#h") {
		t.Fatalf("hash IDs: %s %s %s", a, a2, b)
	}
	if id(ep.Text(testConv, 5, "hi")) != id(ep.Text(testConv, 5, "hello")) {
		t.Fatal("the same sequence must dedupe (LivePerson resending)")
	}
	if id(ep.Text(testConv, 5, "hi")) == id(ep.Start(testConv, 5, "hi")) {
		t.Fatal("a START carrying a message's sequence must not collide with it")
	}
	seqString := ep.PostEvent(testConv, map[string]any{"type": "TEXT", "data": map[string]any{"message": "x"},
		"context": map[string]any{"lpEvent": map[string]any{"sequence": "17"}}})
	if got := id(seqString); got != testConv+"#17" {
		t.Fatalf("string sequence: %s", got)
	}
	put1 := id(ep.CreateConversation(testConv, lptest.ConversationBody(nil, "MESSAGING")))
	put2 := id(ep.CreateConversation(testConv, lptest.ConversationBody(nil, "MESSAGING")))
	put3 := id(ep.CreateConversation(testConv, lptest.ConversationBody(nil, "CHAT")))
	if put1 != put2 || put1 == put3 {
		t.Fatalf("PUT IDs: a retry must repeat the ID, a new PUT must not: %s %s %s", put1, put2, put3)
	}
	hostile := ep.PostEvent(testConv, map[string]any{"type": "TEXT", "data": map[string]any{"message": "x"},
		"context": map[string]any{"lpEvent": map[string]any{"sequence": "1#EVENT#other"}}})
	if got := id(hostile); !strings.HasPrefix(got, testConv+"#h") {
		t.Fatalf("a sequence with separators must fall back to the hash: %s", got)
	}
}

func TestSDESChatAndPrecedence(t *testing.T) {
	raw := json.RawMessage(`{
	  "authenticatedSdes": {
	    "authenticatedParticipantInfo": {"customerId": "AUTH-1", "userName": "ada"},
	    "authenticatedPersonalInfo": {"name": "Ada", "surname": "L", "contacts": [{"email": "ada@example.com"}]}
	  },
	  "unauthenticatedSdes": {
	    "customerInfo": {"customerInfo": {"customerId": "UNAUTH-9", "customerType": "vip", "balance": -4.5}},
	    "personalInfo": {"personalInfo": {"name": "Eve", "company": {"nested": true}, "contacts": [{"phone": 123}]}}
	  }
	}`)
	got := sdesUser(raw)
	want := map[string]string{"customerId": "AUTH-1", "userName": "ada", "name": "Ada L", "firstName": "Ada", "lastName": "L",
		"email": "ada@example.com", "customerType": "vip", "phone": "123", "authenticated": "true"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if u := sdesUser(json.RawMessage(`{"unauthenticatedSdes":{"personalInfo":{"personalInfo":{"name":"Eve\u0000"}}}}`)); u != nil {
		t.Fatalf("control characters accepted: %v", u)
	}
}
