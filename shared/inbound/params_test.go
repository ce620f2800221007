package inbound

import (
	"fmt"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

func TestSessionParams(t *testing.T) {
	user := map[string]string{"name": "Ann", "email": "ann@example.com", "customer_id": "c-1", "locale": "de", "empty": ""}
	params := map[string]string{"plan": "gold", "locale": "fr"}
	tests := []struct {
		name  string
		rules []tenant.MetaRule
		want  string
	}{
		{"no rules: every field, personal ones sanitized, user wins over parameters, sorted", nil,
			"[{customer_id c-1 true} {email ann@example.com true} {locale de false} {name Ann true} {plan gold false}]"},
		{"rules: only listed fields, renamed, flags as given, in rule order",
			[]tenant.MetaRule{{Field: "plan", Key: "customerPlan"}, {Field: "email", Sanitize: true}, {Field: "missing"}, {Field: "empty"}},
			"[{customerPlan gold false} {email ann@example.com true}]"},
		{"a rule may leave personal data unsanitized on purpose",
			[]tenant.MetaRule{{Field: "name"}}, "[{name Ann false}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(SessionParams(tt.rules, user, params)); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestConvChange(t *testing.T) {
	tests := []struct {
		kind            source.EventKind
		status          string
		refuseEscalated bool
	}{
		{source.Started, state.ConvActive, false},
		{source.Message, state.ConvActive, true},
		{source.Ended, state.ConvEnded, false},
		{source.HandedBack, state.ConvEnded, false},
		{source.Metadata, "", false},
		{source.AgentMessage, "", false},
	}
	for _, tt := range tests {
		c := convChange(tt.kind, "generic:a:c", "agent")
		if c.SetStatus != tt.status || c.RefuseEscalated != tt.refuseEscalated || c.PCID != "generic:a:c" || c.AgentID != "agent" {
			t.Errorf("%s: %+v", tt.kind, c)
		}
	}
}
