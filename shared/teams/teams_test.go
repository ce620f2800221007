package teams

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
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
	tests := []struct{ raw, want string }{
		{`{"a":{"mode":"schedule","timeZone":"Mars/Base"}}`, "teams.a.timeZone"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","hours":{"mon":["9-17"]}}}`, "teams.a.hours.mon[0]"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","hours":{"funday":["09:00-17:00"]}}}`, "teams.a.hours.funday"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","hours":{"mon":["17:00-09:00"]}}}`, "end must be after start"},
		{`{"a":{"mode":"schedule","timeZone":"UTC","holidays":["25/12/2026"]}}`, "teams.a.holidays[0]"},
		{`{"a":{"mode":"fixed"}}`, "teams.a.online"},
		{`{"a":{"mode":"callback"}}`, "teams.a.source"},
		{`{"a":{"mode":"sometimes"}}`, "teams.a.mode"},
		{`{"a":{}}`, "teams.a.mode"},
		{`[1,2]`, "teams: must be a map"},
	}
	for _, tt := range tests {
		_, err := Parse(json.RawMessage(tt.raw))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want error containing %q", tt.raw, err, tt.want)
		}
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
