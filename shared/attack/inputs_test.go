package attack_test

import (
	"fmt"
	"strings"
	"testing"
)

// limitProbes are the skeleton's refusals every entry point must give: an
// oversized body or header set, a body flagged base64 that is not, a
// malformed query string. They are built on the entry's first control
// request, so nothing but the one fault is wrong with them.
func limitProbes(s slot) []probe {
	mutate := func(name string, want []string, f func(r *request)) probe {
		return probe{name: name, want: want, free: true, send: func(e *env) answer {
			r := s.place(e, s.good(e))
			f(&r)
			return e.do(r)
		}}
	}
	return []probe{
		mutate("300 KB body", nil, func(r *request) { r.body = []byte(`{"pad":"` + strings.Repeat("p", 300<<10) + `"}`) }),
		mutate("11 KB of headers", nil, func(r *request) {
			if r.header == nil {
				r.header = map[string]string{}
			}
			r.header["x-pad"] = strings.Repeat("h", 11<<10)
		}),
		mutate("flagged base64, is not", []string{"base64"}, func(r *request) { r.body, r.b64 = []byte("%%%not base64"), true }),
		mutate("malformed query string", []string{"query"}, func(r *request) { r.query = "a=%zz" }),
	}
}

// TestAttackInputs: every bad input at every entry point is a 4xx with a
// JSON error that names the problem. IDs that are malformed cost no
// DynamoDB or Secrets Manager call, and no bad input writes state, reaches
// a vendor or panics. Each slot's control (its good value) must succeed,
// so the refusals are the rules' and not a broken request's.
func TestAttackInputs(t *testing.T) {
	w := newWorld(t)
	tl := &tally{class: "inputs"}
	var freeCalls, controls int
	for _, en := range entries() {
		e := w.env(t, envOptions{})
		var probes []probe
		for _, s := range en.slots {
			ctl := s.control()
			a := ctl.send(e)
			controls++
			if a.panicked != nil || a.status < 200 || a.status > 299 {
				t.Errorf("%s %s: control not accepted: %s", en.name, ctl.name, a)
			}
			probes = append(probes, s.probes()...)
		}
		if len(en.slots) > 0 && en.slots[0].place != nil {
			probes = append(probes, limitProbes(en.slots[0])...)
		}
		probes = append(probes, en.probes...)
		for _, p := range probes {
			what := en.name + " " + p.name
			before, vendorBefore, outsideBefore := e.cost(), w.vendor.count(), w.outside()
			a := p.send(e)
			spent := e.cost().minus(before)
			var problem string
			switch {
			case a.panicked != nil:
			case a.fn != en.fn:
				problem = fmt.Sprintf("served by %s, not %s", a.fn, en.fn)
			case !is4xxJSON(a, p.want...):
				problem = fmt.Sprintf("not a 4xx JSON error naming %v", p.want)
			case p.free && (spent.db != 0 || spent.sm != 0):
				problem = fmt.Sprintf("malformed input cost %d DynamoDB and %d Secrets Manager calls", spent.db, spent.sm)
			case spent.dbWrites != 0:
				problem = fmt.Sprintf("bad input wrote state (%d writes)", spent.dbWrites)
			case w.vendor.count() != vendorBefore || w.outside() != outsideBefore:
				problem = "bad input reached a vendor"
			}
			if p.free {
				freeCalls += spent.db + spent.sm
			}
			tl.add(t, what, a, problem, secretsIn(a.body))
		}
		checkLogs(t, en.name, e)
	}
	tl.leaks += w.checkVendorPaths(t)
	tl.note("controls=%d malformed_id_aws_calls=%d", controls, freeCalls)
	tl.report(t)
}

// checkLogs holds what the bridge logged to the rules: one JSON object a
// line (no injected line breaks), no attribute over 1 KiB (no input logged
// whole), no secret.
func checkLogs(t *testing.T, what string, e *env) {
	t.Helper()
	n, leaks, broken := e.logs.counts()
	if leaks != 0 || broken != 0 {
		t.Errorf("%s: %d of %d log lines held a secret, %d were not one JSON line", what, leaks, n, broken)
	}
	for _, line := range e.logs.all() {
		if long := longestValue(line); long > 1024 {
			t.Errorf("%s: a log attribute holds %d characters: %.200s", what, long, line)
		}
	}
}
