package inbound

import (
	"fmt"
	"testing"

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

func TestParamAttrs(t *testing.T) {
	got := paramAttrs(SessionParams([]tenant.MetaRule{{Field: "plan"}, {Field: "email", Sanitize: true}}, map[string]string{"plan": "gold", "email": "ann@example.com"}, nil))
	want := map[string]string{state.ParamPrefix + "plan": "gold", state.ParamPrefix + "email": state.Masked}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v (sanitized values are never kept)", got, want)
	}
	if !sameParams(map[string]string{state.ParamPrefix + "plan": "gold", "a": "b"}, map[string]string{state.ParamPrefix + "plan": "gold"}) ||
		sameParams(map[string]string{state.ParamPrefix + "plan": "silver"}, map[string]string{state.ParamPrefix + "plan": "gold"}) {
		t.Fatal("sameParams")
	}
}
