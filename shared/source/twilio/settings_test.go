package twilio_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source/twilio"
)

func TestParseSettings(t *testing.T) {
	strict := twilio.New(egress.New(egress.Options{}), time.Now, nil, nil)
	tests := []struct {
		name, raw, problem string
	}{
		{"empty", ``, ""},
		{"everything", `{"messagingServiceSid":"MG0123456789abcdef0123456789abcdef","publicBaseUrl":"https://bridge.example.com/api",
			"sms":{"maxSegments":1,"smartEncoding":false},"whatsapp":{"quickReplyContentSids":["HX00000000000000000000000000000001","HX00000000000000000000000000000002","HX00000000000000000000000000000003"],"typingIndicator":false},
			"media":"url","optOut":{"forwardHelp":true,"stop":["uitschrijven"]},"handover":{"deskUrl":"https://desk.example.com/h","text":"Hold on","timeoutSeconds":5},
			"sessionIdleMinutes":60,"shareVisitorNumber":true,"statusCallbacks":false,"timeoutSeconds":20}`, ""},
		{"a typo", `{"messagingServiceSID":"MG0"}`, "did you mean `messagingServiceSid`?"},
		{"a wrong type", `{"sms":{"maxSegments":"3"}}`, "sms.maxSegments"},
		{"a bad service SID", `{"messagingServiceSid":"MG123"}`, "messagingServiceSid: must be MG"},
		{"a bad from", `{"from":"0612345678"}`, "from: must be an E.164"},
		{"service and from", `{"messagingServiceSid":"MG0123456789abcdef0123456789abcdef","from":"+15005550006"}`, "set one, not both"},
		{"a loopback API", `{"apiBaseUrl":"http://127.0.0.1:9"}`, "apiBaseUrl:"},
		{"a private desk", `{"handover":{"deskUrl":"https://10.0.0.1/x"}}`, "handover.deskUrl:"},
		{"a public URL with a query", `{"publicBaseUrl":"https://bridge.example.com/?x=1"}`, "publicBaseUrl: no query"},
		{"callbacks without a public URL", `{"statusCallbacks":true}`, "statusCallbacks: needs publicBaseUrl"},
		{"too many segments", `{"sms":{"maxSegments":11}}`, "sms.maxSegments: must be between 1 and 10"},
		{"two templates", `{"whatsapp":{"quickReplyContentSids":["HX00000000000000000000000000000001","HX00000000000000000000000000000002"]}}`, "three Content SIDs"},
		{"a bad template SID", `{"whatsapp":{"quickReplyContentSids":["HX1","HX00000000000000000000000000000002","HX00000000000000000000000000000003"]}}`, "quickReplyContentSids[0]"},
		{"media", `{"media":"proxy"}`, "media: must be omit or url"},
		{"a keyword of two words", `{"optOut":{"stop":["stop it"]}}`, "optOut.stop[0]: one word"},
		{"a keyword of two kinds", `{"optOut":{"stop":["HELP"]}}`, "already a keyword of another kind"},
		{"a handover text without a desk", `{"handover":{"text":"hi"}}`, "handover.text: needs handover.deskUrl"},
		{"a long timeout", `{"timeoutSeconds":26}`, "timeoutSeconds: must be between 1 and 25"},
		{"a short idle time", `{"sessionIdleMinutes":1}`, "sessionIdleMinutes: must be between 5 and 10080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := strict.ParseSettings(json.RawMessage(tc.raw))
			switch {
			case tc.problem == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Fatalf("got %v, want %q", err, tc.problem)
			}
		})
	}
}

func TestValidateCredentials(t *testing.T) {
	a := twilio.New(nil, time.Now, nil, nil)
	tests := []struct {
		name, raw, problem string
	}{
		{"auth token and API key", `{"authToken":"t","apiKeySid":"SK0123456789abcdef0123456789abcdef","apiKeySecret":"s"}`, ""},
		{"a shared key only", `{"sharedKeySecret":"k","apiKeySid":"SK0123456789abcdef0123456789abcdef","apiKeySecret":"s"}`, ""},
		{"with the desk", `{"authToken":"t","apiKeySid":"SK0123456789abcdef0123456789abcdef","apiKeySecret":"s","callbackSecret":"` + callbackKey + `","deskSecret":"` + deskKey + `"}`, ""},
		{"empty", ``, "no credentials"},
		{"not JSON", `authToken=x`, "not a JSON object"},
		{"no signing key", `{"apiKeySid":"SK0123456789abcdef0123456789abcdef","apiKeySecret":"s"}`, "authToken: required"},
		{"a previous token alone", `{"previousAuthToken":"t","sharedKeySecret":"k","apiKeySid":"SK0123456789abcdef0123456789abcdef","apiKeySecret":"s"}`, "previousAuthToken: only beside authToken"},
		{"the Account SID as key", `{"authToken":"t","apiKeySid":"AC0123456789abcdef0123456789abcdef","apiKeySecret":"s"}`, "apiKeySid: required, SK"},
		{"no key secret", `{"authToken":"t","apiKeySid":"SK0123456789abcdef0123456789abcdef"}`, "apiKeySecret: required"},
		{"a bad desk secret", `{"authToken":"t","apiKeySid":"SK0123456789abcdef0123456789abcdef","apiKeySecret":"s","deskSecret":"plain"}`, "deskSecret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.ValidateCredentials([]byte(tc.raw))
			switch {
			case tc.problem == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Fatalf("got %v, want %q", err, tc.problem)
			}
			if err != nil && strings.Contains(err.Error(), `"s"`) {
				t.Fatalf("the error echoes a secret: %v", err)
			}
		})
	}
}
