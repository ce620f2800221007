// The events test: every sample in events/ runs through the real bootstrap
// binaries under the Lambda Runtime Interface Emulator, against moto_server,
// the fake AI agent and the demo desk, and the answer is checked.
package functions_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
)

type expect struct {
	file   string
	status int    // sqsEvent: an SQS event, answered with batchItemFailures
	code   string // error code, or a substring the body (the whole answer) must contain
}

const (
	sqsEvent   = 0
	noFailures = `{"batchItemFailures":null}`
)

// The samples of each function, in the order they run (later ones build on
// the state earlier ones leave).
var samples = map[string][]expect{
	"source-inbound": {
		{"generic-conversation-started", 200, `"queued":1`},
		{"generic-message", 200, `"queued":1`},
		{"generic-button-click", 200, `"queued":1`},
		{"generic-metadata", 200, `"queued":1`},
		{"generic-conversation-ended", 200, `"queued":1`},
		{"generic-handed-back", 200, `"queued":1`},
		{"generic-agent-queue-update", 200, `"queued":1`},
		{"generic-agent-joined", 200, `"queued":1`},
		{"generic-agent-message", 200, `"queued":1`},
		{"generic-agent-left", 200, `"queued":1`},
		{"generic-agent-message-not-joined", 409, "agent_not_joined"},
		{"generic-bad-signature", 401, "bad_signature"},
		{"generic-missing-signature", 401, "missing_signature"},
		{"generic-malformed-json", 400, "invalid_event"},
		{"generic-wrong-type", 400, "invalid_event"},
		{"generic-unknown-event-type", 400, "invalid_event"},
		{"generic-unknown-account", 404, "unknown_account"},
		{"generic-disabled-account", 403, "account_disabled"},
		{"generic-wrong-method", 405, "method_not_allowed"},
		{"sunshine-create", 200, `"queued":1`},
		{"sunshine-message", 200, `"queued":1`},
		{"sunshine-postback", 200, `"queued":1`},
		{"sunshine-business-message-ignored", 200, `"status":"ok"`},
		{"sunshine-passcontrol-back", 200, `"queued":1`},
		{"sunshine-bad-api-key", 401, "bad_api_key"},
		{"liveperson-environments", 200, `"production"`},
		{"liveperson-state", 200, `"online"`},
		{"liveperson-put-conversation", 200, `{}`},
		{"liveperson-text", 200, `{"response":[],"analytics":{"intents":[]}}`},
		{"liveperson-rich-content-click", 200, `{"response":[]`},
		{"liveperson-start", 200, `{"response":[]`},
		{"liveperson-hosted-file", 200, `{"response":[]`},
		{"liveperson-unknown-type", 400, "unknown_event_type"},
		{"liveperson-transferred", 200, `{"response":[]`},
		{"liveperson-closed", 200, `{"response":[]`},
		{"twilio-sms", 200, `<Response></Response>`},
		{"twilio-whatsapp-media", 200, `<Response></Response>`},
		{"twilio-json-body", 200, `<Response></Response>`},
		{"twilio-status-delivered", 200, `<Response></Response>`},
		{"twilio-stop", 200, `<Response></Response>`},
		{"twilio-bad-signature", 401, "bad_signature"},
		{"twilio-account-mismatch", 403, "account_mismatch"},
		{"twilio-get-webhook", 405, "method_not_allowed"},
		{"unknown-source", 404, "unknown_source"},
		{"unknown-route", 404, "route_not_found"},
		// The queue side: SQS events of the event source mapping. A dead
		// letter is not a failure (it is kept, and deleted from the queue).
		{"sqs-message", sqsEvent, noFailures},
		{"sqs-two-conversations", sqsEvent, noFailures},
		{"sqs-unknown-account", sqsEvent, noFailures},
		{"sqs-not-an-envelope", sqsEvent, noFailures},
	},
	"webhook-message": {
		{"send-text", 200, `"queued"`},
		{"send-text-duplicate", 200, `"duplicate"`},
		{"send-buttons", 200, `"queued"`},
		{"send-link", 200, `"queued"`},
		{"send-carousel", 200, `"queued"`},
		{"send-minimal", 200, `"queued"`},
		{"widget-message", 200, `"queued"`},
		{"single-url-escalate", 200, `"escalated"`},
		{"single-url-team-online", 200, `{"isOnline":true}`},
		{"single-url-action", 200, `"orderStatus"`},
		{"single-url-send-text", 200, `"queued"`},
		{"bad-secret", 401, "bad_credentials"},
		{"missing-credentials", 401, "missing_credentials"},
		{"unknown-agent", 401, "unknown_agent"},
		{"foreign-conversation", 403, "not_owner"},
		{"not-our-conversation", 400, "invalid_id"},
		{"action-at-message-route", 400, "wrong_route"},
		{"unknown-event-type", 400, "invalid_payload"},
		{"malformed-json", 400, "invalid_payload"},
		{"sqs-send-text", sqsEvent, noFailures},
		{"sqs-barrier", sqsEvent, noFailures},
	},
	"webhook-escalation": {
		{"escalate", 200, `"escalated"`},
		{"escalate-again", 200, `"already_escalated"`},
		{"team-online-callback", 200, `{"isOnline":true}`},
		{"team-online-fixed", 200, `{"isOnline":true}`},
		{"team-online-schedule", 200, `"isOnline"`},
		{"widget-escalate", 200, `"escalated"`},
		{"send-message-at-escalation-route", 400, "wrong_route"},
		{"escalate-without-conversation", 400, "invalid_payload"},
	},
	"webhook-action": {
		{"lookup-order", 200, `"key":"lastOrderStatus","value":"shipped"`},
		{"lookup-order-not-found", 502, "action_failed"},
		{"get-user-info", 200, `"userTier"`},
		{"add-tags", 200, `{"results":[]}`},
		{"unknown-action", 404, "unknown_action"},
		{"converse-event-at-action-route", 400, "wrong_route"},
	},
}

func TestEventsUnderEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bootstraps and starts moto_server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, _ := filepath.Abs("..")
	build := t.TempDir()
	if err := localstack.BuildBootstraps(ctx, root, build); err != nil {
		t.Fatal(err)
	}
	st, err := localstack.Start(ctx, localstack.Options{Addr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", SunshineAddr: "127.0.0.1:0", LivePersonAddr: "127.0.0.1:0", EventsDir: filepath.Join(root, "events")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	emu, err := localstack.StartEmulated(ctx, st, build)
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()

	for _, fn := range route.Functions {
		checkEveryFileListed(t, filepath.Join(root, "events", fn), samples[fn])
		for _, s := range samples[fn] {
			t.Run(fn+"/"+s.file, func(t *testing.T) {
				raw, err := os.ReadFile(filepath.Join(root, "events", fn, s.file+".json"))
				if err != nil {
					t.Fatal(err)
				}
				if s.status == sqsEvent {
					out, err := emu.RIEs[fn].Invoke(ctx, raw)
					if err != nil || string(out) != s.code {
						t.Fatalf("invoke: %s, %v; want %s\n%s", out, err, s.code, emu.RIEs[fn].Output())
					}
					return
				}
				resp, err := emu.Invoke(ctx, fn, raw)
				if err != nil {
					t.Fatalf("invoke: %v\n%s", err, emu.RIEs[fn].Output())
				}
				if resp.StatusCode != s.status || !strings.Contains(resp.Body, s.code) {
					t.Fatalf("got %d %s, want %d containing %s", resp.StatusCode, resp.Body, s.status, s.code)
				}
				if resp.StatusCode >= 400 {
					var body struct {
						Error struct{ Code, Message string }
					}
					if json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error.Code != s.code || body.Error.Message == "" {
						t.Fatalf("error body %s is not {\"error\":{\"code\":%q,\"message\":...}}", resp.Body, s.code)
					}
				}
			})
		}
	}

	// The answers are backed by real effects: what the fake AI agent got and
	// what reached the demo desk, once the queues are drained (the
	// bootstraps' HTTP side enqueued on the stack's queues, whose pollers
	// deliver in-process; the SQS samples the bootstraps delivered).
	if err := st.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var startedWithParams, clicked, queued bool
	for _, r := range st.Agent.Received() {
		if r.Chat == nil || r.Chat.PlatformConversationID != "generic:demo:c-sample" {
			continue
		}
		if r.Chat.EventType == "startSession" {
			for _, m := range r.Chat.MetaData {
				if m.Key == "email" && m.Sanitize && m.Value == "ann@example.com" {
					startedWithParams = true
				}
			}
		}
		if r.Chat.EventType == "message" && r.Chat.Text == "Choose Pro" && r.Chat.CardIndex != nil && *r.Chat.CardIndex == 1 {
			clicked = true
		}
		queued = queued || (r.Chat.EventType == "message" && r.Chat.Text == "Hello from the queue")
	}
	if !startedWithParams || !clicked || !queued {
		t.Errorf("the AI agent did not get startSession with sanitized email (%v), the card click (%v) or the SQS sample's message (%v)", startedWithParams, clicked, queued)
	}
	var carousel, link, reply int
	for _, e := range st.Desk.Inbox("c-sample") {
		if strings.Contains(string(e.Data), `"carouselCards":[{"title":"Starter"`) {
			carousel++
		}
		if strings.Contains(string(e.Data), `"url":"https://example.com/track/123"`) {
			link++
		}
		if strings.Contains(string(e.Data), `"text":"Queued reply for the sample"`) {
			reply++
		}
	}
	if carousel != 1 || link != 1 || reply != 1 {
		t.Errorf("demo desk got %d carousels, %d link messages and %d SQS sample replies, want 1 each (the duplicate must not arrive)", carousel, link, reply)
	}
	// The Twilio samples: the SMS opened an opaque conversation with the
	// channel and country as parameters, and the AI agent's answers reached
	// the fake Twilio as SMS (the JSON-bodied one too).
	var smsStart bool
	for _, r := range st.Agent.Received() {
		if r.Chat != nil && r.Chat.EventType == "startSession" && strings.HasPrefix(r.Chat.PlatformConversationID, "twilio:"+localstack.SampleTwilioAccount+":tw") {
			for _, m := range r.Chat.MetaData {
				smsStart = smsStart || (m.Key == "country" && m.Value == "US")
			}
		}
	}
	// No phone number in any function's log (at DEBUG), though the
	// Twilio requests were logged.
	if !strings.Contains(emu.RIEs["source-inbound"].Output(), `"messageSid":"SMa1b2c3d4e5f60718293a4b5c6d7e8f90"`) {
		t.Errorf("source-inbound did not log the Twilio sample's messageSid")
	}
	for fn, r := range emu.RIEs {
		for _, n := range []string{"15005550101", "15005550102", "31612345678", "15005550006"} {
			if strings.Contains(r.Output(), n) {
				t.Errorf("%s logged a phone number (%s)", fn, n)
			}
		}
	}
	if !smsStart || len(st.Twilio.Sent("+15005550101")) == 0 || len(st.Twilio.Sent("+15005550102")) == 0 || len(st.Twilio.Sent("whatsapp:+31612345678")) == 0 {
		t.Errorf("Twilio samples: startSession with country %v; replies %d/%d/%d", smsStart,
			len(st.Twilio.Sent("+15005550101")), len(st.Twilio.Sent("+15005550102")), len(st.Twilio.Sent("whatsapp:+31612345678")))
	}
}

func checkEveryFileListed(t *testing.T, dir string, list []expect) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	listed := map[string]bool{}
	for _, e := range list {
		listed[e.file] = true
	}
	var missing []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !listed[name] {
			missing = append(missing, name)
		}
		delete(listed, name)
	}
	for name := range listed {
		missing = append(missing, name+" (listed, no file)")
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s: samples without an expectation: %v", dir, missing)
	}
}
