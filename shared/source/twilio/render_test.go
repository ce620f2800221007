package twilio_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

var (
	yesNo = ultimate.Message{Type: "text", Text: "Did that help?", MessageID: "m-yn",
		Buttons: []ultimate.Button{{Text: "Yes", Type: "button"}, {Text: "No", Type: "button"}}}
	withLinks = ultimate.Message{Type: "text", Text: "Your order shipped.", MessageID: "m-link",
		Buttons: []ultimate.Button{{Text: "Track it", Type: "link", URL: "https://example.com/t/123"}, {Text: "Talk to us", Type: "button"}, {Text: "FAQ", Type: "link", URL: "/faq"}, {Type: "link", Link: "javascript:alert(1)"}}}
	plans = ultimate.Message{Type: "carousel", Text: "Pick a plan:", MessageID: "m-car", CarouselCards: []ultimate.Card{
		{Title: "Starter", Description: "9 €/month", ImageURL: "https://example.com/s.png", Buttons: []ultimate.Button{{Text: "Choose Starter", Type: "button"}}},
		{Title: "Pro", Description: "29 €/month", Buttons: []ultimate.Button{{Text: "Choose Pro", Type: "button"}, {Text: "Details", Type: "link", URL: "https://example.com/pro"}}},
		{Title: "Team", Buttons: []ultimate.Button{{Text: "Choose", Type: "button"}, {Text: "Call me", Type: "button"}}},
	}}
)

// The render matrix: what the visitor sees for each kind of AI-agent
// content on each channel, and what their answer gives the AI agent.
func TestRenderMatrix(t *testing.T) {
	card := func(i int) *int { return &i }
	wa := "whatsapp:" + visitorNumber
	tests := []struct {
		name     string
		whatsapp bool
		settings string
		msg      ultimate.Message
		want     []string // bodies the visitor receives
		content  string   // the quick-reply template used, if any
		answers  map[string]answerWant
		payload  string // a quick reply tapped
	}{
		{name: "SMS text", msg: textMsg("t1", "Hi! How can I help?"), want: []string{"Hi! How can I help?"}},
		{name: "SMS buttons as a numbered list", msg: yesNo, want: []string{"Did that help?\n1) Yes\n2) No"},
			answers: map[string]answerWant{"2": {"No", nil}, "1)": {"Yes", nil}, "#2": {"No", nil}, "(1)": {"Yes", nil}, " no ": {"No", nil}, "3": {"3", nil}, "maybe": {"maybe", nil}}},
		{name: "SMS links as text, a link without URL as its label", msg: withLinks,
			want:    []string{"Your order shipped.\nTrack it: https://example.com/t/123\n1) Talk to us\nFAQ"},
			answers: map[string]answerWant{"1": {"Talk to us", nil}, "Track it": {"Track it", nil}}},
		{name: "SMS carousel as a compact menu (the dash smart-encoded)", msg: plans,
			want: []string{"Pick a plan:\n1) Starter - 9 €/month: Choose Starter\n2) Pro - 29 €/month: Choose Pro\nDetails: https://example.com/pro\nTeam\n3) Choose\n4) Call me"},
			answers: map[string]answerWant{"2": {"Choose Pro", card(1)}, "pro": {"Choose Pro", card(1)}, "Choose starter": {"Choose Starter", card(0)},
				"4": {"Call me", card(2)}, "choose": {"Choose", card(2)}}},
		{name: "WhatsApp quick replies", whatsapp: true, msg: yesNo, content: quickSids[1], want: []string{"Did that help?"},
			payload: "o2", answers: map[string]answerWant{"No": {"No", nil}, "1": {"Yes", nil}}},
		{name: "WhatsApp links go into the quick reply's body", whatsapp: true, msg: withLinks, content: quickSids[0],
			want: []string{"Your order shipped.\nTrack it: https://example.com/t/123\nFAQ"}, payload: "o1", answers: map[string]answerWant{"": {"Talk to us", nil}}},
		{name: "WhatsApp four buttons: numbered", whatsapp: true,
			msg:  ultimate.Message{Text: "Topic?", MessageID: "m4", Buttons: []ultimate.Button{{Text: "A"}, {Text: "B"}, {Text: "C"}, {Text: "D"}}},
			want: []string{"Topic?\n1) A\n2) B\n3) C\n4) D"}, answers: map[string]answerWant{"4": {"D", nil}}},
		{name: "WhatsApp titles over 20 characters: numbered", whatsapp: true,
			msg:  ultimate.Message{Text: "Sure?", MessageID: "m5", Buttons: []ultimate.Button{{Text: "Yes, cancel my subscription"}, {Text: "No"}}},
			want: []string{"Sure?\n1) Yes, cancel my subscription\n2) No"}, answers: map[string]answerWant{"1": {"Yes, cancel my subscription", nil}}},
		{name: "WhatsApp without the templates: numbered", whatsapp: true, settings: "-", msg: yesNo,
			want: []string{"Did that help?\n1) Yes\n2) No"}, answers: map[string]answerWant{"2": {"No", nil}}},
		{name: "WhatsApp carousel", whatsapp: true, msg: plans,
			want:    []string{"Pick a plan:\n1) Starter – 9 €/month: Choose Starter\n2) Pro – 29 €/month: Choose Pro\nDetails: https://example.com/pro\nTeam\n3) Choose\n4) Call me"},
			answers: map[string]answerWant{"1": {"Choose Starter", card(0)}}},
		{name: "past 50 options: the rest as plain lines", whatsapp: true, settings: "-", msg: many(52),
			want:    []string{manyWant(52)},
			answers: map[string]answerWant{"50": {"Option 50", nil}, "51": {"51", nil}, "Option 52": {"Option 52", nil}}},
		{name: "nothing to show", msg: ultimate.Message{MessageID: "m0", Buttons: []ultimate.Button{{Text: " "}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			settings := `"whatsapp":{"quickReplyContentSids":["` + strings.Join(quickSids, `","`) + `"]}`
			if tc.settings == "-" {
				settings = ""
			}
			e := newEnv(t, envOpts{settings: settings})
			from, to := visitorNumber, tenantNumber
			if tc.whatsapp {
				from, to = wa, "whatsapp:"+tenantNumber
			}
			conv := e.conversation(e.visitor(twiliotest.Visitor{From: from, To: to, Body: "hi"}))
			if err := e.send(conv, tc.msg); err != nil {
				t.Fatal(err)
			}
			sent := e.twilio.Sent(from)
			var bodies []string
			for _, m := range sent {
				bodies = append(bodies, m.Body)
			}
			if !reflect.DeepEqual(bodies, tc.want) {
				t.Fatalf("sent %q\nwant %q", bodies, tc.want)
			}
			if tc.content != "" && (len(sent) != 1 || sent[0].ContentSid != tc.content) {
				t.Fatalf("sent %+v, want content %s", sent, tc.content)
			}
			for typed, want := range tc.answers {
				v := twiliotest.Visitor{From: from, To: to, Body: typed}
				if typed == "" || (tc.payload != "" && typed == want.text) {
					v.ButtonPayload, v.ButtonText = tc.payload, want.text
				}
				evs := e.visitor(v)
				got := evs[len(evs)-1]
				if got.Text != want.text || !sameCard(got.CardIndex, want.card) {
					t.Errorf("answer %q (payload %q): %q card %v, want %q card %v", typed, v.ButtonPayload, got.Text, deref(got.CardIndex), want.text, deref(want.card))
				}
			}
		})
	}
}

// many is a message with n buttons, "Option 1" to "Option n".
func many(n int) ultimate.Message {
	m := ultimate.Message{Text: "Pick:", MessageID: fmt.Sprintf("m-many-%d", n)}
	for i := 1; i <= n; i++ {
		m.Buttons = append(m.Buttons, ultimate.Button{Text: fmt.Sprintf("Option %d", i), Type: "button"})
	}
	return m
}

// manyWant is many(n) as text: 50 numbered options, the rest plain lines.
func manyWant(n int) string {
	lines := []string{"Pick:"}
	for i := 1; i <= n; i++ {
		if i <= 50 {
			lines = append(lines, fmt.Sprintf("%d) Option %d", i, i))
		} else {
			lines = append(lines, fmt.Sprintf("Option %d", i))
		}
	}
	return strings.Join(lines, "\n")
}

type answerWant struct {
	text string
	card *int
}

func sameCard(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// The options live until the next bot message.
func TestOptionsLastUntilTheNextBotMessage(t *testing.T) {
	e := newEnv(t, envOpts{})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	if err := e.send(conv, yesNo); err != nil {
		t.Fatal(err)
	}
	if evs := e.visitor(twiliotest.Visitor{Body: "2"}); evs[0].Text != "No" {
		t.Fatalf("first answer: %+v", evs)
	}
	if evs := e.visitor(twiliotest.Visitor{Body: "1"}); evs[0].Text != "Yes" {
		t.Fatalf("a second answer to the same menu: %+v", evs)
	}
	if err := e.send(conv, textMsg("m-next", "How many?")); err != nil {
		t.Fatal(err)
	}
	if evs := e.visitor(twiliotest.Visitor{Body: "2"}); evs[0].Text != "2" {
		t.Fatalf("after the next bot message: %+v", evs)
	}
}

func TestSMSSegments(t *testing.T) {
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 12) // 540 GSM-7 characters
	emoji := strings.Repeat("Grüße 👋 und danke für Ihre Geduld! ", 6)           // UCS-2
	tests := []struct {
		name        string
		maxSegments string
		text        string
		parts       int
		perPart     func(string) bool
	}{
		{"GSM-7, one segment a message", `"sms":{"maxSegments":1}`, long, 4, func(s string) bool { return gsmLen(s) <= 160 }},
		{"GSM-7, three segments a message", `"sms":{"maxSegments":3}`, long, 2, func(s string) bool { return gsmLen(s) <= 3*153 }},
		{"UCS-2, one segment a message", `"sms":{"maxSegments":1}`, emoji, 4, func(s string) bool { return len(utf16.Encode([]rune(s))) <= 70 }},
		{"fits", `"sms":{"maxSegments":3}`, "short", 1, func(s string) bool { return s == "short" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{settings: tc.maxSegments})
			conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
			if err := e.send(conv, textMsg("m", tc.text)); err != nil {
				t.Fatal(err)
			}
			bodies := e.sentBodies(visitorNumber)
			if len(bodies) < tc.parts {
				t.Fatalf("%d parts, want at least %d: %q", len(bodies), tc.parts, bodies)
			}
			var words []string
			for i, b := range bodies {
				if !tc.perPart(b) {
					t.Errorf("part %d over the limit: %q", i, b)
				}
				if len(bodies) > 1 {
					prefix := "(" + strconv.Itoa(i+1) + "/" + strconv.Itoa(len(bodies)) + ") "
					if !strings.HasPrefix(b, prefix) {
						t.Errorf("part %d lacks %q: %q", i, prefix, b)
					}
					b = strings.TrimPrefix(b, prefix)
				}
				words = append(words, strings.Fields(b)...)
			}
			if strings.Join(words, " ") != strings.Join(strings.Fields(tc.text), " ") {
				t.Fatalf("words lost or cut:\n%q", bodies)
			}
		})
	}
}

func TestSmartEncoding(t *testing.T) {
	for _, tc := range []struct{ setting, want string }{
		{"", "It's \"fine\" - really..."},
		{`"sms":{"smartEncoding":false}`, "It’s “fine” — really…"},
	} {
		e := newEnv(t, envOpts{settings: tc.setting})
		conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
		if err := e.send(conv, textMsg("m", "It’s “fine” — really…")); err != nil {
			t.Fatal(err)
		}
		if got := e.sentBodies(visitorNumber); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: %q", tc.setting, got)
		}
	}
	// An emoji needs UCS-2 anyway: the typography stays.
	e := newEnv(t, envOpts{})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	_ = e.send(conv, textMsg("m", "It’s fine 👍"))
	if got := e.sentBodies(visitorNumber); got[0] != "It’s fine 👍" {
		t.Errorf("%q", got)
	}
}

func gsmLen(s string) int {
	n := 0
	for _, r := range s {
		if strings.ContainsRune("^{}\\[~]|€", r) {
			n++
		}
		n++
	}
	return n
}

// A long list on SMS is split between lines, never inside an item.
func TestSMSSplitKeepsListItemsWhole(t *testing.T) {
	e := newEnv(t, envOpts{})
	conv := e.conversation(e.visitor(twiliotest.Visitor{Body: "hi"}))
	if err := e.send(conv, many(52)); err != nil {
		t.Fatal(err)
	}
	sent := e.twilio.Sent(visitorNumber)
	if len(sent) < 2 {
		t.Fatalf("%d parts, want a split", len(sent))
	}
	item := regexp.MustCompile(`^(Pick:|\d+\) Option \d+|Option \d+)$`)
	for i, m := range sent {
		body := m.Body
		if p := fmt.Sprintf("(%d/%d) ", i+1, len(sent)); !strings.HasPrefix(body, p) {
			t.Fatalf("part %d lacks %q: %q", i, p, body)
		} else {
			body = strings.TrimPrefix(body, p)
		}
		for _, line := range strings.Split(body, "\n") {
			if !item.MatchString(line) {
				t.Errorf("part %d has a cut line %q", i, line)
			}
		}
	}
}
