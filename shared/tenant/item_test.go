package tenant

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/strictjson"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// item decodes an inline DynamoDB JSON item or fails the test.
func item(t *testing.T, s string) Item {
	t.Helper()
	it, err := DecodeItemJSON([]byte(s))
	if err != nil {
		t.Fatalf("DecodeItemJSON(%s): %v", s, err)
	}
	return it
}

// with returns the base item with attributes replaced (a value of "" deletes
// the attribute). Values are DynamoDB JSON.
func with(t *testing.T, base string, attrs map[string]string) Item {
	t.Helper()
	it := item(t, base)
	for k, v := range attrs {
		if v == "" {
			delete(it, k)
			continue
		}
		one := item(t, `{"x":`+v+`}`)
		it[k] = one["x"]
	}
	return it
}

// wantItemError fails t unless err is a *Error naming itemName and field,
// with a problem containing problem.
func wantItemError(t *testing.T, err error, itemName, field, problem string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *tenant.Error", err, err)
	}
	if e.Item != itemName || e.Field != field || !strings.Contains(e.Problem, problem) {
		t.Fatalf("got item %q field %q problem %q; want %q, %q, containing %q", e.Item, e.Field, e.Problem, itemName, field, problem)
	}
	want := "item " + itemName + ": "
	if field != "" {
		want += "field " + field + ": "
	}
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Error() = %q, want prefix %q", err.Error(), want)
	}
}

const sourceItem = `{
  "pk": {"S": "SOURCE#generic#acme"}, "sk": {"S": "CONFIG"},
  "agentId": {"S": "618a30beee4e8e87d2f94015"}, "enabled": {"BOOL": true},
  "credentialsSecret": {"S": "crmbridge/sources/generic/acme"},
  "settings": {"M": {"callbackUrl": {"S": "https://acme.example.com/hook"}, "timeoutSeconds": {"N": "5"}}},
  "metadata": {"L": [
    {"M": {"field": {"S": "email"}, "sanitize": {"BOOL": true}}},
    {"M": {"field": {"S": "plan"}, "key": {"S": "tier"}}}
  ]},
  "displayName": {"S": "Acme"}
}`

// parsedSettings is what a test settings hook returns.
type parsedSettings struct {
	source string
	raw    string
}

func TestParseSource(t *testing.T) {
	s, err := ParseSource(item(t, sourceItem), func(source string, settings json.RawMessage) (any, error) {
		return &parsedSettings{source: source, raw: string(settings)}, nil
	})
	if err != nil {
		t.Fatalf("ParseSource: %v", err)
	}
	want := &Source{
		Source: "generic", Account: "acme", AgentID: "618a30beee4e8e87d2f94015", Enabled: true,
		CredentialsSecret: "crmbridge/sources/generic/acme",
		Settings:          &parsedSettings{source: "generic", raw: `{"callbackUrl":"https://acme.example.com/hook","timeoutSeconds":5}`},
		Metadata:          []MetaRule{{Field: "email", Sanitize: true}, {Field: "plan", Key: "tier"}},
		DisplayName:       "Acme",
		MaxAge:            DefaultMaxAge,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	// Without a hook the item carries the raw settings.
	s, err = ParseSource(item(t, sourceItem), nil)
	if err != nil || string(s.Settings.(json.RawMessage)) != want.Settings.(*parsedSettings).raw {
		t.Fatalf("no hook: %v %v", s.Settings, err)
	}
}

// DynamoDB numbers JSON cannot hold as written reach the hook in JSON form.
func TestParseSourceNumbers(t *testing.T) {
	var got string
	_, err := ParseSource(with(t, sourceItem, map[string]string{"settings": `{"M":{"a":{"N":"+1"},"b":{"N":"1."},"c":{"N":".5"},"d":{"N":"-2e3"}}}`}),
		func(_ string, raw json.RawMessage) (any, error) { got = string(raw); return nil, nil })
	if err != nil || got != `{"a":1,"b":1,"c":0.5,"d":-2e3}` {
		t.Fatalf("settings %s, %v", got, err)
	}
}

func TestParseSourceMinimal(t *testing.T) {
	s, err := ParseSource(item(t, `{"pk":{"S":"SOURCE#sunshine#app_1.x@y+z=w-v"},"sk":{"S":"CONFIG"},"agentId":{"S":"618a30beee4e8e87d2f94015"},"enabled":{"BOOL":false},"metadata":{"NULL":true}}`), nil)
	if err != nil {
		t.Fatalf("ParseSource: %v", err)
	}
	if s.Source != "sunshine" || s.Account != "app_1.x@y+z=w-v" || s.Enabled || string(s.Settings.(json.RawMessage)) != "{}" || s.Metadata != nil {
		t.Fatalf("%+v", s)
	}
}

func TestParseSourceDelivery(t *testing.T) {
	s, err := ParseSource(with(t, sourceItem, map[string]string{
		"delivery":   `{"M":{"maxAgeSeconds":{"N":"3600"}}}`,
		"fallback":   `{"M":{"afterSeconds":{"N":"120"},"text":{"S":"A colleague will answer you."}}}`,
		"transcript": `{"M":{"turns":{"N":"10"}}}`,
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxAge != time.Hour || s.Fallback == nil || s.Fallback.After != 2*time.Minute || s.Fallback.Text != "A colleague will answer you." ||
		s.Transcript == nil || s.Transcript.Turns != 10 || s.Transcript.MaxChars != DefaultTurnChars {
		t.Fatalf("%+v %+v %+v", s, s.Fallback, s.Transcript)
	}
}

func TestParseSourceErrors(t *testing.T) {
	const name = "SOURCE#generic#acme/CONFIG"
	tests := []struct {
		name     string
		attrs    map[string]string
		itemName string // default name
		field    string
		problem  string
	}{
		{name: "missing agentId", attrs: map[string]string{"agentId": ""}, field: "agentId", problem: "required"},
		{name: "empty agentId", attrs: map[string]string{"agentId": `{"S":" "}`}, field: "agentId", problem: "must not be empty"},
		{name: "bad agentId", attrs: map[string]string{"agentId": `{"S":"agent one"}`}, field: "agentId", problem: "24 lowercase hex"},
		{name: "agentId too short", attrs: map[string]string{"agentId": `{"S":"618a30beee4e8e87d2f9401"}`}, field: "agentId", problem: "24 lowercase hex"},
		{name: "agentId not hex", attrs: map[string]string{"agentId": `{"S":"618a30beee4e8e87d2f9401g"}`}, field: "agentId", problem: "24 lowercase hex"},
		{name: "agentId upper case", attrs: map[string]string{"agentId": `{"S":"618A30BEEE4E8E87D2F94015"}`}, field: "agentId", problem: "24 lowercase hex"},
		{name: "typo at the top", attrs: map[string]string{"enabeld": `{"BOOL":true}`}, field: "enabeld", problem: "unknown field; did you mean `enabled`?"},
		{name: "unknown attribute", attrs: map[string]string{"owner": `{"S":"x"}`}, field: "owner", problem: "unknown field (known: agentId, credentialsSecret, delivery, displayName, enabled, fallback, metadata, pk, settings, sk, transcript)"},
		{name: "maxAge too short", attrs: map[string]string{"delivery": `{"M":{"maxAgeSeconds":{"N":"10"}}}`}, field: "delivery.maxAgeSeconds", problem: "must be between 60 and"},
		{name: "maxAge past the queues' retention", attrs: map[string]string{"delivery": `{"M":{"maxAgeSeconds":{"N":"1300000"}}}`}, field: "delivery.maxAgeSeconds", problem: "must be between 60 and"},
		{name: "delivery typo", attrs: map[string]string{"delivery": `{"M":{"maxAgeSecond":{"N":"600"}}}`}, field: "delivery.maxAgeSecond", problem: "did you mean `maxAgeSeconds`?"},
		{name: "fallback after the maximum age", attrs: map[string]string{"delivery": `{"M":{"maxAgeSeconds":{"N":"600"}}}`, "fallback": `{"M":{"afterSeconds":{"N":"600"}}}`}, field: "fallback.afterSeconds", problem: "below the maximum age (600)"},
		{name: "fallback too eager", attrs: map[string]string{"fallback": `{"M":{"afterSeconds":{"N":"1"}}}`}, field: "fallback.afterSeconds", problem: "at least 5"},
		{name: "fallback typo", attrs: map[string]string{"fallback": `{"M":{"afterSecond":{"N":"60"}}}`}, field: "fallback.afterSecond", problem: "did you mean `afterSeconds`?"},
		{name: "transcript without turns", attrs: map[string]string{"transcript": `{"M":{}}`}, field: "transcript.turns", problem: "between 1 and 50"},
		{name: "transcript too long turns", attrs: map[string]string{"transcript": `{"M":{"turns":{"N":"5"},"maxChars":{"N":"9000"}}}`}, field: "transcript.maxChars", problem: "between 1 and 2000"},
		{name: "sanitise in a metadata rule", attrs: map[string]string{"metadata": `{"L":[{"M":{"field":{"S":"email"},"sanitise":{"BOOL":true}}}]}`}, field: "metadata[0].sanitise", problem: "unknown field; did you mean `sanitize`?"},
		{name: "credentialsSecret of another account", attrs: map[string]string{"credentialsSecret": `{"S":"crmbridge/sources/generic/other"}`}, field: "credentialsSecret", problem: `must be "crmbridge/sources/generic/acme": an account may only use its own secret`},
		{name: "credentialsSecret of another source", attrs: map[string]string{"credentialsSecret": `{"S":"crmbridge/sources/sunshine/acme"}`}, field: "credentialsSecret", problem: "its own secret"},
		{name: "credentialsSecret of an agent", attrs: map[string]string{"credentialsSecret": `{"S":"crmbridge/agents/618a30beee4e8e87d2f94015"}`}, field: "credentialsSecret", problem: "its own secret"},
		{name: "credentialsSecret outside crmbridge/", attrs: map[string]string{"credentialsSecret": `{"S":"prod/db-password"}`}, field: "credentialsSecret", problem: "its own secret"},
		{name: "agentId a number", attrs: map[string]string{"agentId": `{"N":"1"}`}, field: "agentId", problem: "must be a string (DynamoDB type S), got N"},
		{name: "agentId a string set", attrs: map[string]string{"agentId": `{"SS":["a"]}`}, field: "agentId", problem: "must be a string (DynamoDB type S), got L"},
		{name: "missing enabled", attrs: map[string]string{"enabled": ""}, field: "enabled", problem: "required"},
		{name: "null enabled", attrs: map[string]string{"enabled": `{"NULL":true}`}, field: "enabled", problem: "required"},
		{name: "null agentId", attrs: map[string]string{"agentId": `{"NULL":true}`}, field: "agentId", problem: "required"},
		{name: "enabled a string", attrs: map[string]string{"enabled": `{"S":"true"}`}, field: "enabled", problem: "must be a boolean (DynamoDB type BOOL), got S"},
		{name: "bad credentialsSecret", attrs: map[string]string{"credentialsSecret": `{"S":"no spaces allowed"}`}, field: "credentialsSecret", problem: "its own secret"},
		{name: "settings a string", attrs: map[string]string{"settings": `{"S":"{}"}`}, field: "settings", problem: "must be a map"},
		{name: "metadata a map", attrs: map[string]string{"metadata": `{"M":{}}`}, field: "metadata", problem: "must be a list"},
		{name: "metadata rule without field", attrs: map[string]string{"metadata": `{"L":[{"M":{"key":{"S":"k"}}}]}`}, field: "metadata[0].field", problem: "required"},
		{name: "metadata rule with bad field", attrs: map[string]string{"metadata": `{"L":[{"M":{"field":{"S":"e mail"}}}]}`}, field: "metadata[0].field", problem: "letters"},
		{name: "metadata rule with bad key", attrs: map[string]string{"metadata": `{"L":[{"M":{"field":{"S":"email"},"key":{"S":"e:mail"}}}]}`}, field: "metadata[0].key", problem: "letters"},
		{name: "duplicate metadata key", attrs: map[string]string{"metadata": `{"L":[{"M":{"field":{"S":"email"}}},{"M":{"field":{"S":"mail"},"key":{"S":"email"}}}]}`},
			field: "metadata[1].key", problem: `duplicate session parameter "email"`},
		{name: "duplicate metadata field", attrs: map[string]string{"metadata": `{"L":[{"M":{"field":{"S":"email"}}},{"M":{"field":{"S":"email"}}}]}`},
			field: "metadata[1].key", problem: "duplicate"},
		{name: "metadata rule not a map", attrs: map[string]string{"metadata": `{"L":[{"M":{"field":{"S":"a"}}},{"S":"email"}]}`}, field: "metadata[1]", problem: "must be a map (DynamoDB type M), got S"},
		{name: "metadata sanitize a string", attrs: map[string]string{"metadata": `{"L":[{"M":{"field":{"S":"email"},"sanitize":{"S":"yes"}}}]}`}, field: "metadata[0].sanitize", problem: "must be a boolean"},
		{name: "metadata field a number", attrs: map[string]string{"metadata": `{"L":[{"M":{"field":{"N":"1"}}}]}`}, field: "metadata[0].field", problem: "must be a string"},
		{name: "bad account", attrs: map[string]string{"pk": `{"S":"SOURCE#generic#acme corp"}`}, itemName: "SOURCE#generic#acme corp/CONFIG", field: "pk", problem: "account must be"},
		{name: "colon in account", attrs: map[string]string{"pk": `{"S":"SOURCE#generic#acme:1"}`}, itemName: "SOURCE#generic#acme:1/CONFIG", field: "pk", problem: "no colon"},
		{name: "hash in account", attrs: map[string]string{"pk": `{"S":"SOURCE#generic#acme#1"}`}, itemName: "SOURCE#generic#acme#1/CONFIG", field: "pk", problem: "account must be"},
		{name: "empty account", attrs: map[string]string{"pk": `{"S":"SOURCE#generic#"}`}, itemName: "SOURCE#generic#/CONFIG", field: "pk", problem: "account must be"},
		{name: "no account", attrs: map[string]string{"pk": `{"S":"SOURCE#generic"}`}, itemName: "SOURCE#generic/CONFIG", field: "pk", problem: "source name"},
		{name: "bad source name", attrs: map[string]string{"pk": `{"S":"SOURCE#Generic#acme"}`}, itemName: "SOURCE#Generic#acme/CONFIG", field: "pk", problem: "source name must be lowercase"},
		{name: "wrong sk", attrs: map[string]string{"sk": `{"S":"ACTION#x"}`}, itemName: "SOURCE#generic#acme/ACTION#x", field: "sk", problem: "a source item has pk SOURCE#"},
		{name: "missing sk", attrs: map[string]string{"sk": ""}, itemName: "SOURCE#generic#acme/", field: "sk", problem: "a source item"},
		{name: "agent pk", attrs: map[string]string{"pk": `{"S":"AGENT#a"}`}, itemName: "AGENT#a/CONFIG", field: "pk", problem: "a source item"},
		{name: "long source name", attrs: map[string]string{"pk": `{"S":"SOURCE#` + strings.Repeat("a", 33) + `#acme"}`}, itemName: "SOURCE#" + strings.Repeat("a", 33) + "#acme/CONFIG", field: "pk", problem: "source name"},
		{name: "pk a number", attrs: map[string]string{"pk": `{"N":"1"}`}, itemName: "/CONFIG", field: "pk", problem: "a source item"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			_, err := ParseSource(with(t, sourceItem, tt.attrs), func(string, json.RawMessage) (any, error) { called = true; return nil, nil })
			n := tt.itemName
			if n == "" {
				n = name
			}
			wantItemError(t, err, n, tt.field, tt.problem)
			if called {
				t.Fatal("settings check called for an invalid item")
			}
		})
	}
}

func TestParseSourceSettingsCheck(t *testing.T) {
	_, err := ParseSource(item(t, sourceItem), func(source string, settings json.RawMessage) (any, error) {
		return nil, errors.New("callbackUrl: must be https://")
	})
	wantItemError(t, err, "SOURCE#generic#acme/CONFIG", "settings", "callbackUrl: must be https://")
	// A strict decoding error keeps its path under settings.
	_, err = ParseSource(item(t, sourceItem), func(source string, settings json.RawMessage) (any, error) {
		var s struct {
			CallbackURL string `json:"callbackUrl"`
		}
		return nil, strictjson.Decode(settings, &s)
	})
	wantItemError(t, err, "SOURCE#generic#acme/CONFIG", "settings.timeoutSeconds", "unknown field")
	_, err = ParseSource(item(t, sourceItem), func(source string, settings json.RawMessage) (any, error) {
		var s struct {
			CallbackURL    int `json:"callbackUrl"`
			TimeoutSeconds int `json:"timeoutSeconds"`
		}
		return nil, strictjson.Decode(settings, &s)
	})
	wantItemError(t, err, "SOURCE#generic#acme/CONFIG", "settings.callbackUrl", "must be a whole number (DynamoDB type N), got S")
}

const agentItem = `{
  "pk": {"S": "AGENT#618a30beee4e8e87d2f94015"}, "sk": {"S": "CONFIG"},
  "secret": {"S": "crmbridge/agents/618a30beee4e8e87d2f94015"},
  "baseUrl": {"S": "https://acme.zendesk.com/ai-agents/api/"},
  "webhookAuth": {"M": {"scheme": {"S": "hmac-sha256"}, "header": {"S": "X-Ultimate-Signature"}}},
  "teams": {"M": {"default": {"M": {"timezone": {"S": "Europe/Berlin"}}}}},
  "displayName": {"S": "Acme bot"}
}`

func TestParseAgent(t *testing.T) {
	a, err := ParseAgent(item(t, agentItem), func(teams json.RawMessage) (any, error) { return "parsed " + string(teams), nil }, nil)
	if err != nil {
		t.Fatalf("ParseAgent: %v", err)
	}
	want := &Agent{
		AgentID: "618a30beee4e8e87d2f94015", Secret: "crmbridge/agents/618a30beee4e8e87d2f94015",
		BaseURL:     "https://acme.zendesk.com/ai-agents/api",
		WebhookAuth: webhookauth.Scheme{Kind: "hmac-sha256", Header: "X-Ultimate-Signature", Encoding: "hex"},
		Teams:       `parsed {"default":{"timezone":"Europe/Berlin"}}`,
		DisplayName: "Acme bot",
	}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %+v\nwant %+v", a, want)
	}
}

func TestParseAgentOptional(t *testing.T) {
	called := false
	a, err := ParseAgent(with(t, agentItem, map[string]string{"baseUrl": "", "teams": "", "secret": "", "webhookAuth": `{"M":{"scheme":{"S":"header"}}}`}),
		func(json.RawMessage) (any, error) { called = true; return nil, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if called || a.Teams != nil || a.BaseURL != "" || a.Secret != "crmbridge/agents/618a30beee4e8e87d2f94015" || a.WebhookAuth != (webhookauth.Scheme{Kind: "header", Header: "Authorization"}) {
		t.Fatalf("%+v (teams check called: %v)", a, called)
	}
	// Loopback base URLs are the local stack's: accepted in its mode only.
	local := func(u string) error { return egress.CheckURL(u, true) }
	for _, u := range []string{"http://127.0.0.1:4010", "http://localhost/x", "http://[::1]:8080/"} {
		it := with(t, agentItem, map[string]string{"baseUrl": `{"S":"` + u + `"}`})
		if _, err := ParseAgent(it, nil, local); err != nil {
			t.Errorf("baseUrl %s: %v", u, err)
		}
		if _, err := ParseAgent(it, nil, nil); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("baseUrl %s accepted outside the local stack: %v", u, err)
		}
	}
}

func TestParseAgentErrors(t *testing.T) {
	const name = "AGENT#618a30beee4e8e87d2f94015/CONFIG"
	tests := []struct {
		name     string
		attrs    map[string]string
		itemName string
		field    string
		problem  string
	}{
		{name: "bad secret name", attrs: map[string]string{"secret": `{"S":"a secret"}`}, field: "secret", problem: `must be "crmbridge/agents/618a30beee4e8e87d2f94015" (or left out)`},
		{name: "another agent's secret", attrs: map[string]string{"secret": `{"S":"crmbridge/agents/64f1c0ffee0ddba11ad0be57"}`}, field: "secret", problem: "an agent may only use its own secret"},
		{name: "secret outside crmbridge/", attrs: map[string]string{"secret": `{"S":"other/agents/618a30beee4e8e87d2f94015"}`}, field: "secret", problem: "its own secret"},
		{name: "webhookAuth.prefx", attrs: map[string]string{"webhookAuth": `{"M":{"scheme":{"S":"header"},"prefx":{"S":"Bearer "}}}`}, field: "webhookAuth.prefx", problem: "unknown field; did you mean `prefix`?"},
		{name: "unknown attribute", attrs: map[string]string{"baseURL": `{"S":"https://x.example"}`}, field: "baseURL", problem: "did you mean `baseUrl`?"},
		{name: "bad agent id in pk", attrs: map[string]string{"pk": `{"S":"AGENT#a1"}`}, itemName: "AGENT#a1/CONFIG", field: "pk", problem: "24 lowercase hex"},
		{name: "http baseUrl", attrs: map[string]string{"baseUrl": `{"S":"http://api.ultimate.ai"}`}, field: "baseUrl", problem: "https://"},
		{name: "loopback lookalike baseUrl", attrs: map[string]string{"baseUrl": `{"S":"http://127.0.0.1:@evil.example.com/"}`}, field: "baseUrl", problem: "must not carry a user"},
		{name: "metadata baseUrl", attrs: map[string]string{"baseUrl": `{"S":"http://169.254.169.254/"}`}, field: "baseUrl", problem: "cloud metadata"},
		{name: "private baseUrl", attrs: map[string]string{"baseUrl": `{"S":"https://10.0.0.1/"}`}, field: "baseUrl", problem: "private"},
		{name: "localhost lookalike baseUrl", attrs: map[string]string{"baseUrl": `{"S":"http://localhost.evil.example.com/"}`}, field: "baseUrl", problem: "https://"},
		{name: "https without host", attrs: map[string]string{"baseUrl": `{"S":"https://"}`}, field: "baseUrl", problem: "https://"},
		{name: "ftp baseUrl", attrs: map[string]string{"baseUrl": `{"S":"ftp://api.ultimate.ai"}`}, field: "baseUrl", problem: "https://"},
		{name: "baseUrl a list", attrs: map[string]string{"baseUrl": `{"L":[]}`}, field: "baseUrl", problem: "must be a string"},
		{name: "missing webhookAuth", attrs: map[string]string{"webhookAuth": ""}, field: "webhookAuth", problem: "required"},
		{name: "webhookAuth a string", attrs: map[string]string{"webhookAuth": `{"S":"header"}`}, field: "webhookAuth", problem: "must be a map"},
		{name: "webhookAuth without scheme", attrs: map[string]string{"webhookAuth": `{"M":{}}`}, field: "webhookAuth", problem: "webhookAuth.scheme: required"},
		{name: "unknown webhookAuth scheme", attrs: map[string]string{"webhookAuth": `{"M":{"scheme":{"S":"magic"}}}`}, field: "webhookAuth", problem: `webhookAuth.scheme: unknown "magic"`},
		{name: "webhookAuth field for another scheme", attrs: map[string]string{"webhookAuth": `{"M":{"scheme":{"S":"token"},"prefix":{"S":"Bearer "}}}`}, field: "webhookAuth", problem: "webhookAuth.prefix"},
		{name: "webhookAuth scheme a number", attrs: map[string]string{"webhookAuth": `{"M":{"scheme":{"N":"1"}}}`}, field: "webhookAuth.scheme", problem: "must be a string"},
		{name: "teams a list", attrs: map[string]string{"teams": `{"L":[]}`}, field: "teams", problem: "must be a map"},
		{name: "bad agent id", attrs: map[string]string{"pk": `{"S":"AGENT#bad id"}`}, itemName: "AGENT#bad id/CONFIG", field: "pk", problem: "agent ID"},
		{name: "empty agent id", attrs: map[string]string{"pk": `{"S":"AGENT#"}`}, itemName: "AGENT#/CONFIG", field: "pk", problem: "agent ID"},
		{name: "wrong sk", attrs: map[string]string{"sk": `{"S":"ACTION#x"}`}, itemName: "AGENT#618a30beee4e8e87d2f94015/ACTION#x", field: "sk", problem: "an agent item"},
		{name: "source pk", attrs: map[string]string{"pk": `{"S":"SOURCE#generic#a"}`}, itemName: "SOURCE#generic#a/CONFIG", field: "pk", problem: "an agent item"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			_, err := ParseAgent(with(t, agentItem, tt.attrs), func(json.RawMessage) (any, error) { called = true; return nil, nil }, nil)
			n := tt.itemName
			if n == "" {
				n = name
			}
			wantItemError(t, err, n, tt.field, tt.problem)
			if called {
				t.Fatal("teams check called for an invalid item")
			}
		})
	}
}

func TestParseAgentTeamsCheck(t *testing.T) {
	_, err := ParseAgent(item(t, agentItem), func(json.RawMessage) (any, error) { return nil, errors.New("default.timezone: unknown zone") }, nil)
	wantItemError(t, err, "AGENT#618a30beee4e8e87d2f94015/CONFIG", "teams", "default.timezone: unknown zone")
	_, err = ParseAgent(item(t, agentItem), func(json.RawMessage) (any, error) {
		return nil, &strictjson.Error{Path: "default.timezone", Problem: "unknown field; did you mean `timeZone`?"}
	}, nil)
	wantItemError(t, err, "AGENT#618a30beee4e8e87d2f94015/CONFIG", "teams.default.timezone", "did you mean `timeZone`?")
}

const httpActionItem = `{
  "pk": {"S": "AGENT#618a30beee4e8e87d2f94015"}, "sk": {"S": "ACTION#lookupOrder"}, "kind": {"S": "http"},
  "description": {"S": "Order status"},
  "http": {"M": {"method": {"S": "GET"}, "url": {"S": "https://api.example.com/orders/{{data.orderId}}"},
    "timeoutMs": {"N": "3000"}, "results": {"L": [{"M": {"key": {"S": "status"}, "path": {"S": "order.status"}}}]}}}
}`

func TestParseAction(t *testing.T) {
	const rawHTTP = `{"method":"GET","results":[{"key":"status","path":"order.status"}],"timeoutMs":3000,"url":"https://api.example.com/orders/{{data.orderId}}"}`
	var checked *Action
	a, err := ParseAction(item(t, httpActionItem), func(a *Action, raw json.RawMessage) (any, error) {
		checked = a
		return "spec " + string(raw), nil
	})
	if err != nil {
		t.Fatalf("ParseAction: %v", err)
	}
	want := &Action{AgentID: "618a30beee4e8e87d2f94015", Name: "lookupOrder", Kind: ActionHTTP, Description: "Order status", Spec: "spec " + rawHTTP}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %+v\nwant %+v", a, want)
	}
	if checked != a {
		t.Fatal("hook not called with the parsed action")
	}
	if a, err := ParseAction(item(t, httpActionItem), nil); err != nil || string(a.Spec.(json.RawMessage)) != rawHTTP {
		t.Fatalf("no hook: %v %v", a, err)
	}

	var gotRaw json.RawMessage
	b, err := ParseAction(item(t, `{"pk":{"S":"AGENT#618a30beee4e8e87d2f94015"},"sk":{"S":"ACTION#tag.it-now_1"},"kind":{"S":"builtin"},"builtin":{"S":"addTags"}}`),
		func(_ *Action, raw json.RawMessage) (any, error) { gotRaw = raw; return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b, &Action{AgentID: "618a30beee4e8e87d2f94015", Name: "tag.it-now_1", Kind: ActionBuiltin, Builtin: "addTags"}) || gotRaw != nil {
		t.Fatalf("%+v raw %s", b, gotRaw)
	}
}

func TestParseActionErrors(t *testing.T) {
	const name = "AGENT#618a30beee4e8e87d2f94015/ACTION#lookupOrder"
	tests := []struct {
		name     string
		attrs    map[string]string
		itemName string
		field    string
		problem  string
	}{
		{name: "kind missing", attrs: map[string]string{"kind": ""}, field: "kind", problem: "required"},
		{name: "kind unknown", attrs: map[string]string{"kind": `{"S":"lambda"}`}, field: "kind", problem: "must be builtin or http"},
		{name: "kind a bool", attrs: map[string]string{"kind": `{"BOOL":true}`}, field: "kind", problem: "must be a string"},
		{name: "builtin missing", attrs: map[string]string{"kind": `{"S":"builtin"}`, "http": ""}, field: "builtin", problem: "required for kind builtin"},
		{name: "builtin empty", attrs: map[string]string{"kind": `{"S":"builtin"}`, "builtin": `{"S":""}`}, field: "builtin", problem: "required for kind builtin"},
		{name: "http missing", attrs: map[string]string{"http": ""}, field: "http", problem: "required for kind http"},
		{name: "http a string", attrs: map[string]string{"http": `{"S":"{}"}`}, field: "http", problem: "must be a map"},
		{name: "http on a builtin", attrs: map[string]string{"kind": `{"S":"builtin"}`, "builtin": `{"S":"addTags"}`}, field: "http", problem: "only for kind http"},
		{name: "builtin on an http action", attrs: map[string]string{"builtin": `{"S":"addTags"}`}, field: "builtin", problem: "only for kind builtin"},
		{name: "unknown attribute", attrs: map[string]string{"timeoutSecond": `{"N":"5"}`}, field: "timeoutSecond", problem: "unknown field (known: builtin, description, http, kind, pk, sk)"},
		{name: "wrong sk", attrs: map[string]string{"sk": `{"S":"CONFIG"}`}, itemName: "AGENT#618a30beee4e8e87d2f94015/CONFIG", field: "sk", problem: "an action item"},
		{name: "source pk", attrs: map[string]string{"pk": `{"S":"SOURCE#g#a"}`}, itemName: "SOURCE#g#a/ACTION#lookupOrder", field: "pk", problem: "an action item"},
		{name: "empty name", attrs: map[string]string{"sk": `{"S":"ACTION#"}`}, itemName: "AGENT#618a30beee4e8e87d2f94015/ACTION#", field: "sk", problem: "action name"},
		{name: "bad name", attrs: map[string]string{"sk": `{"S":"ACTION#look up"}`}, itemName: "AGENT#618a30beee4e8e87d2f94015/ACTION#look up", field: "sk", problem: "action name"},
		{name: "bad agent id", attrs: map[string]string{"pk": `{"S":"AGENT#a 1"}`}, itemName: "AGENT#a 1/ACTION#lookupOrder", field: "pk", problem: "agent ID"},
		{name: "short agent id", attrs: map[string]string{"pk": `{"S":"AGENT#a1"}`}, itemName: "AGENT#a1/ACTION#lookupOrder", field: "pk", problem: "24 lowercase hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			_, err := ParseAction(with(t, httpActionItem, tt.attrs), func(*Action, json.RawMessage) (any, error) { called = true; return nil, nil })
			n := tt.itemName
			if n == "" {
				n = name
			}
			wantItemError(t, err, n, tt.field, tt.problem)
			if called {
				t.Fatal("action check called for an invalid item")
			}
		})
	}
}

func TestParseActionCheck(t *testing.T) {
	const name = "AGENT#618a30beee4e8e87d2f94015/ACTION#lookupOrder"
	_, err := ParseAction(item(t, httpActionItem), func(*Action, json.RawMessage) (any, error) {
		return nil, errors.New("http.url: placeholders are not allowed in the host")
	})
	wantItemError(t, err, name, "", "http.url: placeholders are not allowed in the host")
	_, err = ParseAction(item(t, httpActionItem), func(*Action, json.RawMessage) (any, error) {
		return nil, &strictjson.Error{Path: "http.results[0].sanitise", Problem: "unknown field; did you mean `sanitize`?"}
	})
	wantItemError(t, err, name, "http.results[0].sanitise", "did you mean `sanitize`?")
}

func TestKeysOf(t *testing.T) {
	tests := []struct {
		json string
		kind Kind
	}{
		{`{"pk":{"S":"SOURCE#g#a"},"sk":{"S":"CONFIG"}}`, KindSource},
		{`{"pk":{"S":"AGENT#a"},"sk":{"S":"CONFIG"}}`, KindAgent},
		{`{"pk":{"S":"AGENT#a"},"sk":{"S":"ACTION#x"}}`, KindAction},
		{`{"pk":{"S":"SOURCE#g#a"},"sk":{"S":"ACTION#x"}}`, KindUnknown},
		{`{"pk":{"S":"OTHER"},"sk":{"S":"CONFIG"}}`, KindUnknown},
		{`{"pk":{"N":"1"},"sk":{"S":"CONFIG"}}`, KindUnknown},
		{`{}`, KindUnknown},
	}
	for _, tt := range tests {
		if _, _, k := KeysOf(item(t, tt.json)); k != tt.kind {
			t.Errorf("KeysOf(%s) kind %v, want %v", tt.json, k, tt.kind)
		}
	}
	if SourceKey("generic", "acme") != "SOURCE#generic#acme" || AgentKey("a") != "AGENT#a" || ActionSK("n") != "ACTION#n" || Name("p", "s") != "p/s" {
		t.Fatal("key helpers")
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		ok   []string
		bad  []string
	}{
		{name: "ValidAccount", fn: ValidAccount,
			ok:  []string{"acme", "A.b_c@d+e=f-g", strings.Repeat("a", 128), "...", ".a"},
			bad: []string{"", "a:b", "a#b", "a b", "a/b", strings.Repeat("a", 129), "é", ".", ".."}},
		{name: "ValidSourceName", fn: ValidSourceName,
			ok:  []string{"generic", "live-person2", "a"},
			bad: []string{"", "Generic", "2fa", "-x", "a_b", "a:b", strings.Repeat("a", 33)}},
		{name: "ValidAgentID", fn: ValidAgentID,
			ok:  []string{"618a30beee4e8e87d2f94015", "000000000000000000000000", "ffffffffffffffffffffffff"},
			bad: []string{"", "a_b-C", "a1", "618a30beee4e8e87d2f9401", "618a30beee4e8e87d2f940155", "618A30BEEE4E8E87D2F94015", "618a30beee4e8e87d2f9401g", strings.Repeat("a", 200000)}},
		{name: "ValidActionName", fn: ValidActionName,
			ok:  []string{"lookupOrder", "a.b-c_d", strings.Repeat("x", 64)},
			bad: []string{"", "a b", "a#b", "a/b", strings.Repeat("x", 65)}},
	}
	for _, tt := range tests {
		for _, s := range tt.ok {
			if !tt.fn(s) {
				t.Errorf("%s(%q) = false, want true", tt.name, s)
			}
		}
		for _, s := range tt.bad {
			if tt.fn(s) {
				t.Errorf("%s(%q) = true, want false", tt.name, s)
			}
		}
	}
}

func TestErrorString(t *testing.T) {
	if got := (&Error{Item: "I", Field: "f", Problem: "p"}).Error(); got != "item I: field f: p" {
		t.Errorf("%q", got)
	}
	if got := (&Error{Item: "I", Problem: "p"}).Error(); got != "item I: p" {
		t.Errorf("%q", got)
	}
}
