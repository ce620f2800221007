// Package teams answers the AI agent's isTeamOnline question from an agent's
// team configuration: weekly opening hours in an IANA time zone with holiday
// dates, a fixed value, or a callback to the tenant.
package teams

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Lambda's minimal images may lack zoneinfo; embed it.

	"github.com/crmbridge/crmbridge/shared/strictjson"
)

// Modes of a team.
const (
	ModeSchedule = "schedule"
	ModeFixed    = "fixed"
	ModeCallback = "callback"
)

// DefaultTeam is used when the AI agent names no team, or one without its own entry.
const DefaultTeam = "default"

// Team is one team's availability rule.
type Team struct {
	Mode string `json:"mode"`
	// schedule
	TimeZone string              `json:"timeZone,omitempty"`
	Hours    map[string][]string `json:"hours,omitempty"`    // mon..sun → ["09:00-17:00", ...]
	Holidays []string            `json:"holidays,omitempty"` // YYYY-MM-DD in TimeZone
	// fixed
	Online *bool `json:"online,omitempty"`
	// callback: ask the tenant through a source account's adapter
	Source  string `json:"source,omitempty"`
	Account string `json:"account,omitempty"`

	loc      *time.Location
	ranges   map[time.Weekday][]span
	holidays map[string]bool
}

type span struct{ from, to int } // minutes after local midnight, to may be 1440

// Config maps team IDs to rules.
type Config map[string]*Team

var days = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse decodes and validates the agent item's teams map, strictly: an
// unknown field is refused. Errors are *strictjson.Error values whose path
// starts at the map, e.g. "support.timeZone"; the tenant loader prefixes
// "teams.". It is the tenant.Hooks.Teams hook, through the app's wiring.
func Parse(raw json.RawMessage) (Config, error) {
	c := Config{}
	if len(raw) == 0 {
		return c, nil
	}
	if err := strictjson.Decode(raw, &c); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := c[id].compile(); err != nil {
			var fe *fieldErr
			if errors.As(err, &fe) {
				return nil, &strictjson.Error{Path: strictjson.Join(id, fe.field), Problem: fe.problem}
			}
			return nil, err
		}
	}
	return c, nil
}

// Of returns an agent's parsed teams (tenant.Agent.Teams): what Parse
// returned when the agent item was loaded, or an empty Config when the
// item has none.
func Of(agentTeams any) (Config, error) {
	switch c := agentTeams.(type) {
	case nil:
		return Config{}, nil
	case Config:
		return c, nil
	default:
		return nil, fmt.Errorf("teams are %T, not parsed by teams.Parse (load agents through tenant.Loader with the teams hook)", agentTeams)
	}
}

type fieldErr struct{ field, problem string }

func (e *fieldErr) Error() string { return e.field + ": " + e.problem }

func (t *Team) compile() error {
	if t == nil {
		return &fieldErr{"mode", "required"}
	}
	switch t.Mode {
	case ModeFixed:
		if t.Online == nil {
			return &fieldErr{"online", "required for mode fixed (true or false)"}
		}
	case ModeCallback:
		if t.Source == "" || t.Account == "" {
			return &fieldErr{"source", "mode callback needs source and account (the account whose adapter answers)"}
		}
	case ModeSchedule:
		loc, err := time.LoadLocation(t.TimeZone)
		if err != nil || t.TimeZone == "" {
			return &fieldErr{"timeZone", fmt.Sprintf("must be an IANA time zone such as Europe/Berlin, got %q", t.TimeZone)}
		}
		t.loc = loc
		t.ranges = map[time.Weekday][]span{}
		for d, list := range t.Hours {
			wd, ok := days[strings.ToLower(d)]
			if !ok {
				return &fieldErr{"hours." + d, "day must be one of mon tue wed thu fri sat sun"}
			}
			for i, r := range list {
				s, err := parseSpan(r)
				if err != nil {
					return &fieldErr{fmt.Sprintf("hours.%s[%d]", d, i), err.Error()}
				}
				t.ranges[wd] = append(t.ranges[wd], s)
			}
		}
		t.holidays = map[string]bool{}
		for i, h := range t.Holidays {
			if _, err := time.Parse(time.DateOnly, h); err != nil {
				return &fieldErr{fmt.Sprintf("holidays[%d]", i), "must be a date YYYY-MM-DD"}
			}
			t.holidays[h] = true
		}
	case "":
		return &fieldErr{"mode", "required: schedule, fixed or callback"}
	default:
		return &fieldErr{"mode", fmt.Sprintf("unknown %q: schedule, fixed or callback", t.Mode)}
	}
	return nil
}

func parseSpan(s string) (span, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return span{}, errors.New(`must be "HH:MM-HH:MM"`)
	}
	from, err1 := parseClock(a)
	to, err2 := parseClock(b)
	if err1 != nil || err2 != nil {
		return span{}, errors.New(`must be "HH:MM-HH:MM" with times 00:00 to 24:00`)
	}
	if to <= from {
		return span{}, errors.New("end must be after start (split ranges that cross midnight)")
	}
	return span{from, to}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, errors.New("bad time")
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, errors.New("bad time")
	}
	return hh*60 + mm, nil
}

// Lookup returns the rule for teamID, falling back to the default team.
func (c Config) Lookup(teamID string) (*Team, string, bool) {
	if teamID != "" {
		if t, ok := c[teamID]; ok {
			return t, teamID, true
		}
	}
	t, ok := c[DefaultTeam]
	return t, DefaultTeam, ok
}

// OpenAt reports whether a schedule or fixed team is online at now. The
// wall clock of the team's zone decides, so DST changes move the hours with
// the local clock.
func (t *Team) OpenAt(now time.Time) bool {
	switch t.Mode {
	case ModeFixed:
		return *t.Online
	case ModeSchedule:
		local := now.In(t.loc)
		if t.holidays[local.Format(time.DateOnly)] {
			return false
		}
		mins := local.Hour()*60 + local.Minute()
		for _, s := range t.ranges[local.Weekday()] {
			if mins >= s.from && mins < s.to {
				return true
			}
		}
		return false
	default:
		return false
	}
}
