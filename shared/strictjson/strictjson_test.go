package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type rule struct {
	Field    string `json:"field"`
	Sanitize bool   `json:"sanitize,omitempty"`
}

type inner struct {
	Prefix string `json:"prefix"`
}

type base struct {
	Shared string `json:"shared"`
}

type target struct {
	base
	Name      string            `json:"name"`
	Enabled   *bool             `json:"enabled"`
	Count     int               `json:"count"`
	Small     int8              `json:"small"`
	Ratio     float64           `json:"ratio"`
	Rules     []rule            `json:"rules"`
	Auth      inner             `json:"webhookAuth"`
	Ptr       *inner            `json:"ptr"`
	Labels    map[string]string `json:"labels"`
	Teams     map[string]*rule  `json:"teams"`
	Body      json.RawMessage   `json:"body"`
	Any       any               `json:"any"`
	Blob      []byte            `json:"blob"`
	NoTag     string
	Skipped   string `json:"-"`
	unexposed string // must not become a field
}

func TestDecodeAccepts(t *testing.T) {
	var v target
	err := Decode([]byte(`{"shared":"s","name":"n","enabled":true,"count":-3,"small":127,"ratio":1.5,
		"rules":[{"field":"email","sanitize":true}],"webhookAuth":{"prefix":"Bearer "},"ptr":{"prefix":"p"},
		"labels":{"any key":"v"},"teams":{"t1":{"field":"f"},"t2":null},"body":{"free":{"form":[1]}},"any":[1,"x"],
		"blob":"aGk=","NoTag":"x","enabeled":null}`), &v)
	// enabledNull is unknown even though it is null: a typo is a typo.
	wantError(t, err, "enabeled", "unknown field; did you mean `enabled`?")

	v = target{}
	if err := Decode([]byte(`{"shared":"s","name":"n","enabled":true,"count":-3,"rules":[{"field":"email","sanitize":true}],
		"webhookAuth":{"prefix":"Bearer "},"labels":{"any key":"v"},"body":{"free":1},"blob":"aGk=","NoTag":"x","ratio":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Shared != "s" || !*v.Enabled || v.Count != -3 || !v.Rules[0].Sanitize || v.Auth.Prefix != "Bearer " ||
		v.Labels["any key"] != "v" || string(v.Body) != `{"free":1}` || string(v.Blob) != "hi" || v.NoTag != "x" {
		t.Fatalf("%+v", v)
	}
	for _, empty := range []string{"", "  ", "{}", "null"} {
		var e target
		if err := Decode([]byte(empty), &e); err != nil {
			t.Errorf("Decode(%q): %v", empty, err)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	_ = target{}.unexposed // the field exists only to be refused
	tests := []struct {
		name, in, path, problem string
	}{
		{"typo at the top", `{"enabeld":true}`, "enabeld", "unknown field; did you mean `enabled`?"},
		{"typo in a list element", `{"rules":[{"field":"a"},{"field":"b","sanitise":true}]}`, "rules[1].sanitise", "did you mean `sanitize`?"},
		{"typo in a nested map", `{"webhookAuth":{"prefx":"Bearer "}}`, "webhookAuth.prefx", "did you mean `prefix`?"},
		{"typo under a pointer", `{"ptr":{"prefixx":"p"}}`, "ptr.prefixx", "did you mean `prefix`?"},
		{"typo in a map value", `{"teams":{"t1":{"feild":"f"}}}`, "teams.t1.feild", "did you mean `field`?"},
		{"case differs", `{"Name":"x"}`, "Name", "did you mean `name`?"},
		{"embedded field typo", `{"shraed":"x"}`, "shraed", "did you mean `shared`?"},
		{"far from everything", `{"zzzzzzzz":1}`, "zzzzzzzz", "unknown field (known: NoTag, any, blob, body, count, enabled, labels, name, ptr, ratio, rules, shared, small, teams, webhookAuth)"},
		{"skipped field is unknown", `{"Skipped":"x"}`, "Skipped", "unknown field"},
		{"unexported field is unknown", `{"unexposed":"x"}`, "unexposed", "unknown field"},
		{"string for bool", `{"enabled":"true"}`, "enabled", "must be a boolean (true or false), got a string"},
		{"number for string", `{"name":5}`, "name", "must be a string, got a number"},
		{"fraction for int", `{"count":1.5}`, "count", "must be a whole number, got 1.5"},
		{"int8 overflow", `{"small":128}`, "small", "must be a whole number, got 128"},
		{"huge int", `{"count":1e400}`, "count", "must be a whole number"},
		{"string for number", `{"ratio":"1"}`, "ratio", "must be a number, got a string"},
		{"list for map", `{"labels":["a"]}`, "labels", "must be a map, got a list"},
		{"map for list", `{"rules":{"field":"a"}}`, "rules", "must be a list, got a map"},
		{"number in a string map", `{"labels":{"a":1}}`, "labels.a", "must be a string, got a number"},
		{"scalar for struct", `{"webhookAuth":"header"}`, "webhookAuth", "must be a map, got a string"},
		{"list element type", `{"rules":["email"]}`, "rules[0]", "must be a map, got a string"},
		{"bad base64 type", `{"blob":[1]}`, "blob", "must be a base64 string, got a list"},
		{"bad base64", `{"blob":"!!"}`, "", "illegal base64"},
		{"top level not a map", `[1]`, "", "must be a map, got a list"},
		{"not JSON", `{"name":`, "", "not valid JSON"},
		{"trailing data", `{} {}`, "", "unexpected data after the value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v target
			wantError(t, Decode([]byte(tt.in), &v), tt.path, tt.problem)
		})
	}
}

func wantError(t *testing.T, err error, path, problem string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *strictjson.Error", err, err)
	}
	if e.Path != path || !strings.Contains(e.Problem, problem) {
		t.Fatalf("got path %q problem %q; want %q containing %q", e.Path, e.Problem, path, problem)
	}
}

func TestTypeErrorKinds(t *testing.T) {
	var v target
	var e *Error
	if !errors.As(Decode([]byte(`{"count":"x"}`), &v), &e) || e.Want != "integer" || e.Got != "string" {
		t.Fatalf("%+v", e)
	}
	if !errors.As(Under("p", Decode([]byte(`{"rules":[true]}`), &v)), &e) || e.Path != "p.rules[0]" || e.Want != "map" || e.Got != "boolean" {
		t.Fatalf("%+v", e)
	}
}

func TestDecodeNeedsPointer(t *testing.T) {
	var v target
	if err := Decode([]byte(`{}`), v); err == nil {
		t.Fatal("non-pointer accepted")
	}
	var p *target
	if err := Decode([]byte(`{}`), p); err == nil {
		t.Fatal("nil pointer accepted")
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"callbackUrl", "closeOnEnd", "enabled", "prefix", "sanitize", "timeoutSeconds", "id", "ip"}
	tests := []struct{ in, want string }{
		{"sanitise", "sanitize"},
		{"prefx", "prefix"},
		{"enabeld", "enabled"},
		{"timeoutSecond", "timeoutSeconds"},
		{"closeOnEnds", "closeOnEnd"},
		{"callbackURL", "callbackUrl"},
		{"CALLBACKURL", "callbackUrl"},
		{"callbakUrll", "callbackUrl"},
		{"ix", "id"}, // tie: alphabetical first
		{"xy", ""},   // two edits on a short name is no typo
		{"timeout", ""},
		{"", ""},
		{strings.Repeat("a", 10000), ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.in, known); got != tt.want {
			t.Errorf("Suggest(%.20q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if Suggest("x", nil) != "" {
		t.Error("suggestion from nothing")
	}
}

func TestUnderAndJoin(t *testing.T) {
	err := Under("settings", &Error{Path: "rules[0].field", Problem: "p"})
	if err.Error() != "settings.rules[0].field: p" {
		t.Fatalf("%v", err)
	}
	if Under("http", &Error{Path: "[2]", Problem: "p"}).Error() != "http[2]: p" {
		t.Fatal("index join")
	}
	if Under("x", &Error{Problem: "p"}).Error() != "x: p" {
		t.Fatal("empty path")
	}
	plain := errors.New("plain")
	if Under("x", plain) != plain {
		t.Fatal("non-strict errors pass through")
	}
	if (&Error{Problem: "whole"}).Error() != "whole" {
		t.Fatal("no path")
	}
}

func TestUnknownWithoutFields(t *testing.T) {
	var v struct{}
	wantError(t, Decode([]byte(`{"a":1}`), &v), "a", "this map takes no fields")
}
