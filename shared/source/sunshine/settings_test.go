package sunshine

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseSettings(t *testing.T) {
	a := New(nil)
	tests := []struct {
		name    string
		raw     string
		wantErr string // "" means valid
	}{
		{"minimal", `{"integrationId":"65a1f0c0ffee4b1d9e2a7c10"}`, ""},
		{"full", `{"baseUrl":"https://acme.zendesk.com/sc","integrationId":"i1","actWithoutSwitchboard":true,"handoverTarget":"next",
			"displayName":"Acme bot","avatarUrl":"https://acme.example/bot.png","typingIndicator":true,"replyStyle":"postback","aiDisclaimer":true,"tagSeparator":",","attachments":"public"}`, ""},
		{"eu host", `{"baseUrl":"https://api.eu-1.smooch.io/","integrationId":"i1"}`, ""},
		{"local http outside the local stack", `{"baseUrl":"http://127.0.0.1:8089","integrationId":"i1"}`, "baseUrl: host 127.0.0.1: loopback addresses are refused"},
		{"metadata", `{"baseUrl":"https://169.254.169.254","integrationId":"i1"}`, "baseUrl: host 169.254.169.254: cloud metadata"},
		{"empty", `{}`, "integrationId: required"},
		{"nothing", ``, "integrationId: required"},
		{"plain http", `{"baseUrl":"http://api.smooch.io","integrationId":"i1"}`, "baseUrl: must be https://"},
		{"query", `{"baseUrl":"https://api.smooch.io/?x=1","integrationId":"i1"}`, "baseUrl: must be an absolute URL"},
		{"bad integration", `{"integrationId":"a b"}`, "integrationId: 1-64"},
		{"bad target", `{"integrationId":"i1","handoverTarget":"Billing team"}`, "handoverTarget:"},
		{"bad style", `{"integrationId":"i1","replyStyle":"buttons"}`, "replyStyle: must be"},
		{"http avatar", `{"integrationId":"i1","avatarUrl":"http://x.example/a.png"}`, "avatarUrl: must be https://"},
		{"long name", `{"integrationId":"i1","displayName":"` + strings.Repeat("n", 129) + `"}`, "displayName: at most 128"},
		{"bad separator", `{"integrationId":"i1","tagSeparator":"-"}`, "tagSeparator:"},
		{"bad attachments", `{"integrationId":"i1","attachments":"secret"}`, `attachments: must be "private"`},
		{"empty separator", `{"integrationId":"i1","tagSeparator":""}`, "tagSeparator:"},
		{"typo", `{"integrationId":"i1","handoverTaget":"next"}`, "handoverTaget: unknown field; did you mean `handoverTarget`?"},
		{"typo in a case", `{"integrationID":"i1"}`, "integrationID: unknown field; did you mean `integrationId`?"},
		{"wrong type", `{"integrationId":"i1","typingIndicator":"yes"}`, "typingIndicator: must be a boolean"},
		{"wrong type in a map", `{"integrationId":"i1","escalationTargets":{"billing":1}}`, "escalationTargets.billing: must be a string"},
		{"not an object", `[1]`, "must be a map, got a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.ParseSettings(json.RawMessage(tc.raw))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSettingsDefaults(t *testing.T) {
	s, err := parseSettings(json.RawMessage(`{"integrationId":"i1","baseUrl":"https://api.eu-1.smooch.io/"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.BaseURL != "https://api.eu-1.smooch.io" || s.HandoverTarget != DefaultHandoverTarget || s.ReplyStyle != ReplyStyleReply || s.separator() != " " || s.Attachments != AttachmentsPrivate {
		t.Fatalf("defaults not applied: %+v sep=%q", s, s.separator())
	}
	s, err = parseSettings(json.RawMessage(`{"integrationId":"i1"}`), nil)
	if err != nil || s.BaseURL != DefaultBaseURL {
		t.Fatalf("base URL default: %v %v", s, err)
	}
}

func TestValidateCredentials(t *testing.T) {
	a := New(nil)
	// Secret values are distinctive so the test can tell they never leak
	// into an error.
	tests := []struct {
		name, raw, wantErr string
	}{
		{"valid", `{"keyId":"app_1","keySecret":"K-SECRET-VALUE","webhookSecret":"W-SECRET-VALUE"}`, ""},
		{"rotation", `{"keyId":"int_1","keySecret":"K-SECRET-VALUE","webhookSecret":"W-SECRET-VALUE","previousWebhookSecret":"P-SECRET-VALUE"}`, ""},
		{"empty", ``, "no credentials"},
		{"not json", `keyId=app_1&keySecret=K-SECRET-VALUE`, "not a JSON object"},
		{"no key id", `{"keySecret":"K-SECRET-VALUE","webhookSecret":"W-SECRET-VALUE"}`, "keyId: required"},
		{"colon", `{"keyId":"app:1","keySecret":"K-SECRET-VALUE","webhookSecret":"W-SECRET-VALUE"}`, "keyId: must not contain a colon"},
		{"no key secret", `{"keyId":"app_1","webhookSecret":"W-SECRET-VALUE"}`, "keySecret: required"},
		{"no webhook secret", `{"keyId":"app_1","keySecret":"K-SECRET-VALUE"}`, "webhookSecret: required"},
		{"wrong type", `{"keyId":"app_1","keySecret":"K-SECRET-VALUE","webhookSecret":42}`, "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.ValidateCredentials([]byte(tc.raw))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "SECRET-VALUE") {
				t.Errorf("error %q echoes a secret", err)
			}
		})
	}
}
