package ultimatetest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

func TestRejections(t *testing.T) {
	chat := func(fields string) string {
		return `{"platformConversationId":"` + pcid + `"` + fields + `}`
	}
	tests := []struct {
		name   string
		method string // default POST
		path   string // default ChatPath
		body   string
		mod    func(http.Header)
		status int
		msg    string // substring of the answer's message
	}{
		{name: "other path", path: "/converse/chat/", body: chat(`,"eventType":"startSession"`), status: 404, msg: "Not found"},
		{name: "ticket API not served", path: "/converse/ticket", body: chat(`,"eventType":"startSession"`), status: 404, msg: "Not found"},
		{name: "GET", method: http.MethodGet, status: 405, msg: "Method not allowed"},
		{name: "missing botid", body: chat(`,"eventType":"startSession"`), mod: func(h http.Header) { h.Del("botid") }, status: 400, msg: "botid"},
		{name: "repeated botid", body: chat(`,"eventType":"startSession"`), mod: func(h http.Header) { h.Add("botid", botID) }, status: 400, msg: "botid"},
		{name: "unknown bot", body: chat(`,"eventType":"startSession"`), mod: func(h http.Header) { h.Set("botid", "000000000000000000000000") }, status: 404, msg: "Bot not found"},
		{name: "missing key", body: chat(`,"eventType":"startSession"`), mod: func(h http.Header) { h.Del("Authorization") }, status: 401, msg: "Unauthorized"},
		{name: "wrong key", body: chat(`,"eventType":"startSession"`), mod: func(h http.Header) { h.Set("Authorization", "nope") }, status: 401},
		{name: "Bearer key", body: chat(`,"eventType":"startSession"`), mod: func(h http.Header) { h.Set("Authorization", "Bearer "+apiKey) }, status: 401},
		{name: "another bot's key", body: chat(`,"eventType":"startSession"`), mod: func(h http.Header) { h.Set("botid", "otherbot") }, status: 401},
		{name: "wrong content type", body: chat(`,"eventType":"startSession"`), mod: func(h http.Header) { h.Set("Content-Type", "text/plain") }, status: 400, msg: "Content-Type"},
		{name: "not JSON", body: `{"platformConversationId":`, status: 400, msg: "JSON object"},
		{name: "JSON array", body: `[]`, status: 400, msg: "JSON object"},
		{name: "JSON null", body: `null`, status: 400, msg: "JSON object"},
		{name: "missing pcid", body: `{"eventType":"startSession"}`, status: 400, msg: "platformConversationId is required"},
		{name: "empty pcid", body: `{"platformConversationId":"","eventType":"startSession"}`, status: 400, msg: "platformConversationId is required"},
		{name: "numeric pcid", body: `{"platformConversationId":7,"eventType":"startSession"}`, status: 400, msg: "platformConversationId must be a string"},
		{name: "missing eventType", body: chat(``), status: 400, msg: "eventType is required"},
		{name: "unknown eventType", body: chat(`,"eventType":"I want to request a refund"`), status: 400, msg: "unknown eventType"},
		{name: "ticket eventType", body: chat(`,"eventType":"sendMessage"`), status: 400, msg: "unknown eventType"},
		{name: "message without text", body: chat(`,"eventType":"message"`), status: 400, msg: "text is required"},
		{name: "message with empty text", body: chat(`,"eventType":"message","text":""`), status: 400, msg: "text is required"},
		{name: "numeric text", body: chat(`,"eventType":"message","text":5`), status: 400, msg: "text must be a string"},
		{name: "numeric metaData value", body: chat(`,"eventType":"metadata","metaData":[{"key":"age","value":42}]`), status: 400, msg: "metaData[0].value must be a string"},
		{name: "boolean metadata value", body: chat(`,"eventType":"startSession","metadata":[{"key":"vip","value":true}]`), status: 400, msg: "metadata[0].value must be a string"},
		{name: "null metaData value", body: chat(`,"eventType":"metadata","metaData":[{"key":"a","value":"x"},{"key":"b","value":null}]`), status: 400, msg: "metaData[1].value must be a string"},
		{name: "metaData without key", body: chat(`,"eventType":"metadata","metaData":[{"value":"x"}]`), status: 400, msg: "metaData[0].key is required"},
		{name: "metaData as object", body: chat(`,"eventType":"metadata","metaData":{"email":"a@b.c"}`), status: 400, msg: "metaData must be an array"},
		{name: "metaData item extra field", body: chat(`,"eventType":"metadata","metaData":[{"key":"a","value":"x","saveAs":"b"}]`), status: 400, msg: `unknown field "saveAs"`},
		{name: "string sanitize", body: chat(`,"eventType":"metadata","metaData":[{"key":"a","value":"x","sanitize":"true"}]`), status: 400, msg: "sanitize must be a boolean"},
		{name: "both spellings", body: chat(`,"eventType":"metadata","metaData":[{"key":"a","value":"x"}],"metadata":[{"key":"a","value":"x"}]`), status: 400, msg: "not both"},
		{name: "metadata event without items", body: chat(`,"eventType":"metadata"`), status: 400, msg: "metaData is required"},
		{name: "metaData with endSession", body: chat(`,"eventType":"endSession","metaData":[{"key":"a","value":"x"}]`), status: 400, msg: "endSession"},
		{name: "negative cardIndex", body: chat(`,"eventType":"message","text":"Choose Pro","cardIndex":-1`), status: 400, msg: "cardIndex"},
		{name: "fractional cardIndex", body: chat(`,"eventType":"message","text":"Choose Pro","cardIndex":1.5`), status: 400, msg: "cardIndex"},
		{name: "string cardIndex", body: chat(`,"eventType":"message","text":"Choose Pro","cardIndex":"1"`), status: 400, msg: "cardIndex"},
		{name: "cardIndex without message", body: chat(`,"eventType":"startSession","cardIndex":0`), status: 400, msg: "cardIndex"},
		{name: "unknown field", body: chat(`,"eventType":"startSession","platformConversationID":"x"`), status: 400, msg: `unknown field "platformConversationID"`},

		{name: "widget: unknown bot", path: WidgetPath, body: chat(`,"eventType":"escalationFailed"`), mod: func(h http.Header) { h.Set("botid", "nobody") }, status: 404, msg: "Bot not found"},
		{name: "widget: wrong key", path: WidgetPath, body: chat(`,"eventType":"escalationFailed"`), mod: func(h http.Header) { h.Set("Authorization", "x") }, status: 401},
		{name: "widget: message before escalationSuccess", path: WidgetPath, body: chat(`,"eventType":"message","text":"Hello from Anna"`), status: 400, msg: "only allowed after escalationSuccess"},
		{name: "widget: message without text", path: WidgetPath, body: chat(`,"eventType":"message"`), status: 400, msg: "text is required"},
		{name: "widget: numeric queuePosition", path: WidgetPath, body: chat(`,"eventType":"escalationQueueUpdate","queuePosition":3`), status: 400, msg: "queuePosition must be a string"},
		{name: "widget: numeric waitingTime", path: WidgetPath, body: chat(`,"eventType":"escalationQueueUpdate","waitingTime":5`), status: 400, msg: "waitingTime must be a string"},
		{name: "widget: success without agent", path: WidgetPath, body: chat(`,"eventType":"escalationSuccess"`), status: 400, msg: "agent is required"},
		{name: "widget: chat eventType", path: WidgetPath, body: chat(`,"eventType":"startSession"`), status: 400, msg: "unknown eventType"},
		{name: "widget: missing pcid", path: WidgetPath, body: `{"eventType":"escalationFailed"}`, status: 400, msg: "platformConversationId is required"},
		{name: "widget: unknown field", path: WidgetPath, body: chat(`,"eventType":"escalationFailed","reason":"x"`), status: 400, msg: `unknown field "reason"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(_ *Agent, o *Options) {
				o.Agents = []Agent{{ID: "otherbot", APIKey: "other-key", WebhookAuth: webhookauth.Scheme{Kind: webhookauth.SchemeNone}, WebhookSecret: "s"}}
			})
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = ChatPath
			}
			status, body := e.do(method, path, tt.body, tt.mod)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, body, tt.status)
			}
			var answer struct{ Message string }
			if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.Message == "" {
				t.Fatalf("answer %q is not {\"message\": ...}", body)
			}
			if !strings.Contains(answer.Message, tt.msg) {
				t.Errorf("message %q does not mention %q", answer.Message, tt.msg)
			}
			e.wait()
			if r := e.fake.Received(); len(r) != 0 {
				t.Errorf("a rejected request was recorded: %+v", r)
			}
			if d := e.fake.Deliveries(); len(d) != 0 {
				t.Errorf("a rejected request caused webhooks: %d", len(d))
			}
		})
	}
}

// TestAccepts covers the lenient corners of the contract: header name case,
// both metaData spellings, null for absent, charset in Content-Type.
func TestAccepts(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		body     string
		mod      func(http.Header)
		wantMeta []ultimate.MetaItem
	}{
		{name: "BOTID header", body: `{"platformConversationId":"p","eventType":"startSession"}`, mod: func(h http.Header) {
			h.Del("botid")
			h["BOTID"] = []string{botID}
		}},
		{name: "charset", body: `{"platformConversationId":"p","eventType":"startSession"}`, mod: func(h http.Header) { h.Set("Content-Type", "application/json; charset=utf-8") }},
		{name: "metaData", body: `{"platformConversationId":"p","eventType":"metadata","metaData":[{"key":"email","value":"a@b.c","sanitize":true},{"key":"plan","value":""}]}`,
			wantMeta: []ultimate.MetaItem{{Key: "email", Value: "a@b.c", Sanitize: true}, {Key: "plan", Value: ""}}},
		{name: "lowercase metadata", body: `{"platformConversationId":"p","eventType":"startSession","metadata":[{"key":"lang","value":"de"}]}`,
			wantMeta: []ultimate.MetaItem{{Key: "lang", Value: "de"}}},
		{name: "nulls are absent", body: `{"platformConversationId":"p","eventType":"startSession","text":null,"cardIndex":null,"metaData":null}`},
		{name: "cardIndex 0", body: `{"platformConversationId":"p","eventType":"message","text":"Choose Starter","cardIndex":0}`},
		{name: "widget queue update", path: WidgetPath, body: `{"platformConversationId":"p","eventType":"escalationQueueUpdate","queuePosition":"3","waitingTime":"5"}`},
		{name: "widget success", path: WidgetPath, body: `{"platformConversationId":"p","eventType":"escalationSuccess","agent":"Anna","agentAvatar":"https://example.com/a.png"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			path := tt.path
			if path == "" {
				path = ChatPath
			}
			status, body := e.do(http.MethodPost, path, tt.body, tt.mod)
			if status != http.StatusOK || body != "" {
				t.Fatalf("got %d %q, want 200 with an empty body", status, body)
			}
			e.wait()
			r := e.fake.Received()
			if len(r) != 1 || r[0].AgentID != botID || r[0].Path != path || string(r[0].Body) != tt.body || !r[0].At.Equal(e.clock.Now()) {
				t.Fatalf("Received = %+v", r)
			}
			if path == WidgetPath {
				if r[0].Widget == nil || r[0].Chat != nil {
					t.Fatalf("widget request recorded as %+v", r[0])
				}
				return
			}
			if got := r[0].Chat.MetaData; len(got) != len(tt.wantMeta) || (len(got) > 0 && !slices.Equal(got, tt.wantMeta)) {
				t.Errorf("MetaData = %+v, want %+v", got, tt.wantMeta)
			}
		})
	}
}
