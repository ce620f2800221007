package teams

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/strictjson"
)

func mustParse(t *testing.T, s string) Config {
	t.Helper()
	c, err := Parse(json.RawMessage(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestOpenAtAcrossDST(t *testing.T) {
	// Berlin switches to summer time on Sunday 2026-03-29 (02:00 → 03:00):
	// opening hours follow the local clock, so the UTC instants move by an hour.
	c := mustParse(t, `{"default":{"mode":"schedule","timeZone":"Europe/Berlin","hours":{"mon":["09:00-17:00"],"fri":["09:00-17:00"]},"holidays":["2026-12-25"]}}`)
	team, _, _ := c.Lookup("")
	tests := []struct {
		name string
		utc  string
		want bool
	}{
		{"Friday before DST, 09:30 CET = 08:30 UTC", "2026-03-27T08:30:00Z", true},
		{"Friday before DST, 08:59 CET", "2026-03-27T07:59:00Z", false},
		{"Monday after DST, 08:30 UTC = 10:30 CEST", "2026-03-30T08:30:00Z", true},
		{"Monday after DST, 07:30 UTC = 09:30 CEST", "2026-03-30T07:30:00Z", true},
		{"Monday after DST, 06:59 UTC = 08:59 CEST", "2026-03-30T06:59:00Z", false},
		{"Monday after DST, 15:00 UTC = 17:00 CEST (closed at end)", "2026-03-30T15:00:00Z", false},
		{"Monday after DST, 14:59 UTC = 16:59 CEST", "2026-03-30T14:59:00Z", true},
		{"Sunday (no hours)", "2026-03-29T10:00:00Z", false},
		{"holiday Friday 2026-12-25", "2026-12-25T10:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tt.utc)
			if got := team.OpenAt(at); got != tt.want {
				t.Fatalf("OpenAt(%s) = %v, want %v", tt.utc, got, tt.want)
			}
		})
	}
}

func TestLookupFallsBackToDefault(t *testing.T) {
	c := mustParse(t, `{"default":{"mode":"fixed","online":false},"sales":{"mode":"fixed","online":true}}`)
	if tm, id, _ := c.Lookup("sales"); id != "sales" || !tm.OpenAt(time.Now()) {
		t.Fatalf("sales: id=%s", id)
	}
	if tm, id, _ := c.Lookup("unknown"); id != DefaultTeam || tm.OpenAt(time.Now()) {
		t.Fatalf("unknown: id=%s", id)
	}
	if _, _, ok := mustParse(t, `{"x":{"mode":"fixed","online":true}}`).Lookup("y"); ok {
		t.Fatal("no default team: want not found")
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	tests := []struct{ raw, path, problem string }{
		{`{"a":{"mode":"schedule","timeZone":"Mars/Base"}}`, "a.timeZone", "IANA time zone"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","hours":{"mon":["9-17"]}}}`, "a.hours.mon[0]", "HH:MM"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","hours":{"funday":["09:00-17:00"]}}}`, "a.hours.funday", "day must be"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","hours":{"mon":["17:00-09:00"]}}}`, "a.hours.mon[0]", "end must be after start"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","holidays":["25/12/2026"]}}`, "a.holidays[0]", "YYYY-MM-DD"},
		{`{"a":{"mode":"fixed"}}`, "a.online", "required"},
		{`{"a":{"mode":"callback"}}`, "a.source", "needs source and account"},
		{`{"a":{"mode":"sometimes"}}`, "a.mode", "unknown"},
		{`{"a":{}}`, "a.mode", "required"},
		{`{"a":null}`, "a.mode", "required"},
		{`{"a":{"mode":"schedule","timezone":"UTC"}}`, "a.timezone", "unknown field; did you mean `timeZone`?"},
		{`{"a":{"mode":"fixed","online":true,"onlin":true}}`, "a.onlin", "did you mean `online`?"},
		{`{"a":{"mode":"fixed","online":"yes"}}`, "a.online", "must be a boolean"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","hours":{"mon":"09:00-17:00"}}}`, "a.hours.mon", "must be a list"},
		{`[1,2]`, "", "must be a map"},
	}
	for _, tt := range tests {
		_, err := Parse(json.RawMessage(tt.raw))
		var e *strictjson.Error
		if !errors.As(err, &e) || e.Path != tt.path || !strings.Contains(e.Problem, tt.problem) {
			t.Errorf("Parse(%s) = %v, want path %q with %q", tt.raw, err, tt.path, tt.problem)
		}
	}
}

func TestOf(t *testing.T) {
	c := mustParse(t, `{"default":{"mode":"fixed","online":true}}`)
	if got, err := Of(c); err != nil || got["default"] == nil {
		t.Fatalf("Of(parsed) = %v, %v", got, err)
	}
	if got, err := Of(nil); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Of(nil) = %v, %v", got, err)
	}
	if _, err := Of(json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), "not parsed by teams.Parse") {
		t.Fatalf("Of(raw) = %v", err)
	}
}

func TestMidnightEnd(t *testing.T) {
	c := mustParse(t, `{"default":{"mode":"schedule","timeZone":"UTC","hours":{"wed":["20:00-24:00"]}}}`)
	team, _, _ := c.Lookup("")
	at, _ := time.Parse(time.RFC3339, "2026-11-25T23:59:00Z")
	if !team.OpenAt(at) {
		t.Fatal("23:59 on Wednesday should be open until 24:00")
	}
}
