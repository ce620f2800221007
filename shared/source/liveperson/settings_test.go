package liveperson

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseSettings(t *testing.T) {
	pem := demo(t).PublicKeyPEM()
	base := func() map[string]any {
		return map[string]any{"botId": testBotID, "jwtPublicKeyPem": pem, "zone": "z2"}
	}
	tests := []struct {
		name   string
		change func(m map[string]any)
		field  string // "" = valid
	}{
		{"minimal", func(map[string]any) {}, ""},
		{"jwks", func(m map[string]any) {
			delete(m, "jwtPublicKeyPem")
			m["jwksUrl"] = "https://va.sentinel.liveperson.net/sentinel/well-known/jwks"
		}, ""},
		{"bare base64 key as LivePerson publishes it", func(m map[string]any) {
			body := strings.Join(strings.Split(pem, "\n")[1:len(strings.Split(pem, "\n"))-2], "")
			m["jwtPublicKeyPem"] = body
		}, ""},
		{"api base url", func(m map[string]any) { delete(m, "zone"); m["apiBaseUrl"] = "http://localhost:8095/" }, ""},
		{"full", func(m map[string]any) {
			m["environments"] = []any{"production", "draft"}
			m["skills"] = map[string]any{"billing": "Billing"}
			m["defaultSkill"] = "human"
			m["transferWaitSeconds"] = 0
			m["jwtLeewaySeconds"] = 60
			m["channel"] = "chat"
			m["commandTtlSeconds"] = 120
			m["carouselClickSuffix"] = false
			m["closeOnEnd"] = true
		}, ""},
		{"no bot", func(m map[string]any) { delete(m, "botId") }, "botId"},
		{"bot too long", func(m map[string]any) { m["botId"] = strings.Repeat("a", 37) }, "botId"},
		{"bot with a slash", func(m map[string]any) { m["botId"] = "a/b" }, "botId"},
		{"no key", func(m map[string]any) { delete(m, "jwtPublicKeyPem") }, "jwtPublicKeyPem or jwksUrl"},
		{"both keys", func(m map[string]any) { m["jwksUrl"] = "https://x" }, "jwtPublicKeyPem and jwksUrl"},
		{"bad pem", func(m map[string]any) {
			m["jwtPublicKeyPem"] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
		}, "jwtPublicKeyPem"},
		{"private key pem", func(m map[string]any) {
			m["jwtPublicKeyPem"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
		}, "jwtPublicKeyPem"},
		{"plain http jwks", func(m map[string]any) { delete(m, "jwtPublicKeyPem"); m["jwksUrl"] = "http://example.com/jwks" }, "jwksUrl"},
		{"no api", func(m map[string]any) { delete(m, "zone") }, "zone or apiBaseUrl"},
		{"unknown zone", func(m map[string]any) { m["zone"] = "z9" }, "zone"},
		{"zone and url", func(m map[string]any) { m["apiBaseUrl"] = "https://x" }, "zone and apiBaseUrl"},
		{"plain http api", func(m map[string]any) { delete(m, "zone"); m["apiBaseUrl"] = "http://example.com" }, "apiBaseUrl"},
		{"channel", func(m map[string]any) { m["channel"] = "sms" }, "channel"},
		{"ttl", func(m map[string]any) { m["commandTtlSeconds"] = 5 }, "commandTtlSeconds"},
		{"leeway", func(m map[string]any) { m["jwtLeewaySeconds"] = 300 }, "jwtLeewaySeconds"},
		{"jwks cache", func(m map[string]any) { m["jwksCacheSeconds"] = 10 }, "jwksCacheSeconds"},
		{"transfer wait", func(m map[string]any) { m["transferWaitSeconds"] = 30 }, "transferWaitSeconds"},
		{"empty skill", func(m map[string]any) { m["skills"] = map[string]any{"billing": " "} }, "skills"},
		{"environment", func(m map[string]any) { m["environments"] = []any{"pro duction"} }, "environments[0]"},
		{"start event is gone", func(m map[string]any) { m["startEvent"] = "message" }, "startEvent: no longer a setting"},
		{"deprecated scope refused", func(m map[string]any) { m["acceptDeprecatedScope"] = false }, ""},
		{"wrong type", func(m map[string]any) { m["closeOnEnd"] = "yes" }, "closeOnEnd: must be a boolean"},
		{"closeOnEnds", func(m map[string]any) { m["closeOnEnds"] = true }, "closeOnEnds: unknown field; did you mean `closeOnEnd`?"},
		{"typo in a key field", func(m map[string]any) { m["jwtPublicKeyPEM"] = m["jwtPublicKeyPem"] }, "jwtPublicKeyPEM: unknown field; did you mean `jwtPublicKeyPem`?"},
		{"key ids", func(m map[string]any) { m["jwtKeyIds"] = []any{"k1", "k2"} }, ""},
		{"empty key id", func(m map[string]any) { m["jwtKeyIds"] = []any{""} }, "jwtKeyIds[0]"},
		{"too many key ids", func(m map[string]any) {
			m["jwtKeyIds"] = []any{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}
		}, "jwtKeyIds: at most"},
		{"key ids with a jwks", func(m map[string]any) {
			delete(m, "jwtPublicKeyPem")
			m["jwksUrl"] = "https://va.sentinel.liveperson.net/sentinel/well-known/jwks"
			m["jwtKeyIds"] = []any{"k1"}
		}, "jwtKeyIds: only with jwtPublicKeyPem"},
	}
	a := newAdapter()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.change(m)
			raw, _ := json.Marshal(m)
			_, err := a.ParseSettings(raw)
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && err == nil:
				t.Fatal("accepted")
			case tc.field != "" && !strings.HasPrefix(err.Error(), tc.field):
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

// TestValidateSettingsStrict: outside the local stack, loopback and other
// internal URLs are refused; the metadata endpoint is refused everywhere.
func TestValidateSettingsStrict(t *testing.T) {
	pem := demo(t).PublicKeyPEM()
	tests := []struct {
		settings      map[string]any
		strict, local string // "" = valid
	}{
		{map[string]any{"apiBaseUrl": "http://localhost:8095", "jwtPublicKeyPem": pem}, "apiBaseUrl: host localhost: loopback names are refused", ""},
		{map[string]any{"apiBaseUrl": "https://10.0.0.5", "jwtPublicKeyPem": pem}, "apiBaseUrl: host 10.0.0.5: private", "apiBaseUrl: host 10.0.0.5: private"},
		{map[string]any{"zone": "z1", "jwksUrl": "http://127.0.0.1:9/jwks"}, "jwksUrl: host 127.0.0.1: loopback", ""},
		{map[string]any{"zone": "z1", "jwksUrl": "http://169.254.169.254/jwks"}, "jwksUrl: host 169.254.169.254: cloud metadata", "jwksUrl: host 169.254.169.254: cloud metadata"},
	}
	for _, tc := range tests {
		tc.settings["botId"] = testBotID
		raw, _ := json.Marshal(tc.settings)
		for _, m := range []struct {
			a    *Adapter
			want string
		}{{New(nil, time.Now), tc.strict}, {newAdapter(), tc.local}} {
			_, err := m.a.ParseSettings(raw)
			if (m.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), m.want)) {
				t.Errorf("%v local=%v: %v, want %q", tc.settings["apiBaseUrl"], m.a.HTTP.Local(), err, m.want)
			}
		}
	}
}

func TestSettingsDefaults(t *testing.T) {
	raw, _ := json.Marshal(map[string]any{"botId": testBotID, "jwtPublicKeyPem": demo(t).PublicKeyPEM(), "zone": "z3", "environments": []any{"draft", "alpha", "alpha"}})
	s, err := parseSettings(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.baseURL != "https://bot-platform-api.apac.fs.liveperson.com" || s.JWTIssuer != "Sentinel" || s.Channel != "messaging" ||
		s.CommandTTLSeconds != 30 || s.transferWait.Seconds() != 5 || s.leeway.Seconds() != 30 || !s.clickSuffix ||
		!s.acceptDeprecated || s.Version != "1.0.0" || strings.Join(s.envs, ",") != "draft,alpha" {
		t.Fatalf("defaults: %+v", s)
	}
}

func TestValidateCredentials(t *testing.T) {
	tests := []struct {
		raw   string
		field string
	}{
		{`{"username":"u","password":"p"}`, ""},
		{`{"username":"u","appKey":"a","secret":"s","accessToken":"t","accessTokenSecret":"ts"}`, ""},
		{`{"authType":"USER_PASS","username":"u","password":"p","appKey":"a"}`, ""},
		{``, "no credentials"},
		{`not json`, "credentials:"},
		{`{"password":"p"}`, "credentials username"},
		{`{"username":"u"}`, "credentials:"},
		{`{"username":"u","password":"p","appKey":"a"}`, "credentials: both"},
		{`{"username":"u","appKey":"a","secret":"s"}`, "credentials accessToken"},
		{`{"authType":"OAUTH","username":"u","password":"p"}`, "credentials authType"},
		{`{"authType":"USER_PASS","username":"u","appKey":"a"}`, "credentials password"},
	}
	a := newAdapter()
	for _, tc := range tests {
		err := a.ValidateCredentials([]byte(tc.raw))
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s refused: %v", tc.raw, err)
		case tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field)):
			t.Errorf("%s: error %v, want %s...", tc.raw, err, tc.field)
		}
	}
	// Errors name fields, never values.
	for _, raw := range []string{`{"username":"u","password":"S3CRET-VALUE","appKey":"S3CRET-VALUE"}`, `{"authType":"S3CRET-VALUE"}`, `S3CRET-VALUE`} {
		if err := a.ValidateCredentials([]byte(raw)); err == nil || strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("%s: %v", raw, err)
		}
	}
}
