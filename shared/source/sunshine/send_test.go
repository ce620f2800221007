package sunshine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func TestSendOnFakeAPI(t *testing.T) {
	menu := []ultimate.Card{card("Tacos", btn("Select"), link("More info", "https://example.org/tacos")), card("Ramen", btn("Select"))}
	tests := []struct {
		name     string
		settings map[string]any
		msg      ultimate.Message
		want     string // the business messages' contents
	}{
		{"text", nil, ultimate.Message{Type: "text", Text: "Hello!"}, `[{"type":"text","text":"Hello!"}]`},
		{"reply buttons", nil, ultimate.Message{Type: "text", Text: "Refund?", Buttons: []ultimate.Button{btn("Yes"), btn("No")}},
			`[{"type":"text","text":"Refund?","actions":[{"type":"reply","text":"Yes","payload":"{\"t\":\"Yes\"}"},{"type":"reply","text":"No","payload":"{\"t\":\"No\"}"}]}]`},
		{"postback style", map[string]any{"replyStyle": "postback"}, ultimate.Message{Type: "text", Text: "Refund?", Buttons: []ultimate.Button{btn("Yes")}},
			`[{"type":"text","text":"Refund?","actions":[{"type":"postback","text":"Yes","payload":"{\"t\":\"Yes\"}","metadata":{"t":"Yes"}}]}]`},
		{"link", nil, ultimate.Message{Type: "text", Text: "Docs", Buttons: []ultimate.Button{link("Open", "https://docs.example.com")}},
			`[{"type":"text","text":"Docs","actions":[{"type":"link","text":"Open","uri":"https://docs.example.com"}]}]`},
		{"carousel", nil, ultimate.Message{Type: "carousel", CarouselCards: menu},
			`[{"type":"carousel","items":[
				{"title":"Tacos","description":"Tacos details","mediaUrl":"https://img.example.com/tacos.jpg","actions":[
					{"type":"postback","text":"Select","payload":"{\"t\":\"Select\",\"c\":0}","metadata":{"t":"Select","c":0}},{"type":"link","text":"More info","uri":"https://example.org/tacos"}]},
				{"title":"Ramen","description":"Ramen details","mediaUrl":"https://img.example.com/ramen.jpg","actions":[
					{"type":"postback","text":"Select","payload":"{\"t\":\"Select\",\"c\":1}","metadata":{"t":"Select","c":1}}]}]}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakeAPI(t)
			f.AddConversation(testConv, testUser)
			var p source.Progress
			if err := testAdapter().Send(context.Background(), account(t, f.URL(), tc.settings), testConversation(), tc.msg, &p); err != nil {
				t.Fatalf("Send: %v", err)
			}
			sameJSON(t, f.BusinessMessages(testConv), tc.want)
			if p.Sent != len(f.BusinessMessages(testConv)) {
				t.Errorf("progress %d after %d messages", p.Sent, len(f.BusinessMessages(testConv)))
			}
		})
	}
}

func TestSendEveryCardLimitAccepted(t *testing.T) {
	// Eleven cards: the fake (like SunCo) refuses carousels over ten items,
	// so this passes only if the adapter splits them.
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	cards := make([]ultimate.Card, 11)
	for i := range cards {
		cards[i] = card(fmt.Sprintf("C%d", i), btn("Pick"))
	}
	if err := testAdapter().Send(context.Background(), account(t, f.URL(), nil), testConversation(), ultimate.Message{Type: "carousel", CarouselCards: cards}, nil); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := f.BusinessMessages(testConv)
	if len(got) != 2 || got[0]["type"] != "carousel" || got[1]["type"] != "text" {
		t.Fatalf("got %v", got)
	}
}

func TestSendAuthor(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	acct := account(t, f.URL(), map[string]any{"displayName": "Acme bot", "avatarUrl": "https://acme.example/bot.png", "aiDisclaimer": true})
	if err := testAdapter().Send(context.Background(), acct, testConversation(), ultimate.Message{Type: "text", Text: "Hi"}, nil); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls("PostMessage")
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	var body struct {
		Author map[string]any `json:"author"`
	}
	if err := json.Unmarshal(calls[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	sameJSON(t, body.Author, `{"type":"business","displayName":"Acme bot","avatarUrl":"https://acme.example/bot.png","subtypes":["AI"]}`)
	if calls[0].Path != "/v2/apps/"+testApp+"/conversations/"+testConv+"/messages" {
		t.Errorf("path %s", calls[0].Path)
	}
}

func TestSendTyping(t *testing.T) {
	msg := ultimate.Message{Type: "text", Text: "Hi"}
	t.Run("before the message", func(t *testing.T) {
		f := fakeAPI(t)
		f.AddConversation(testConv, testUser)
		if err := testAdapter().Send(context.Background(), account(t, f.URL(), map[string]any{"typingIndicator": true}), testConversation(), msg, nil); err != nil {
			t.Fatal(err)
		}
		calls := f.Calls()
		if len(calls) != 2 || calls[0].Op != "PostActivity" || calls[1].Op != "PostMessage" {
			t.Fatalf("calls %+v", calls)
		}
		sameJSON(t, json.RawMessage(calls[0].Body), `{"author":{"type":"business"},"type":"typing:start"}`)
	})
	t.Run("off by default", func(t *testing.T) {
		f := fakeAPI(t)
		f.AddConversation(testConv, testUser)
		if err := testAdapter().Send(context.Background(), account(t, f.URL(), nil), testConversation(), msg, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(f.Calls("PostActivity")); n != 0 {
			t.Fatalf("%d typing calls", n)
		}
	})
	t.Run("failure does not fail the message", func(t *testing.T) {
		f := fakeAPI(t)
		f.AddConversation(testConv, testUser)
		f.Fail("PostActivity", sunshinetest.Fault{Status: http.StatusInternalServerError})
		if err := testAdapter().Send(context.Background(), account(t, f.URL(), map[string]any{"typingIndicator": true}), testConversation(), msg, nil); err != nil {
			t.Fatalf("typing failure failed the send: %v", err)
		}
		if n := len(f.BusinessMessages(testConv)); n != 1 {
			t.Fatalf("%d messages", n)
		}
	})
}

func TestSendFailureClasses(t *testing.T) {
	tests := []struct {
		name      string
		fault     sunshinetest.Fault
		retryable bool
		reason    string
	}{
		{"bad credentials", sunshinetest.Fault{Status: 401}, false, "unauthorized"},
		{"forbidden", sunshinetest.Fault{Status: 403}, false, "forbidden"},
		{"conversation gone", sunshinetest.Fault{Status: 404}, false, "conversation_not_found"},
		{"conflict", sunshinetest.Fault{Status: 409, Code: "conflict", Title: "Conflict"}, false, "conflict"},
		{"conversation full", sunshinetest.Fault{Status: 423}, false, "locked"},
		{"bad request", sunshinetest.Fault{Status: 400, Code: "bad_request", Title: "content.text is invalid"}, false, "bad_request"},
		{"rate limited", sunshinetest.Fault{Status: 429, RetryAfter: "7"}, true, "too_many_requests"},
		{"server error", sunshinetest.Fault{Status: 500}, true, "internal_error"},
		{"unavailable", sunshinetest.Fault{Status: 503}, true, "internal_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakeAPI(t)
			f.AddConversation(testConv, testUser)
			f.Fail("PostMessage", tc.fault)
			var p source.Progress
			err := testAdapter().Send(context.Background(), account(t, f.URL(), nil), testConversation(), ultimate.Message{Type: "text", Text: "Hi"}, &p)
			wantHTTPError(t, err, tc.fault.Status, tc.reason)
			if retry.IsRetryable(err) != tc.retryable {
				t.Fatalf("retryable = %v, want %v", retry.IsRetryable(err), tc.retryable)
			}
			if p.Sent != 0 {
				t.Errorf("progress %d after a failure", p.Sent)
			}
		})
	}
}

func TestSendRetryAfterHonoured(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	f.Fail("PostMessage", sunshinetest.Fault{Status: 429, RetryAfter: "3"})
	var waits []time.Duration
	pol := retry.Policy{Attempts: 3, Base: time.Millisecond, Jitter: func() float64 { return 0 },
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	var p source.Progress
	err := pol.Do(context.Background(), func(ctx context.Context, _ int) error {
		return testAdapter().Send(ctx, account(t, f.URL(), nil), testConversation(), ultimate.Message{Type: "text", Text: "Hi"}, &p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 3*time.Second {
		t.Fatalf("waits %v, want [3s]", waits)
	}
	if n := len(f.BusinessMessages(testConv)); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestSendTransportErrorRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	err = testAdapter().Send(context.Background(), account(t, url, nil), testConversation(), ultimate.Message{Type: "text", Text: "Hi"}, nil)
	if err == nil || !retry.IsRetryable(err) {
		t.Fatalf("got %v, want a retryable error", err)
	}
}

func TestSendResumesAfterPartialFailure(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	cards := make([]ultimate.Card, 12)
	for i := range cards {
		cards[i] = card(fmt.Sprintf("C%d", i), btn("Pick"))
	}
	msg := ultimate.Message{Type: "carousel", Text: "Choose", CarouselCards: cards, MessageID: "m-1"}
	// intro text, carousel of 10, two card texts: the carousel succeeds,
	// the first card text fails once.
	f.Fail("PostMessage", sunshinetest.Fault{Status: 502, After: 2})
	a := testAdapter()
	acct := account(t, f.URL(), nil)
	var p source.Progress
	err := a.Send(context.Background(), acct, testConversation(), msg, &p)
	if err == nil || !retry.IsRetryable(err) || p.Sent != 2 || p.ID != "m-1" {
		t.Fatalf("first attempt: err %v, progress %+v", err, p)
	}
	if err := a.Send(context.Background(), acct, testConversation(), msg, &p); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	got := f.BusinessMessages(testConv)
	if len(got) != 4 || p.Sent != 4 {
		t.Fatalf("%d messages, progress %d: %v", len(got), p.Sent, got)
	}
	for i, want := range []string{"text", "carousel", "text", "text"} {
		if got[i]["type"] != want {
			t.Errorf("message %d is %v, want %s", i, got[i]["type"], want)
		}
	}
	if got[2]["text"] != "C10\nC10 details\nhttps://img.example.com/c10.jpg" {
		t.Errorf("resumed at the wrong part: %v", got[2]["text"])
	}
	// A third call after success sends nothing.
	if err := a.Send(context.Background(), acct, testConversation(), msg, &p); err != nil || len(f.Calls("PostMessage")) != 5 {
		t.Fatalf("repeat after done: %v, %d calls", err, len(f.Calls("PostMessage")))
	}
}

func TestSendNothingToSay(t *testing.T) {
	f := fakeAPI(t)
	if err := testAdapter().Send(context.Background(), account(t, f.URL(), nil), testConversation(), ultimate.Message{Type: "text"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Calls()); n != 0 {
		t.Fatalf("%d calls for an empty message", n)
	}
}

func TestSendMisconfiguredAccount(t *testing.T) {
	f := fakeAPI(t)
	acct := account(t, f.URL(), nil)
	acct.Credentials = []byte(`{"keyId":"app_1"}`)
	err := testAdapter().Send(context.Background(), acct, testConversation(), ultimate.Message{Type: "text", Text: "Hi"}, nil)
	if err == nil || retry.IsRetryable(err) {
		t.Fatalf("got %v, want a permanent error", err)
	}
	var he *egress.StatusError
	if errors.As(err, &he) || len(f.Calls()) != 0 {
		t.Fatalf("called the API with bad credentials: %v", err)
	}
}

func TestSendWrongKeyRejectedByFake(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	acct := account(t, f.URL(), nil)
	acct.Credentials = []byte(`{"keyId":"app_other","keySecret":"nope","webhookSecret":"w"}`)
	err := testAdapter().Send(context.Background(), acct, testConversation(), ultimate.Message{Type: "text", Text: "Hi"}, nil)
	wantHTTPError(t, err, http.StatusUnauthorized, "unauthorized")
	if retry.IsRetryable(err) {
		t.Fatal("a 401 must not be retried")
	}
}
