package sunshine

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source"
)

const evPrefix = "65a1f0c0ffee4b1d9e2a80"

func intp(n int) *int { return &n }

func withUser(ev source.Event, user map[string]string) source.Event {
	ev.User = user
	return ev
}

func TestParseFixtures(t *testing.T) {
	msg := func(id, text string, card *int) source.Event {
		return source.Event{ID: evPrefix + id, Kind: source.Message, Conversation: testConv, Text: text, CardIndex: card}
	}
	tests := []struct {
		fixture  string
		settings map[string]any
		want     []source.Event
	}{
		{"message_text.json", nil, []source.Event{msg("01", "I want a refund", nil)}},
		{"message_reply.json", nil, []source.Event{msg("02", "Yes, please", nil)}},
		{"message_reply_card.json", nil, []source.Event{msg("03", "Select", intp(2))}},
		{"message_reply_unknown.json", nil, []source.Event{msg("04", "Refund", nil)}},
		{"message_business.json", nil, nil},
		{"message_standby.json", nil, nil},
		{"message_no_switchboard.json", nil, nil},
		{"message_no_switchboard.json", map[string]any{"actWithoutSwitchboard": true}, []source.Event{msg("07", "Hello?", nil)}},
		// Attachments are private by default: the AI agent is told the URL
		// needs the app's credentials.
		{"message_image.json", nil, []source.Event{msg("08", "[image, private] https://media.example.com/receipt.jpg", nil)}},
		{"message_image.json", map[string]any{"attachments": "public"}, []source.Event{msg("08", "[image] https://media.example.com/receipt.jpg", nil)}},
		{"message_file.json", nil, []source.Event{msg("09", "Here is the invoice\n[file, private] https://media.example.com/invoice.pdf", nil)}},
		{"message_file.json", map[string]any{"attachments": "public"}, []source.Event{msg("09", "Here is the invoice\n[file] https://media.example.com/invoice.pdf", nil)}},
		{"message_image_html_caption.json", nil, []source.Event{msg("33", "My receipt\n[image, private] https://media.example.com/receipt.jpg", nil)}},
		{"message_location.json", nil, []source.Event{msg("10", "[location] Head office, 1 Main St, Montreal, (45.5017,-73.5673)", nil)}},
		{"message_form_response.json", nil, []source.Event{withUser(msg("11", "Email: ann.lee@example.com", nil), map[string]string{"email": "ann.lee@example.com"})}},
		// The answers are in fields; textFallback is read-only and may be
		// absent.
		{"message_form_no_fallback.json", nil, []source.Event{withUser(msg("30", "Your name?: Ann Lee\nYour email?: ann.lee@example.com\nYour meal?: Tacos, Ramen", nil),
			map[string]string{"full_name": "Ann Lee", "email_address": "ann.lee@example.com", "meal_selection": "tacos,ramen"})}},
		// Rich text only: its plain rendering.
		{"message_html.json", nil, []source.Event{msg("31", "Hello!\n\nI need a refund & a receipt.\nOrder 42 (https://shop.example.com/o/42)", nil)}},
		{"message_markdown.json", nil, []source.Event{msg("32", "Hello!\nRefund for order 42 (https://shop.example.com/o/42), please", nil)}},
		// postbackWebhook.payload is optional: the metadata of the bridge's
		// action still names the button and card; with neither, nothing.
		{"postback_no_payload.json", nil, []source.Event{msg("34", "Select", intp(1))}},
		{"postback_empty.json", nil, nil},
		{"postback_spec_example.json", nil, []source.Event{msg("36", "Greet", nil)}},
		// The event id is optional: processed, without dedupe.
		{"message_no_id.json", nil, []source.Event{{Kind: source.Message, Conversation: testConv, Text: "I want a refund"}}},
		{"message_deleted.json", nil, nil},
		{"postback_card.json", nil, []source.Event{msg("13", "Select", intp(1))}},
		{"postback_unknown.json", nil, []source.Event{msg("14", "TACOS", nil)}},
		{"postback_standby.json", nil, nil},
		{"create.json", nil, []source.Event{{
			ID: evPrefix + "16", Kind: source.Started, Conversation: testConv,
			User: map[string]string{
				"userId": testUser, "externalId": "crm-4711", "givenName": "Ann", "surname": "Lee",
				"name": "Ann Lee", "email": "ann.lee@example.com", "locale": "fr-CA",
			},
			Params: map[string]string{"channel": "web", "authenticated": "true"},
		}}},
		{"create_notification.json", nil, nil},
		{"passcontrol_back.json", nil, []source.Event{{ID: evPrefix + "18", Kind: source.HandedBack, Conversation: testConv}}},
		{"passcontrol_away.json", nil, nil},
		{"releasecontrol.json", nil, []source.Event{{ID: evPrefix + "20", Kind: source.HandedBack, Conversation: testConv}}},
		{"passcontrol_failure.json", nil, nil},
		{"multi.json", nil, []source.Event{
			{ID: evPrefix + "22", Kind: source.Started, Conversation: testConv,
				User: map[string]string{"userId": testUser, "externalId": "crm-4711"}, Params: map[string]string{"channel": "web", "authenticated": "true"}},
			msg("24", "Where is my order?", nil),
		}},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.fixture, ".json"), func(t *testing.T) {
			a := testAdapter()
			batch, err := a.Parse(request(fixture(t, tc.fixture), nil), account(t, "", tc.settings))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if batch.Reply != nil {
				t.Errorf("unexpected custom reply %+v", batch.Reply)
			}
			if !reflect.DeepEqual(batch.Events, tc.want) {
				t.Fatalf("events:\n got %+v\nwant %+v", batch.Events, tc.want)
			}
		})
	}
}

// Another integration's integrationId in control means standby: nothing
// reaches the AI agent even with actWithoutSwitchboard.
func TestParseOtherIntegrationActive(t *testing.T) {
	body := bytes.ReplaceAll(fixture(t, "message_text.json"), []byte(testIntegration), []byte("65a1f0c0ffee4b1d9e2a7cff"))
	batch, err := testAdapter().Parse(request(body, nil), account(t, "", map[string]any{"actWithoutSwitchboard": true}))
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Events) != 0 {
		t.Fatalf("acted on another integration's conversation: %+v", batch.Events)
	}
}

func TestParsePassControlFailureIsLogged(t *testing.T) {
	var logs bytes.Buffer
	a := testAdapter()
	a.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	batch, err := a.Parse(request(fixture(t, "passcontrol_failure.json"), nil), account(t, "", nil))
	if err != nil || len(batch.Events) != 0 {
		t.Fatalf("got %+v, %v", batch, err)
	}
	for _, want := range []string{`"level":"WARN"`, `"errorCode":"switchboard_invalid_target"`, `"conversation":"` + testConv + `"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %s lacks %s", logs.String(), want)
		}
	}
}

// Only a body that is not a webhook envelope is refused.
func TestParseRejects(t *testing.T) {
	wrap := func(events string) string {
		return `{"app":{"id":"` + testApp + `"},"webhook":{"id":"w","version":"v2"},"events":` + events + `}`
	}
	tests := []struct {
		name, body, code string
		fragments        []string
	}{
		{"not json", `{"events":[`, "invalid_event", []string{"body: must be a JSON object"}},
		{"array body", `[]`, "invalid_event", []string{"events: required"}},
		{"no events", `{"app":{"id":"` + testApp + `"}}`, "invalid_event", []string{"events: required"}},
		{"null events", wrap(`null`), "invalid_event", []string{"events: required"}},
		{"events object", wrap(`{}`), "invalid_event", []string{"events: required"}},
		{"other app", strings.Replace(wrap(`[]`), testApp, "65a1f0c0ffee4b1d9e2a7cff", 1), "app_mismatch", []string{"65a1f0c0ffee4b1d9e2a7cff"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testAdapter().Parse(request([]byte(tc.body), nil), account(t, "", nil))
			wantAPIError(t, err, http.StatusBadRequest, tc.code, tc.fragments...)
		})
	}
}

// A malformed event is logged by its IDs and skipped; the delivery is
// answered as usual (SunCo never retries a 400, which would lose the good
// events with it).
func TestParseSkipsMalformedEvents(t *testing.T) {
	wrap := func(events string) string {
		return `{"app":{"id":"` + testApp + `"},"webhook":{"id":"w","version":"v2"},"events":` + events + `}`
	}
	conv := `"conversation":{"id":"` + testConv + `","type":"personal"}`
	tests := []struct {
		name, body string
		logged     []string // fragments of the skip's log line
	}{
		{"event not object", wrap(`["x"]`), []string{`"event":"events[0]"`, "events[0]: must be an object"}},
		{"bad id", wrap(`[{"id":"a b","type":"conversation:message","payload":{` + conv + `}}]`), []string{"events[0].id: must be printable"}},
		{"missing payload", wrap(`[{"id":"e1","type":"conversation:message"}]`), []string{`"eventId":"e1"`, `"type":"conversation:message"`, "events[0].payload: required"}},
		{"missing conversation", wrap(`[{"id":"e1","type":"conversation:create","payload":{}}]`), []string{"events[0].payload.conversation: required"}},
		{"missing conversation id", wrap(`[{"id":"e1","type":"switchboard:passControl","payload":{"conversation":{}}}]`), []string{"events[0].payload.conversation.id: required"}},
		{"conversation id with space", wrap(`[{"id":"e1","type":"conversation:create","payload":{"conversation":{"id":"a b"}}}]`), []string{"conversation.id: must be printable"}},
		{"long conversation id", wrap(`[{"id":"e1","type":"conversation:create","payload":{"conversation":{"id":"` + strings.Repeat("a", 201) + `"}}}]`), []string{"longer than 200 bytes"}},
		{"missing message", wrap(`[{"id":"e1","type":"conversation:message","payload":{` + conv + `}}]`), []string{`"conversation":"` + testConv + `"`, "events[0].payload.message: required"}},
		{"second event bad", wrap(`[{"id":"e0","type":"conversation:read","payload":{}},{"id":"e1","type":"conversation:create"}]`), []string{`"event":"events[1]"`, "events[1].payload"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := testAdapter()
			a.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			b, err := a.Parse(request([]byte(tc.body), nil), account(t, "", nil))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(b.Events) != 0 || b.Skipped != 1 {
				t.Fatalf("events %+v, skipped %d", b.Events, b.Skipped)
			}
			for _, f := range append(tc.logged, `"msg":"sunshine event skipped"`, `"level":"WARN"`) {
				if !strings.Contains(logs.String(), f) {
					t.Errorf("log %s lacks %s", logs.String(), f)
				}
			}
		})
	}
}

// Issue 10: one bad event in a delivery does not cost the good ones.
func TestParseDeliveryWithOneBadEvent(t *testing.T) {
	var logs bytes.Buffer
	a := testAdapter()
	a.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	b, err := a.Parse(request(fixture(t, "multi_one_bad.json"), nil), account(t, "", nil))
	if err != nil {
		t.Fatal(err)
	}
	if b.Skipped != 1 || len(b.Events) != 2 || b.Events[0].ID != evPrefix+"01" || b.Events[1].ID != evPrefix+"02" {
		t.Fatalf("skipped %d, events %+v", b.Skipped, b.Events)
	}
	if !strings.Contains(logs.String(), `"eventId":"`+evPrefix+`37"`) || strings.Contains(logs.String(), "refund") {
		t.Fatalf("log %s", logs.String())
	}
}

// An event without id is processed, and the log says it cannot be
// deduplicated.
func TestParseEventWithoutIDIsLogged(t *testing.T) {
	var logs bytes.Buffer
	a := testAdapter()
	a.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	b, err := a.Parse(request(fixture(t, "message_no_id.json"), nil), account(t, "", nil))
	if err != nil || len(b.Events) != 1 || b.Events[0].ID != "" {
		t.Fatalf("got %+v, %v", b, err)
	}
	for _, want := range []string{"without dedupe", `"conversation":"` + testConv + `"`, `"type":"conversation:message"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %s lacks %s", logs.String(), want)
		}
	}
}

func TestParseLenient(t *testing.T) {
	// Unknown fields, odd types in fields the bridge does not read, an empty
	// events array and unused triggers are all fine.
	tests := []struct {
		name, body string
		want       int
	}{
		{"empty events", `{"events":[]}`, 0},
		{"unused trigger without payload", `{"events":[{"id":"e1","type":"user:merge"}]}`, 0},
		{"odd types elsewhere", `{"app":{"id":"` + testApp + `","extra":1},"events":[{"id":"e1","type":"conversation:message","createdAt":12,"payload":{"conversation":{"id":"c1","type":7,"metadata":"x","activeSwitchboardIntegration":{"integrationId":"` + testIntegration + `","name":5}},"message":{"id":1,"author":{"type":"user","userId":{}},"content":{"type":"text","text":"hi","payload":7}}}}]}`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := testAdapter().Parse(request([]byte(tc.body), nil), account(t, "", nil))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(b.Events) != tc.want {
				t.Fatalf("got %d events (%+v), want %d", len(b.Events), b.Events, tc.want)
			}
		})
	}
}

func TestParseMisconfiguredAccount(t *testing.T) {
	acct := account(t, "", nil)
	acct.Settings = []byte(`{"replyStyle":"x"}`)
	_, err := testAdapter().Parse(request(fixture(t, "message_text.json"), nil), acct)
	wantAPIError(t, err, http.StatusInternalServerError, "account_misconfigured")
}

func TestParseNeverLogsMessageText(t *testing.T) {
	var logs bytes.Buffer
	a := testAdapter()
	a.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, f := range []string{"message_text.json", "multi.json", "passcontrol_failure.json"} {
		if _, err := a.Parse(request(fixture(t, f), nil), account(t, "", nil)); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := io.ReadAll(&logs)
	for _, text := range []string{"refund", "order", "Switchboard invalid target"} {
		if bytes.Contains(out, []byte(text)) {
			t.Errorf("logs contain message text %q: %s", text, out)
		}
	}
}
