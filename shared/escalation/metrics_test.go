package escalation_test

import (
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/obs/obstest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/sourcetest"
)

// A failed handover is one HandoverFailures (by source and code, counted
// by shared/handover), which the template's alarm watches; a successful
// one is none.
func TestHandoverFailuresMetric(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  bool
		count int
	}{{"refused", true, 1}, {"handed over", false, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.fail {
				failWith(&egress.StatusError{Op: "handover", Status: 422})(e)
			}
			e.Invoke(t, route.WebhookEscalation, escalate("billing"))
			n := 0
			for _, m := range obstest.Metrics(strings.Split(e.Logs(), "\n")) {
				if m.Name == "HandoverFailures" {
					n++
					if m.Dimensions[0]["Source"] != sourcetest.Name || m.Dimensions[0]["Code"] != "handover_rejected" {
						t.Fatalf("dimensions %v", m.Dimensions)
					}
				}
			}
			if n != tc.count {
				t.Fatalf("%d HandoverFailures, want %d", n, tc.count)
			}
		})
	}
}
