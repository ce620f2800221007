package ultimate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const bot = "618a30beee4e8e87d2f94015"

func ptr[T any](v T) *T { return &v }

func TestParseWebhookFixtures(t *testing.T) {
	tests := []struct {
		file string
		want *Webhook
	}{
		{file: "tpl-send-message-buttons.json", want: &Webhook{BotID: bot, Channel: "chat", Kind: KindConverse, Converse: &ConverseEvent{
			PlatformConversationID: "generic:acme:c-1", EventType: EventSendMessage, Type: "text", Text: "How can I help?",
			Buttons: []Button{
				{Text: "Track my order", Type: "button"},
				{Text: "Help centre", Type: "link", URL: "https://help.example.com"},
				{Text: "Legacy link", Type: "link", Link: "https://old.example.com"},
			},
			CarouselCards: []Card{}, ReplyID: "reply-42", MessageID: "65a0c1f2e4b0a1b2c3d4e5f6", Confidence: ptr(0.93),
		}}},
		{file: "doc-send-message-carousel.json", want: &Webhook{BotID: bot, Kind: KindConverse, Converse: &ConverseEvent{
			PlatformConversationID: "generic:acme:c-1", EventType: EventSendMessage, Buttons: []Button{},
			CarouselCards: []Card{
				{Title: "Shoes", Description: "Running", ImageURL: "https://img.example.com/1.png", Buttons: []Button{{Text: "firstCardButton", Type: "button"}}},
				{Title: "Socks", Buttons: []Button{{Text: "Buy", Type: "link", URL: "https://shop.example.com/socks"}}},
			},
		}}},
		{file: "doc-is-team-online.json", want: &Webhook{BotID: bot, Kind: KindConverse, Converse: &ConverseEvent{EventType: EventIsTeamOnline, TeamID: "billing"}}},
		{file: "tpl-escalate.json", want: &Webhook{BotID: bot, Channel: "chat", Kind: KindConverse, Converse: &ConverseEvent{
			PlatformConversationID: "generic:acme:c-1", EventType: EventEscalate, EscalateTo: "tier2"}}},
		{file: "doc-widget-message.json", want: &Webhook{BotID: bot, Channel: "chat", Kind: KindConverse, Converse: &ConverseEvent{
			PlatformConversationID: "generic:acme:c-1", ConversationID: "65a0c1f2e4b0a1b2c3d4e5aa", EventType: EventWidgetMessage, Text: "Are you still there?"}}},
		{file: "tpl-action.json", want: &Webhook{BotID: bot, Channel: "chat", Kind: KindAction, Action: &ActionRequest{
			BotID: bot, ConversationID: "65a0c1f2e4b0a1b2c3d4e5aa", PlatformConversationID: "generic:acme:c-1", Name: "updateCustomerBalance",
			Data: []ActionParam{{Key: "customerId", Value: []string{"42"}, SaveAs: "customer"}, {Key: "amount", Value: []string{"10.5"}}},
		}}},
		// The template's swagger makes data optional: an action without it
		// has no inputs.
		{file: "tpl-action-no-data.json", want: &Webhook{BotID: bot, Channel: "chat", Kind: KindAction, Action: &ActionRequest{
			BotID: bot, ConversationID: "65a0c1f2e4b0a1b2c3d4e5aa", PlatformConversationID: "generic:acme:c-1", Name: "getAccountInfo", Data: []ActionParam{},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "webhooks", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseWebhook(body)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestParseWebhookLenient(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, w *Webhook)
	}{
		{name: "every converse eventType", body: `{"botId":"b","data":{"eventType":"widgetEndSession","platformConversationId":"p"}}`, check: func(t *testing.T, w *Webhook) {
			if w.Converse.EventType != EventWidgetEndSession || w.Converse.PlatformConversationID != "p" {
				t.Fatalf("%+v", w.Converse)
			}
		}},
		{name: "widgetEscalate", body: `{"botId":"b","data":{"eventType":"widgetEscalate","escalateTo":"desk"}}`, check: func(t *testing.T, w *Webhook) {
			if w.Converse.EscalateTo != "desk" {
				t.Fatalf("%+v", w.Converse)
			}
		}},
		{name: "unknown fields everywhere", body: `{"botId":"b","extra":{"x":[1,2]},"data":{"eventType":"sendMessage","text":"hi","future":true,
			"buttons":[{"text":"a","type":"button","payload":"p"}],"carouselCards":[{"title":"t","rating":5}]}}`, check: func(t *testing.T, w *Webhook) {
			m := w.Converse.Message()
			if m.Text != "hi" || len(m.Buttons) != 1 || m.Buttons[0].Text != "a" || len(m.CarouselCards) != 1 || m.CarouselCards[0].Title != "t" {
				t.Fatalf("%+v", m)
			}
		}},
		{name: "missing channel", body: `{"botId":"b","data":{"eventType":"escalate"}}`, check: func(t *testing.T, w *Webhook) {
			if w.Channel != "" || w.Converse.PlatformConversationID != "" {
				t.Fatalf("%+v", w)
			}
		}},
		{name: "null channel", body: `{"botId":"b","channel":null,"data":{"eventType":"escalate"}}`, check: func(t *testing.T, w *Webhook) {}},
		{name: "null optional fields", body: `{"botId":"b","data":{"eventType":"sendMessage","buttons":null,"carouselCards":null,"confidence":null}}`, check: func(t *testing.T, w *Webhook) {
			if w.Converse.Buttons != nil || w.Converse.Confidence != nil {
				t.Fatalf("%+v", w.Converse)
			}
		}},
		{name: "data with whitespace around", body: "{\"botId\":\"b\",\"data\": \n {\"eventType\":\"isTeamOnline\"} }", check: func(t *testing.T, w *Webhook) {}},
		{name: "action with null data", body: `{"botId":"b","name":"ping","data":null}`, check: func(t *testing.T, w *Webhook) {
			if w.Kind != KindAction || w.Action.Name != "ping" || w.Action.Data == nil || len(w.Action.Data) != 0 {
				t.Fatalf("%+v", w.Action)
			}
		}},
		{name: "action with empty data", body: `{"botId":"b","name":"ping","data":[]}`, check: func(t *testing.T, w *Webhook) {
			if w.Action.Name != "ping" || len(w.Action.Data) != 0 || w.Action.BotID != "b" {
				t.Fatalf("%+v", w.Action)
			}
		}},
		{name: "action value shapes normalized", body: `{"botId":"b","name":"n","data":[
			{"key":"a","value":["x"]},{"key":"b","value":"single"},{"key":"c","value":42},{"key":"d","value":-1.5e3},
			{"key":"e","value":true},{"key":"f","value":null},{"key":"g"},{"key":"h","value":[1,"two",false,null]},{"key":"i","value":[]}]}`,
			check: func(t *testing.T, w *Webhook) {
				want := []ActionParam{
					{Key: "a", Value: []string{"x"}}, {Key: "b", Value: []string{"single"}}, {Key: "c", Value: []string{"42"}},
					{Key: "d", Value: []string{"-1.5e3"}}, {Key: "e", Value: []string{"true"}}, {Key: "f"}, {Key: "g"},
					{Key: "h", Value: []string{"1", "two", "false"}}, {Key: "i", Value: []string{}},
				}
				if !reflect.DeepEqual(w.Action.Data, want) {
					t.Fatalf("got %#v\nwant %#v", w.Action.Data, want)
				}
			}},
		{name: "action items with sanitize, channel and saveAs", body: `{"botId":"b","name":"n","channel":"chat","data":[{"key":"email","value":["a@b.c"],"sanitize":true,"channel":"chat","saveAs":"mail"}]}`,
			check: func(t *testing.T, w *Webhook) {
				if !reflect.DeepEqual(w.Action.Data, []ActionParam{{Key: "email", Value: []string{"a@b.c"}, SaveAs: "mail"}}) || w.Channel != "chat" {
					t.Fatalf("%+v", w.Action.Data)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ParseWebhook([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			checkInvariants(t, w)
			tt.check(t, w)
		})
	}
}

// checkInvariants holds for every webhook ParseWebhook accepts.
func checkInvariants(t *testing.T, w *Webhook) {
	t.Helper()
	if w.BotID == "" {
		t.Fatal("accepted a webhook without a botId")
	}
	switch w.Kind {
	case KindConverse:
		if w.Converse == nil || w.Action != nil {
			t.Fatalf("converse webhook with Converse %v, Action %v", w.Converse, w.Action)
		}
		if !converseTypes[w.Converse.EventType] {
			t.Fatalf("accepted eventType %q", w.Converse.EventType)
		}
	case KindAction:
		if w.Action == nil || w.Converse != nil {
			t.Fatalf("action webhook with Converse %v, Action %v", w.Converse, w.Action)
		}
		if w.Action.Name == "" {
			t.Fatal("accepted an action without a name")
		}
		for i, p := range w.Action.Data {
			if p.Key == "" {
				t.Fatalf("accepted data[%d] without a key", i)
			}
		}
	default:
		t.Fatalf("Kind %v", w.Kind)
	}
}

func TestParseWebhookErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		field   string
		problem string // a substring of the problem
		unknown bool   // IsUnknownEventType
	}{
		{name: "empty", body: ``, field: "body", problem: "not a JSON object"},
		{name: "not JSON", body: `{"botId":`, field: "body", problem: "not a JSON object: invalid JSON"},
		{name: "array", body: `[1]`, field: "body", problem: "not a JSON object"},
		{name: "string", body: `"x"`, field: "body", problem: "not a JSON object"},
		{name: "missing botId", body: `{"data":{"eventType":"escalate"}}`, field: "botId", problem: "required"},
		{name: "empty botId", body: `{"botId":"","data":{"eventType":"escalate"}}`, field: "botId", problem: "required"},
		{name: "null body", body: `null`, field: "botId", problem: "required"},
		{name: "botId a number", body: `{"botId":42,"data":{"eventType":"escalate"}}`, field: "botId", problem: "must be a string"},
		{name: "botId an object", body: `{"botId":{"id":"b"},"data":{"eventType":"escalate"}}`, field: "botId", problem: "must be a string"},
		{name: "channel a number", body: `{"botId":"b","channel":1,"data":{"eventType":"escalate"}}`, field: "channel", problem: "must be a string"},
		{name: "missing data", body: `{"botId":"b"}`, field: "data", problem: "required"},
		{name: "missing data, empty name", body: `{"botId":"b","name":""}`, field: "data", problem: "required"},
		{name: "missing data, name a number", body: `{"botId":"b","name":7}`, field: "data", problem: "required"},
		{name: "null data", body: `{"botId":"b","data":null}`, field: "data", problem: "required"},
		{name: "data a string", body: `{"botId":"b","data":"sendMessage"}`, field: "data", problem: "must be an object (converse event) or an array (action)"},
		{name: "data a number", body: `{"botId":"b","data":3}`, field: "data", problem: "must be an object"},
		{name: "missing eventType", body: `{"botId":"b","data":{"text":"hi"}}`, field: "data.eventType", problem: "required"},
		{name: "unknown eventType", body: `{"botId":"b","data":{"eventType":"typing"}}`, field: "data.eventType", problem: `unknown value "typing"`, unknown: true},
		{name: "chat API eventType is not a webhook", body: `{"botId":"b","data":{"eventType":"message"}}`, field: "data.eventType", problem: "unknown", unknown: true},
		{name: "eventType a number", body: `{"botId":"b","data":{"eventType":7}}`, field: "data.eventType", problem: "must be a string"},
		{name: "buttons a string", body: `{"botId":"b","data":{"eventType":"sendMessage","buttons":"yes"}}`, field: "data.buttons", problem: "must be an array"},
		{name: "button a string", body: `{"botId":"b","data":{"eventType":"sendMessage","buttons":["yes"]}}`, field: "data.buttons", problem: "must be an object"},
		{name: "button text a number", body: `{"botId":"b","data":{"eventType":"sendMessage","buttons":[{"text":1}]}}`, field: "data.buttons.text", problem: "must be a string"},
		{name: "carouselCards an object", body: `{"botId":"b","data":{"eventType":"sendMessage","carouselCards":{}}}`, field: "data.carouselCards", problem: "must be an array"},
		{name: "card buttons an object", body: `{"botId":"b","data":{"eventType":"sendMessage","carouselCards":[{"buttons":{}}]}}`, field: "data.carouselCards.buttons", problem: "must be an array"},
		{name: "text a number", body: `{"botId":"b","data":{"eventType":"sendMessage","text":5}}`, field: "data.text", problem: "must be a string"},
		{name: "confidence a string", body: `{"botId":"b","data":{"eventType":"sendMessage","confidence":"high"}}`, field: "data.confidence", problem: "must be a number"},
		{name: "pcid a number", body: `{"botId":"b","data":{"eventType":"escalate","platformConversationId":12}}`, field: "data.platformConversationId", problem: "must be a string"},
		{name: "action without name", body: `{"botId":"b","data":[{"key":"a","value":["1"]}]}`, field: "name", problem: "required"},
		{name: "action name a number", body: `{"botId":"b","name":3,"data":[]}`, field: "name", problem: "must be a string"},
		{name: "action pcid a number", body: `{"botId":"b","name":"n","platformConversationId":1,"data":[]}`, field: "platformConversationId", problem: "must be a string"},
		{name: "action item a string", body: `{"botId":"b","name":"n","data":["key"]}`, field: "data", problem: "must be an object"},
		{name: "action item key missing", body: `{"botId":"b","name":"n","data":[{"key":"a"},{"value":["x"]}]}`, field: "data[1].key", problem: "required"},
		{name: "action item key a number", body: `{"botId":"b","name":"n","data":[{"key":1}]}`, field: "data.key", problem: "must be a string"},
		{name: "action saveAs a number", body: `{"botId":"b","name":"n","data":[{"key":"a","saveAs":1}]}`, field: "data.saveAs", problem: "must be a string"},
		{name: "action value an object", body: `{"botId":"b","name":"n","data":[{"key":"a","value":{"x":1}}]}`, field: "data.value", problem: "must be an array"},
		{name: "action value holds an object", body: `{"botId":"b","name":"n","data":[{"key":"a","value":[{"x":1}]}]}`, field: "data.value", problem: "must be an array"},
		{name: "action value holds an array", body: `{"botId":"b","name":"n","data":[{"key":"a","value":[["x"]]}]}`, field: "data.value", problem: "must be an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ParseWebhook([]byte(tt.body))
			if err == nil {
				t.Fatalf("accepted: %+v", w)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Problem, tt.problem) {
				t.Fatalf("got %q: %q, want %q containing %q", fe.Field, fe.Problem, tt.field, tt.problem)
			}
			if IsUnknownEventType(err) != tt.unknown {
				t.Fatalf("IsUnknownEventType = %v", IsUnknownEventType(err))
			}
			if err.Error() != fe.Field+": "+fe.Problem {
				t.Fatalf("Error() = %q", err.Error())
			}
		})
	}
}

func TestParseWebhookErrorsDoNotEchoPayload(t *testing.T) {
	for _, body := range []string{
		`{"botId":"b","data":{"eventType":"sendMessage","text":SECRET}}`,
		`{"botId":"b","data":"SECRET"}`,
		`{"botId":"SECRET`,
	} {
		_, err := ParseWebhook([]byte(body))
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error %v", body, err)
		}
	}
}

func TestIsUnknownEventType(t *testing.T) {
	if IsUnknownEventType(nil) || IsUnknownEventType(errors.New("unknown")) ||
		IsUnknownEventType(&FieldError{Field: "data", Problem: "unknown value"}) ||
		IsUnknownEventType(&FieldError{Field: "data.eventType", Problem: "required"}) {
		t.Fatal("false positive")
	}
	_, err := ParseWebhook([]byte(`{"botId":"b","data":{"eventType":"` + strings.Repeat("x", 500) + `"}}`))
	if !IsUnknownEventType(err) || !errors.Is(err, ErrUnknownEventType) {
		t.Fatalf("false negative: %v", err)
	}
	if len(err.Error()) > 100 {
		t.Fatalf("the error repeats the input: %d bytes", len(err.Error()))
	}
}

func TestActionParamUnmarshal(t *testing.T) {
	tests := []struct {
		in    string
		want  ActionParam
		field string // non-empty: an error naming this field
	}{
		{in: `{"key":"k","value":["v"],"saveAs":"s"}`, want: ActionParam{Key: "k", Value: []string{"v"}, SaveAs: "s"}},
		{in: `{"key":"k","value":"v"}`, want: ActionParam{Key: "k", Value: []string{"v"}}},
		{in: `{"key":"k","value":""}`, want: ActionParam{Key: "k", Value: []string{""}}},
		{in: `{"key":"k","value":7}`, want: ActionParam{Key: "k", Value: []string{"7"}}},
		{in: `{"key":"k","value":12345678901234567890}`, want: ActionParam{Key: "k", Value: []string{"12345678901234567890"}}},
		{in: `{"key":"k","value":0.1}`, want: ActionParam{Key: "k", Value: []string{"0.1"}}},
		{in: `{"key":"k","value":false}`, want: ActionParam{Key: "k", Value: []string{"false"}}},
		{in: `{"key":"k","value":["a","b"]}`, want: ActionParam{Key: "k", Value: []string{"a", "b"}}},
		{in: `{"key":"k","value":[3]}`, want: ActionParam{Key: "k", Value: []string{"3"}}},
		{in: `{"key":"k","value":null}`, want: ActionParam{Key: "k"}},
		{in: `{"key":"k","Value":"v"}`, want: ActionParam{Key: "k", Value: []string{"v"}}},
		{in: `null`, want: ActionParam{}},
		{in: `{"key":"k","value":{}}`, field: "value"},
		{in: `{"key":"k","value":[{}]}`, field: "value"},
		{in: `{"key":2}`, field: "key"},
		{in: `"k"`, field: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var p ActionParam
			err := json.Unmarshal([]byte(tt.in), &p)
			if tt.field != "" || strings.HasPrefix(tt.in, `"`) {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) || te.Field != tt.field {
					t.Fatalf("err %v, want a type error at %q", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, tt.want) {
				t.Fatalf("got %#v, want %#v", p, tt.want)
			}
		})
	}
}

func TestActionParamMarshalKeepsArrayShape(t *testing.T) {
	b, err := json.Marshal(ActionParam{Key: "k", Value: []string{"v"}, SaveAs: "s"})
	if err != nil || string(b) != `{"key":"k","value":["v"],"saveAs":"s"}` {
		t.Fatalf("%s %v", b, err)
	}
	var back ActionParam
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, ActionParam{Key: "k", Value: []string{"v"}, SaveAs: "s"}) {
		t.Fatalf("%#v %v", back, err)
	}
}

func TestMessage(t *testing.T) {
	cards := []Card{{Title: "t"}}
	tests := []struct {
		name string
		ev   ConverseEvent
		want string
	}{
		{name: "explicit text", ev: ConverseEvent{Type: "text", Text: "hi"}, want: "text"},
		{name: "explicit carousel", ev: ConverseEvent{Type: "carousel", CarouselCards: cards}, want: "carousel"},
		{name: "inferred text", ev: ConverseEvent{Text: "hi"}, want: "text"},
		{name: "inferred text with buttons", ev: ConverseEvent{Buttons: []Button{{Text: "a"}}}, want: "text"},
		{name: "inferred carousel", ev: ConverseEvent{CarouselCards: cards}, want: "carousel"},
		{name: "empty card list is text", ev: ConverseEvent{CarouselCards: []Card{}}, want: "text"},
		{name: "explicit type wins", ev: ConverseEvent{Type: "text", CarouselCards: cards}, want: "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.ReplyID, tt.ev.MessageID = "r", "m"
			m := tt.ev.Message()
			if m.Type != tt.want || m.Text != tt.ev.Text || m.ReplyID != "r" || m.MessageID != "m" ||
				!reflect.DeepEqual(m.Buttons, tt.ev.Buttons) || !reflect.DeepEqual(m.CarouselCards, tt.ev.CarouselCards) {
				t.Fatalf("Message() = %+v", m)
			}
		})
	}
}

func TestButton(t *testing.T) {
	tests := []struct {
		b      Button
		target string
		isLink bool
	}{
		{b: Button{Text: "a", Type: "button"}},
		{b: Button{Text: "a", Type: "link", URL: "https://u"}, target: "https://u", isLink: true},
		{b: Button{Text: "a", Type: "link", Link: "https://l"}, target: "https://l", isLink: true},
		{b: Button{Text: "a", Type: "LINK", URL: "https://u", Link: "https://l"}, target: "https://u", isLink: true},
		{b: Button{Text: "a", Type: "link"}, isLink: true},
		{b: Button{Text: "a"}},
	}
	for _, tt := range tests {
		if got := tt.b.Target(); got != tt.target {
			t.Errorf("%+v: Target() = %q, want %q", tt.b, got, tt.target)
		}
		if got := tt.b.IsLink(); got != tt.isLink {
			t.Errorf("%+v: IsLink() = %v", tt.b, got)
		}
	}
}

func TestCheckResults(t *testing.T) {
	tests := []struct {
		results []ActionResult
		field   string // "" means valid
	}{
		{nil, ""},
		{[]ActionResult{{Key: "a", Value: "1"}, {Key: "b", Value: "x", Sanitize: true}}, ""},
		{[]ActionResult{{Key: "a", Value: "1"}, {Value: "x"}}, "results[1].key"},
		{[]ActionResult{{Key: "a"}}, "results[0].value"},
	}
	for _, tt := range tests {
		err := CheckResults(tt.results)
		var fe *FieldError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%+v: %v", tt.results, err)
		case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
			t.Errorf("%+v: %v, want a FieldError for %s", tt.results, err, tt.field)
		}
	}
}
