package ultimatetest

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// messageData strips a sendMessage data object of its random messageId,
// checking its shape, so the rest can be compared with a literal.
func messageData(t *testing.T, h hook) map[string]any {
	t.Helper()
	if h.Event != ultimate.EventSendMessage {
		t.Fatalf("webhook is %s, want sendMessage", h.Event)
	}
	if keys := slices.Sorted(maps.Keys(h.Doc)); !slices.Equal(keys, []string{"botId", "channel", "data"}) {
		t.Errorf("envelope keys %v", keys)
	}
	if h.Doc["botId"] != botID || h.Doc["channel"] != "chat" {
		t.Errorf("envelope botId %v channel %v", h.Doc["botId"], h.Doc["channel"])
	}
	id, _ := h.Data["messageId"].(string)
	if !regexp.MustCompile(hex24RE).MatchString(id) {
		t.Errorf("messageId %q is not 24 hex characters", id)
	}
	d := maps.Clone(h.Data)
	delete(d, "messageId")
	return d
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test literal: %v", err)
	}
	return m
}

func TestWelcomeOnStart(t *testing.T) {
	e := newEnv(t)
	e.chat(pcid, ultimate.EventStartSession, nil)
	e.wait()
	calls := e.recv.calls()
	if len(calls) != 1 {
		t.Fatalf("got %d webhooks, want the welcome only", len(calls))
	}
	want := decodeJSON(t, `{"platformConversationId":"`+pcid+`","eventType":"sendMessage","type":"text","text":"`+WelcomeText+`","buttons":[],"carouselCards":[],"confidence":1}`)
	if got := messageData(t, calls[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("welcome data\n got %v\nwant %v", got, want)
	}
}

func TestReplies(t *testing.T) {
	cards := `[
		{"title":"Starter","description":"For small teams getting started.","imageUrl":"https://example.com/img/starter.png",
		 "buttons":[{"text":"Choose Starter","type":"button"},{"text":"Details","type":"link","url":"https://example.com/plans/starter"}]},
		{"title":"Pro","description":"For teams that need more.","imageUrl":"https://example.com/img/pro.png",
		 "buttons":[{"text":"Choose Pro","type":"button"},{"text":"Details","type":"link","url":"https://example.com/plans/pro"}]}]`
	tests := []struct {
		name      string
		text      string
		cardIndex any
		want      string // the data object without platformConversationId, eventType, confidence and messageId
	}{
		{name: "echo", text: "Hello there", want: `{"type":"text","text":"You said: Hello there","buttons":[],"carouselCards":[]}`},
		{name: "echo keeps spaces", text: " hi ", want: `{"type":"text","text":"You said:  hi ","buttons":[],"carouselCards":[]}`},
		{name: "keyword inside text is echoed", text: "show buttons", want: `{"type":"text","text":"You said: show buttons","buttons":[],"carouselCards":[]}`},
		{name: "buttons", text: "  BUTTONS ", want: `{"type":"text","text":"Pick one:","buttons":[{"text":"Yes","type":"button"},{"text":"No","type":"button"}],"carouselCards":[]}`},
		{name: "link", text: "link", want: `{"type":"text","text":"Read the docs:","buttons":[{"text":"Open docs","type":"link","url":"https://example.com/docs"},{"text":"Help centre","type":"link"}],"carouselCards":[]}`},
		{name: "carousel", text: "Carousel", want: `{"type":"carousel","text":"","buttons":[],"carouselCards":` + cards + `}`},
		{name: "yes", text: "Yes", want: `{"type":"text","text":"You chose: Yes","buttons":[],"carouselCards":[]}`},
		{name: "no", text: "no", want: `{"type":"text","text":"You chose: no","buttons":[],"carouselCards":[]}`},
		{name: "card click", text: "Choose Pro", cardIndex: 1, want: `{"type":"text","text":"You chose: Choose Pro (card 1)","buttons":[],"carouselCards":[]}`},
		{name: "card click without index", text: "Choose Starter", want: `{"type":"text","text":"You chose: Choose Starter","buttons":[],"carouselCards":[]}`},
		{name: "unknown card", text: "Choose Gold", cardIndex: 0, want: `{"type":"text","text":"You said: Choose Gold","buttons":[],"carouselCards":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			fields := map[string]any{"text": tt.text}
			if tt.cardIndex != nil {
				fields["cardIndex"] = tt.cardIndex
			}
			e.chat(pcid, ultimate.EventMessage, fields)
			e.wait()
			calls := e.recv.calls()
			if len(calls) != 2 {
				t.Fatalf("got %d webhooks %v, want welcome + reply", len(calls), e.recv.transcript(pcid))
			}
			if got := messageData(t, calls[0])["text"]; got != WelcomeText {
				t.Errorf("first webhook %q, want the welcome (a message starts the session)", got)
			}
			got := messageData(t, calls[1])
			want := decodeJSON(t, tt.want)
			want["platformConversationId"], want["eventType"], want["confidence"] = pcid, "sendMessage", 1.0
			if !reflect.DeepEqual(got, want) {
				t.Errorf("reply data\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestMessageIDsUnique(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.say(pcid, "carousel")
	}
	e.wait()
	seen := map[string]bool{}
	for _, h := range e.recv.calls() {
		id := h.Data["messageId"].(string)
		if seen[id] {
			t.Fatalf("messageId %s repeated", id)
		}
		seen[id] = true
	}
	if len(seen) != 4 {
		t.Fatalf("got %d messages, want 4", len(seen))
	}
}

func TestEscalate(t *testing.T) {
	tests := []struct {
		keyword  string
		status   int
		attempts int
		want     string
	}{
		{keyword: "human", status: 200, attempts: 1, want: EscalatedText},
		{keyword: "Agent", status: 204, attempts: 1, want: EscalatedText},
		{keyword: "human", status: 409, attempts: 1, want: EscalateFailedText},
		{keyword: "human", status: 500, attempts: 3, want: EscalateFailedText},
	}
	for _, tt := range tests {
		t.Run(tt.keyword+"/"+http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel() // retries wait in real time
			e := newEnv(t)
			e.recv.setAnswer(answerFor(map[string]string{ultimate.EventEscalate: ""}, tt.status))
			e.say(pcid, tt.keyword)
			e.wait()
			want := []string{WelcomeText}
			for range tt.attempts {
				want = append(want, "<escalate>")
			}
			want = append(want, tt.want)
			if got := e.recv.transcript(pcid); !slices.Equal(got, want) {
				t.Fatalf("transcript %q, want %q", got, want)
			}
			esc := e.recv.calls()[1]
			if want := decodeJSON(t, `{"platformConversationId":"`+pcid+`","eventType":"escalate","escalateTo":"support"}`); !reflect.DeepEqual(esc.Data, want) {
				t.Errorf("escalate data %v, want %v", esc.Data, want)
			}
			d := e.fake.Deliveries()[1]
			if d.Event != ultimate.EventEscalate || d.Kind != ultimate.KindConverse || d.Status != tt.status || len(d.Attempts) != tt.attempts {
				t.Errorf("delivery %+v", d)
			}
		})
	}
}

func TestTeamOnline(t *testing.T) {
	tests := []struct {
		name   string
		status int
		answer string
		want   string
	}{
		{name: "online", status: 200, answer: `{"isOnline":true}`, want: TeamOnlineText},
		{name: "offline", status: 200, answer: `{"isOnline": false}`, want: TeamOfflineText},
		{name: "empty 200", status: 200, answer: ``, want: TeamUnknownText},
		{name: "string", status: 200, answer: `{"isOnline":"true"}`, want: TeamUnknownText},
		{name: "extra field", status: 200, answer: `{"isOnline":true,"teamId":"support"}`, want: TeamUnknownText},
		{name: "not found", status: 404, answer: `{"isOnline":true}`, want: TeamUnknownText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.recv.setAnswer(answerFor(map[string]string{ultimate.EventIsTeamOnline: tt.answer}, tt.status))
			e.say(pcid, "online")
			e.wait()
			if got, want := e.recv.transcript(pcid), []string{WelcomeText, "<isTeamOnline>", tt.want}; !slices.Equal(got, want) {
				t.Fatalf("transcript %q, want %q", got, want)
			}
			if want := decodeJSON(t, `{"eventType":"isTeamOnline","teamId":"support"}`); !reflect.DeepEqual(e.recv.calls()[1].Data, want) {
				t.Errorf("isTeamOnline data %v, want %v (no platformConversationId, as documented)", e.recv.calls()[1].Data, want)
			}
			if d := e.fake.Deliveries()[1]; d.PlatformConversationID != pcid || string(d.Response) != tt.answer {
				t.Errorf("delivery pcid %q response %q", d.PlatformConversationID, d.Response)
			}
		})
	}
}

func TestAction(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		status     int
		answer     string
		want       string
		wantData   string // the action's data array; "none" an action without data; "" no action sent
		wantParams map[string]Param
	}{
		{name: "results", text: "action lookupOrder orderId=123", status: 200,
			answer:   `{"results":[{"key":"status","value":"shipped"},{"key":"email","value":"ann@example.com","sanitize":true}]}`,
			want:     "Action lookupOrder returned: status=shipped, email=***",
			wantData: `[{"key":"orderId","value":["123"]}]`,
			wantParams: map[string]Param{
				"status": {Value: "shipped"}, "email": {Value: "ann@example.com", Sanitize: true},
			}},
		// data is optional in the template's swagger: an action without
		// inputs comes without it.
		{name: "no parameters, empty answer", text: "ACTION ping", status: 200, answer: ``, want: "Action ping returned nothing.", wantData: `none`},
		{name: "several parameters, empty results", text: "action refund orderId=9 amount=5.50 note=", status: 200, answer: `{"results":[]}`,
			want: "Action refund returned nothing.", wantData: `[{"key":"orderId","value":["9"]},{"key":"amount","value":["5.50"]},{"key":"note","value":[""]}]`},
		{name: "error status", text: "action lookupOrder orderId=1", status: 404, answer: `{"error":"no such order"}`,
			want: "Action lookupOrder failed (404).", wantData: `[{"key":"orderId","value":["1"]}]`},
		{name: "non-string value", text: "action count", status: 200, answer: `{"results":[{"key":"n","value":5}]}`,
			want: "Action count failed (invalid answer).", wantData: `none`},
		{name: "empty value", text: "action count", status: 200, answer: `{"results":[{"key":"n","value":""}]}`,
			want: "Action count failed (invalid answer).", wantData: `none`},
		{name: "string sanitize", text: "action count", status: 200, answer: `{"results":[{"key":"n","value":"5","sanitize":"true"}]}`,
			want: "Action count failed (invalid answer).", wantData: `none`},
		{name: "no name", text: "action", want: ActionUsageText},
		{name: "bad pair", text: "action lookupOrder 123", want: ActionUsageText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.recv.setAnswer(func(h hook) (int, string) {
				if h.Data == nil {
					return tt.status, tt.answer
				}
				return 200, ""
			})
			e.say(pcid, tt.text)
			e.wait()
			want := []string{WelcomeText, tt.want}
			if tt.wantData != "" {
				want = []string{WelcomeText, "<action:" + firstWord(tt.text[len("action "):]) + ">", tt.want}
			}
			if got := e.recv.transcript(pcid); !slices.Equal(got, want) {
				t.Fatalf("transcript %q, want %q", got, want)
			}
			sess, _ := e.fake.Session(pcid)
			if tt.wantData != "" {
				act := e.recv.calls()[1]
				data := `,"data":` + tt.wantData
				if tt.wantData == "none" {
					data = ""
				}
				wantDoc := decodeJSON(t, `{"botId":"`+botID+`","channel":"chat","conversationId":"`+sess.ConversationID+`","platformConversationId":"`+pcid+`","name":"`+firstWord(tt.text[len("action "):])+`"`+data+`}`)
				if !reflect.DeepEqual(act.Doc, wantDoc) {
					t.Errorf("action body\n got %v\nwant %v", act.Doc, wantDoc)
				}
				if d := e.fake.Deliveries()[1]; d.Kind != ultimate.KindAction || d.Event != wantDoc["name"] {
					t.Errorf("delivery kind %v event %q", d.Kind, d.Event)
				}
			}
			if len(tt.wantParams) > 0 && !maps.Equal(sess.Params, tt.wantParams) {
				t.Errorf("session params %v, want %v", sess.Params, tt.wantParams)
			}
		})
	}
}

func firstWord(s string) string {
	for i, r := range s {
		if r == ' ' {
			return s[:i]
		}
	}
	return s
}

// TestActionURL checks actions go to ActionURL when one is configured, and
// converse webhooks still go to WebhookURL.
func TestActionURL(t *testing.T) {
	var actions *receiver
	e := newEnv(t, func(a *Agent, _ *Options) {
		actions = newReceiver(t, a.WebhookAuth, a.WebhookSecret)
		a.ActionURL = actions.srv.URL + "/actions"
	})
	actions.setAnswer(func(hook) (int, string) { return 200, `{"results":[{"key":"tier","value":"gold"}]}` })
	e.say(pcid, "action tier")
	e.wait()
	if got := actions.transcript(pcid); !slices.Equal(got, []string{"<action:tier>"}) {
		t.Errorf("actions URL saw %q", got)
	}
	if got, want := e.recv.transcript(pcid), []string{WelcomeText, "Action tier returned: tier=gold"}; !slices.Equal(got, want) {
		t.Errorf("webhook URL saw %q, want %q", got, want)
	}
	if d := e.fake.Deliveries()[1]; d.URL != actions.srv.URL+"/actions" {
		t.Errorf("delivery URL %q", d.URL)
	}
}
