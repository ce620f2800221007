package generic

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
)

func parseBody(body string) (*source.Batch, error) {
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	return New(nil, time.Now).Parse(&apigw.Request{Method: "POST", Header: h, Body: []byte(body)}, nil)
}

func intPtr(n int) *int { return &n }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want source.Event
	}{
		{name: "conversation.started", body: `{"type":"conversation.started","timestamp":"2025-06-01T12:00:00Z","data":{"conversationId":"c-1",
			"user":{"email":"a@example.com","age":42,"vip":true,"score":-1.5e2,"nickname":null},"parameters":{"plan":"gold"},"text":"Hello there"}}`,
			want: source.Event{ID: "evt_1", Kind: source.Started, Conversation: "c-1",
				User:   map[string]string{"email": "a@example.com", "age": "42", "vip": "true", "score": "-1.5e2"},
				Params: map[string]string{"plan": "gold"}, LastMessage: "Hello there"}},
		{name: "conversation.started bare", body: `{"type":"conversation.started","data":{"conversationId":"c-1"}}`,
			want: source.Event{ID: "evt_1", Kind: source.Started, Conversation: "c-1"}},
		{name: "message", body: `{"type":"message","data":{"conversationId":"c-1","text":"I want a refund"}}`,
			want: source.Event{ID: "evt_1", Kind: source.Message, Conversation: "c-1", Text: "I want a refund"}},
		{name: "message with cardIndex", body: `{"type":"message","data":{"conversationId":"c-1","text":"secondCardButton","cardIndex":1}}`,
			want: source.Event{ID: "evt_1", Kind: source.Message, Conversation: "c-1", Text: "secondCardButton", CardIndex: intPtr(1)}},
		{name: "message with cardIndex 0 and 100", body: `{"type":"message","data":{"conversationId":"c-1","text":"x","cardIndex":0}}`,
			want: source.Event{ID: "evt_1", Kind: source.Message, Conversation: "c-1", Text: "x", CardIndex: intPtr(0)}},
		{name: "message with cardIndex 100", body: `{"type":"message","data":{"conversationId":"c-1","text":"x","cardIndex":100}}`,
			want: source.Event{ID: "evt_1", Kind: source.Message, Conversation: "c-1", Text: "x", CardIndex: intPtr(100)}},
		{name: "message with null cardIndex", body: `{"type":"message","data":{"conversationId":"c-1","text":"x","cardIndex":null}}`,
			want: source.Event{ID: "evt_1", Kind: source.Message, Conversation: "c-1", Text: "x"}},
		{name: "message text at the limit", body: `{"type":"message","data":{"conversationId":"c-1","text":"` + strings.Repeat("é", 4096) + `"}}`,
			want: source.Event{ID: "evt_1", Kind: source.Message, Conversation: "c-1", Text: strings.Repeat("é", 4096)}},
		{name: "conversationId with colons and unicode", body: `{"type":"conversation.ended","data":{"conversationId":"whatsapp:+1555 – ü"}}`,
			want: source.Event{ID: "evt_1", Kind: source.Ended, Conversation: "whatsapp:+1555 – ü"}},
		{name: "conversation.ended", body: `{"type":"conversation.ended","data":{"conversationId":"c-1","text":"ignored"}}`,
			want: source.Event{ID: "evt_1", Kind: source.Ended, Conversation: "c-1"}},
		{name: "metadata with user", body: `{"type":"metadata","data":{"conversationId":"c-1","user":{"email":"b@example.com"}}}`,
			want: source.Event{ID: "evt_1", Kind: source.Metadata, Conversation: "c-1", User: map[string]string{"email": "b@example.com"}}},
		{name: "metadata with parameters", body: `{"type":"metadata","data":{"conversationId":"c-1","parameters":{"orderId":"o-9"}}}`,
			want: source.Event{ID: "evt_1", Kind: source.Metadata, Conversation: "c-1", Params: map[string]string{"orderId": "o-9"}}},
		{name: "conversation.handedBack", body: `{"type":"conversation.handedBack","data":{"conversationId":"c-1"}}`,
			want: source.Event{ID: "evt_1", Kind: source.HandedBack, Conversation: "c-1"}},
		{name: "agent.queueUpdate with numbers", body: `{"type":"agent.queueUpdate","data":{"conversationId":"c-1","queuePosition":3,"waitMinutes":2.5}}`,
			want: source.Event{ID: "evt_1", Kind: source.AgentQueue, Conversation: "c-1", Queue: source.QueueInfo{Position: "3", WaitMinutes: "2.5"}}},
		{name: "agent.queueUpdate with strings", body: `{"type":"agent.queueUpdate","data":{"conversationId":"c-1","queuePosition":"3","waitMinutes":"about 5"}}`,
			want: source.Event{ID: "evt_1", Kind: source.AgentQueue, Conversation: "c-1", Queue: source.QueueInfo{Position: "3", WaitMinutes: "about 5"}}},
		{name: "agent.queueUpdate empty", body: `{"type":"agent.queueUpdate","data":{"conversationId":"c-1"}}`,
			want: source.Event{ID: "evt_1", Kind: source.AgentQueue, Conversation: "c-1"}},
		{name: "agent.joined", body: `{"type":"agent.joined","data":{"conversationId":"c-1","agent":{"name":"Dana","avatarUrl":"https://img.example.com/d.png"}}}`,
			want: source.Event{ID: "evt_1", Kind: source.AgentJoined, Conversation: "c-1", Agent: source.DeskAgent{Name: "Dana", AvatarURL: "https://img.example.com/d.png"}}},
		{name: "agent.joined without avatar", body: `{"type":"agent.joined","data":{"conversationId":"c-1","agent":{"name":"Dana"}}}`,
			want: source.Event{ID: "evt_1", Kind: source.AgentJoined, Conversation: "c-1", Agent: source.DeskAgent{Name: "Dana"}}},
		{name: "agent.message", body: `{"type":"agent.message","data":{"conversationId":"c-1","text":"Hi, Dana here","cardIndex":3}}`,
			want: source.Event{ID: "evt_1", Kind: source.AgentMessage, Conversation: "c-1", Text: "Hi, Dana here"}},
		{name: "agent.left", body: `{"type":"agent.left","data":{"conversationId":"c-1"}}`,
			want: source.Event{ID: "evt_1", Kind: source.AgentLeft, Conversation: "c-1"}},
		{name: "agent.failed", body: `{"type":"agent.failed","data":{"conversationId":"c-1"}}`,
			want: source.Event{ID: "evt_1", Kind: source.AgentFailed, Conversation: "c-1"}},
		{name: "unknown fields and a numeric timestamp", body: `{"type":"message","timestamp":1717243200,"extra":[1],"data":{"conversationId":"c-1","text":"x","future":{}}}`,
			want: source.Event{ID: "evt_1", Kind: source.Message, Conversation: "c-1", Text: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := parseBody(tt.body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if b.Reply != nil || len(b.Events) != 1 {
				t.Fatalf("batch %+v", b)
			}
			if !reflect.DeepEqual(b.Events[0], tt.want) {
				t.Fatalf("got  %+v\nwant %+v", b.Events[0], tt.want)
			}
		})
	}
}

func TestParseEventFromNewEvent(t *testing.T) {
	// The tenant-side helper builds events the parser accepts.
	body, err := NewEvent(TypeAgentQueue, InboundData{ConversationID: "c-9", QueuePosition: intPtr(2), WaitMinutes: intPtr(7)}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"timestamp":"2025-06-01T12:00:00Z"`) {
		t.Fatalf("body %s", body)
	}
	b, err := parseBody(string(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev := b.Events[0]; ev.Kind != source.AgentQueue || ev.Queue != (source.QueueInfo{Position: "2", WaitMinutes: "7"}) {
		t.Fatalf("%+v", ev)
	}
}

func TestParseErrors(t *testing.T) {
	tooMany := map[string]string{}
	for i := range 51 {
		tooMany[fmt.Sprintf("f%d", i)] = "v"
	}
	var fields []string
	for k, v := range tooMany {
		fields = append(fields, fmt.Sprintf("%q:%q", k, v))
	}
	tooManyJSON := "{" + strings.Join(fields, ",") + "}"

	tests := []struct {
		name string
		body string
		msg  string // the message starts with the field
		code string // default invalid_event; the shared ID rules answer invalid_id
	}{
		{name: "not JSON", body: `{"type":`, msg: "body: must be a JSON object: invalid JSON"},
		{name: "an array", body: `[]`, msg: "body: must be a JSON object"},
		{name: "empty body", body: ``, msg: "body: must be a JSON object"},
		{name: "missing type", body: `{"data":{"conversationId":"c"}}`, msg: "type: required"},
		{name: "null type", body: `{"type":null,"data":{"conversationId":"c"}}`, msg: "type: required"},
		{name: "type a number", body: `{"type":1,"data":{"conversationId":"c"}}`, msg: "type: must be a string"},
		{name: "type too long", body: `{"type":"` + strings.Repeat("x", 65) + `","data":{}}`, msg: "type: longer than 64 characters"},
		{name: "unknown type", body: `{"type":"message.deleted","data":{"conversationId":"c"}}`, msg: `type: unknown event type "message.deleted"`},
		{name: "missing data", body: `{"type":"message"}`, msg: "data: required, must be an object"},
		{name: "data null", body: `{"type":"message","data":null}`, msg: "data: required, must be an object"},
		{name: "data not an object", body: `{"type":"message","data":["c"]}`, msg: "data: required, must be an object"},
		{name: "data a string", body: `{"type":"message","data":"{}"}`, msg: "data: required, must be an object"},
		{name: "missing conversationId", body: `{"type":"message","data":{"text":"x"}}`, msg: "data.conversationId: required"},
		{name: "empty conversationId", body: `{"type":"conversation.ended","data":{"conversationId":""}}`, msg: "data.conversationId: required"},
		{name: "conversationId a number", body: `{"type":"conversation.ended","data":{"conversationId":12}}`, msg: "data.conversationId: must be a string"},
		{name: "conversationId too long", body: `{"type":"conversation.ended","data":{"conversationId":"` + strings.Repeat("c", 201) + `"}}`, msg: "data.conversationId: longer than 200 characters"},
		{name: "conversationId with a newline", body: `{"type":"conversation.ended","data":{"conversationId":"c\n1"}}`, msg: "data.conversationId: must be printable", code: "invalid_id"},
		{name: "conversationId with NUL", body: `{"type":"conversation.ended","data":{"conversationId":"c\u00001"}}`, msg: "data.conversationId: must be printable", code: "invalid_id"},
		{name: "conversationId with a tab", body: `{"type":"conversation.ended","data":{"conversationId":"c\t1"}}`, msg: "data.conversationId: must be printable", code: "invalid_id"},
		{name: "conversationId with DEL", body: `{"type":"conversation.ended","data":{"conversationId":"c\u007f"}}`, msg: "data.conversationId: must be printable", code: "invalid_id"},
		{name: "message without text", body: `{"type":"message","data":{"conversationId":"c"}}`, msg: "data.text: required"},
		{name: "message text empty", body: `{"type":"message","data":{"conversationId":"c","text":""}}`, msg: "data.text: required"},
		{name: "text not a string", body: `{"type":"message","data":{"conversationId":"c","text":["hi"]}}`, msg: "data.text: must be a string"},
		{name: "text too long", body: `{"type":"message","data":{"conversationId":"c","text":"` + strings.Repeat("x", 4097) + `"}}`, msg: "data.text: longer than 4096 characters"},
		{name: "started text too long", body: `{"type":"conversation.started","data":{"conversationId":"c","text":"` + strings.Repeat("x", 4097) + `"}}`, msg: "data.text: longer than 4096 characters"},
		{name: "started text a number", body: `{"type":"conversation.started","data":{"conversationId":"c","text":1}}`, msg: "data.text: must be a string"},
		{name: "agent.message without text", body: `{"type":"agent.message","data":{"conversationId":"c"}}`, msg: "data.text: required"},
		{name: "cardIndex negative", body: `{"type":"message","data":{"conversationId":"c","text":"x","cardIndex":-1}}`, msg: "data.cardIndex: must be an integer from 0 to 100"},
		{name: "cardIndex float", body: `{"type":"message","data":{"conversationId":"c","text":"x","cardIndex":1.5}}`, msg: "data.cardIndex: must be an integer from 0 to 100"},
		{name: "cardIndex over 100", body: `{"type":"message","data":{"conversationId":"c","text":"x","cardIndex":101}}`, msg: "data.cardIndex: must be an integer from 0 to 100"},
		{name: "cardIndex a string", body: `{"type":"message","data":{"conversationId":"c","text":"x","cardIndex":"1"}}`, msg: "data.cardIndex: must be an integer from 0 to 100"},
		{name: "cardIndex huge", body: `{"type":"message","data":{"conversationId":"c","text":"x","cardIndex":1e30}}`, msg: "data.cardIndex: must be an integer from 0 to 100"},
		{name: "user value an object", body: `{"type":"conversation.started","data":{"conversationId":"c","user":{"address":{"city":"Berlin"}}}}`, msg: "data.user.address: must be a string, number or boolean"},
		{name: "user value an array", body: `{"type":"conversation.started","data":{"conversationId":"c","user":{"tags":["a"]}}}`, msg: "data.user.tags: must be a string, number or boolean"},
		{name: "user not an object", body: `{"type":"conversation.started","data":{"conversationId":"c","user":"a@example.com"}}`, msg: "data.user: must be an object of string values"},
		{name: "parameter value an object", body: `{"type":"metadata","data":{"conversationId":"c","parameters":{"p":{}}}}`, msg: "data.parameters.p: must be a string, number or boolean"},
		{name: "user value too long", body: `{"type":"metadata","data":{"conversationId":"c","user":{"bio":"` + strings.Repeat("b", 1025) + `"}}}`, msg: "data.user.bio: longer than 1024 characters"},
		{name: "too many user fields", body: `{"type":"conversation.started","data":{"conversationId":"c","user":` + tooManyJSON + `}}`, msg: "data.user: more than 50 fields"},
		{name: "too many parameters", body: `{"type":"metadata","data":{"conversationId":"c","parameters":` + tooManyJSON + `}}`, msg: "data.parameters: more than 50 fields"},
		{name: "metadata with nothing", body: `{"type":"metadata","data":{"conversationId":"c"}}`, msg: "data: metadata needs user or parameters"},
		{name: "metadata with only nulls", body: `{"type":"metadata","data":{"conversationId":"c","user":{"a":null},"parameters":{}}}`, msg: "data: metadata needs user or parameters"},
		{name: "agent.joined without agent", body: `{"type":"agent.joined","data":{"conversationId":"c"}}`, msg: "data.agent: required"},
		{name: "agent.joined agent a string", body: `{"type":"agent.joined","data":{"conversationId":"c","agent":"Dana"}}`, msg: "data.agent: required, an object"},
		{name: "agent.joined without name", body: `{"type":"agent.joined","data":{"conversationId":"c","agent":{"avatarUrl":"https://x"}}}`, msg: "data.agent.name: required"},
		{name: "agent.joined null agent", body: `{"type":"agent.joined","data":{"conversationId":"c","agent":null}}`, msg: "data.agent.name: required"},
		{name: "agent name too long", body: `{"type":"agent.joined","data":{"conversationId":"c","agent":{"name":"` + strings.Repeat("n", 201) + `"}}}`, msg: "data.agent.name: longer than 200 characters"},
		{name: "avatarUrl a number", body: `{"type":"agent.joined","data":{"conversationId":"c","agent":{"name":"D","avatarUrl":1}}}`, msg: "data.agent.avatarUrl: must be a string"},
		{name: "queuePosition a bool", body: `{"type":"agent.queueUpdate","data":{"conversationId":"c","queuePosition":true}}`, msg: "data.queuePosition: must be a string"},
		{name: "waitMinutes an object", body: `{"type":"agent.queueUpdate","data":{"conversationId":"c","waitMinutes":{}}}`, msg: "data.waitMinutes: must be a string"},
		{name: "queuePosition a huge number", body: `{"type":"agent.queueUpdate","data":{"conversationId":"c","queuePosition":` + strings.Repeat("9", 65) + `}}`, msg: "data.queuePosition: longer than 64 characters"},
		{name: "waitMinutes too long", body: `{"type":"agent.queueUpdate","data":{"conversationId":"c","waitMinutes":"` + strings.Repeat("9", 65) + `"}}`, msg: "data.waitMinutes: longer than 64 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := parseBody(tt.body)
			if err == nil {
				t.Fatalf("accepted: %+v", b.Events)
			}
			code := tt.code
			if code == "" {
				code = "invalid_event"
			}
			e := wantAPIError(t, err, 400, code)
			if !strings.HasPrefix(e.Message, tt.msg) {
				t.Fatalf("message %q, want prefix %q", e.Message, tt.msg)
			}
		})
	}
}
