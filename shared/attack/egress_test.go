package attack_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
)

// caller is one outbound call of the bridge, made through the wiring by
// the request that causes it, and the item URL it goes to.
type caller struct {
	name string
	// url is the urls field the call goes to; suffix completes an
	// internal URL put there to make a valid item of the kind.
	url    func(u *urls) *string
	suffix string
	call   func(e *env) answer
}

func viaWebhook(path string, body func(e *env) []byte) func(e *env) answer {
	return func(e *env) answer { return e.do(webhook(tenantA, path, body(e))) }
}

func converseA(typ, pcid string, extra map[string]any) map[string]any {
	m := map[string]any{"eventType": typ, "platformConversationId": pcid, "text": "your code is " + tenantA.marker}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// callers are every outbound caller of the bridge.
func callers() []caller {
	agent := func(u *urls) *string { return &u.agent }
	callback := func(u *urls) *string { return &u.callback }
	sunshine := func(u *urls) *string { return &u.sunshine }
	lp := func(u *urls) *string { return &u.liveperson }
	jwks := func(u *urls) *string { return &u.jwks }
	action := func(u *urls) *string { return &u.action }
	msg := func(src, acct string) func(e *env) []byte {
		return func(e *env) []byte {
			return converse(agentA, converseA("sendMessage", src+":"+acct+":"+e.conv(), map[string]any{"messageId": fmt.Sprintf("m-%d", e.next())}))
		}
	}
	ev := func(typ, src, acct string, extra map[string]any) func(e *env) []byte {
		return func(e *env) []byte { return converse(agentA, converseA(typ, src+":"+acct+":"+e.conv(), extra)) }
	}
	act := func(name, src, acct string) func(e *env) []byte {
		return func(e *env) []byte {
			return actionCall(agentA, name, src+":"+acct+":"+e.conv(), param("id", "o-1"), param("tags", "vip"), param("ref", "r"), param("note", "n"))
		}
	}
	a := tenantA
	return []caller{
		{"Chat API", agent, "", func(e *env) answer { return e.do(e.genericA(fmt.Sprintf("evt-%d", e.next()), e.conv())) }},
		{"widget API", agent, "", func(e *env) answer {
			return e.do(e.genericReq(a.generic, a.inboundKey, fmt.Sprintf("evt-%d", e.next()), generic.TypeAgentJoined,
				generic.InboundData{ConversationID: e.conv(), Agent: &generic.AgentInfo{Name: "Sam"}}))
		}},
		{"generic callback: message", callback, "/cb", viaWebhook("/webhooks/message", msg(generic.Name, a.generic))},
		{"generic callback: escalation", callback, "/cb", viaWebhook("/webhooks/escalation", ev("escalate", generic.Name, a.generic, nil))},
		{"generic callback: team status", callback, "/cb", viaWebhook("/webhooks/escalation", func(e *env) []byte {
			return converse(agentA, map[string]any{"eventType": "isTeamOnline", "teamId": "desk"})
		})},
		{"generic callback: action", callback, "/cb", viaWebhook("/webhooks/action", act("forward", generic.Name, a.generic))},
		{"generic callback: widget escalation", callback, "/cb", viaWebhook("/webhooks/escalation", ev("widgetEscalate", generic.Name, a.generic, nil))},
		{"generic callback: widget message", callback, "/cb", viaWebhook("/webhooks/message", ev("widgetMessage", generic.Name, a.generic, nil))},
		{"Sunshine: message", sunshine, "", viaWebhook("/webhooks/message", msg("sunshine", a.sunshine))},
		{"Sunshine: passControl", sunshine, "", viaWebhook("/webhooks/escalation", ev("escalate", "sunshine", a.sunshine, nil))},
		{"Sunshine: tags", sunshine, "", viaWebhook("/webhooks/action", act("tags", "sunshine", a.sunshine))},
		{"LivePerson: login and message", lp, "", viaWebhook("/webhooks/message", msg("liveperson", a.lp))},
		{"LivePerson: transfer", lp, "", viaWebhook("/webhooks/escalation", ev("escalate", "liveperson", a.lp, nil))},
		{"LivePerson: key set", jwks, "/jwks", func(e *env) answer {
			s := &lptest.Sentinel{Account: a.lpJWKS, Key: sentinelA().Key, KID: sentinelA().KID}
			bearer, _ := s.Bearer(e.clock.Now())
			return e.do(lpReq(lptest.Endpoint{Account: a.lpJWKS, BotID: a.lpBot, Authorization: bearer}.Text(e.conv(), 1, "hi")))
		}},
		{"action call-out", action, "/orders/{{data.id}}", viaWebhook("/webhooks/action", act("lookup", generic.Name, a.generic))},
	}
}

// TestAttackOutboundControl: every caller reaches the vendor and succeeds
// when the vendor answers as it should, so the refusals of the tests below
// are the redirect rule's and the address guard's, not a broken set-up.
// Only the named values of an action's answer reach the AI agent.
func TestAttackOutboundControl(t *testing.T) {
	w := newWorld(t)
	for _, c := range callers() {
		e := w.env(t, envOptions{})
		before := w.vendor.count()
		a := c.call(e)
		if a.status < 200 || a.status > 299 || w.vendor.count() == before {
			t.Errorf("%s: %s, the vendor got %d requests", c.name, a, w.vendor.count()-before)
		}
		if strings.Contains(a.body, piiEmail) || secretsIn(a.body) != 0 {
			t.Errorf("%s: the answer carries the vendor's answer or a secret: %s", c.name, a)
		}
	}
	if w.outside() != 0 {
		t.Fatalf("the attacker or the canary was reached by well-behaved calls")
	}
}

// TestAttackRedirects: every outbound caller, its vendor answering every
// request with a redirect (each 3xx) to another origin or to an internal
// address, sends nothing there: the redirect is not followed, the call
// fails, and no secret or message reaches the target.
func TestAttackRedirects(t *testing.T) {
	w := newWorld(t)
	t.Cleanup(func() { w.vendor.set(vendorOK) })
	canary := fmt.Sprint(w.canary.addr().Port())
	targets := []string{
		w.attacker.URL + "/steal",
		"http://127.0.0.1:" + canary + "/2018-06-01/runtime/invocation/next",
		"http://localhost:" + canary + "/",
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"https://rebind.attacker.example:" + canary + "/",
	}
	tl := &tally{class: "redirects"}
	for _, c := range callers() {
		for _, code := range []int{301, 302, 303, 307, 308} {
			for _, loc := range targets {
				w.vendor.set(func(rw http.ResponseWriter, r *http.Request) {
					rw.Header().Set("Location", loc)
					rw.WriteHeader(code)
				})
				e := w.env(t, envOptions{})
				vendorBefore, outsideBefore := w.vendor.count(), w.outside()
				a := c.call(e)
				var problem string
				switch {
				case a.panicked != nil:
				case a.status < 400:
					problem = "the call did not fail"
				case w.vendor.count() == vendorBefore:
					problem = "the vendor was not called: the test proves nothing"
				case w.outside() != outsideBefore:
					problem = "the redirect was followed"
				}
				tl.add(t, fmt.Sprintf("%s, %d to %s", c.name, code, loc), a, problem, w.outside()-outsideBefore)
				checkLogs(t, c.name, e)
			}
		}
	}
	secrets := append(tenantA.secretValues(), tenantB.secretValues()...)
	tl.leaks += w.attacker.copies(append(secrets, tenantA.marker)...) + w.canary.copies(secrets...)
	tl.report(t)
}

// internalURLs are item URLs that point inside, literally or through DNS;
// each is refused by the item check or by the guard at dial time.
func (w *world) internalURLs() []string {
	p := fmt.Sprint(w.canary.addr().Port())
	return []string{
		"http://127.0.0.1:" + p, "http://localhost:" + p, "http://[::1]:" + p, "https://127.0.0.1:" + p,
		"https://rebind.attacker.example:" + p, "https://mixed.attacker.example:" + p, "https://mapped.attacker.example:" + p,
		"https://meta.attacker.example", "https://private.attacker.example",
		"http://169.254.169.254", "http://169.254.170.2", "https://[fd00:ec2::254]",
		"https://10.0.0.1", "https://192.168.1.1", "https://172.16.0.1", "https://100.64.0.1",
		"https://[::ffff:127.0.0.1]:" + p, "https://0.0.0.0:" + p, "https://127.1:" + p, "https://2130706433:" + p, "https://0x7f.1:" + p,
		"https://[fe80::1]", "https://[fc00::1]",
	}
}

// TestAttackInternalAddresses: an item whose URL points at loopback, the
// metadata service, a private range or a name that resolves to one —
// written straight into the table, past `tenants validate` — makes no
// connection there from any caller: the item is refused when it is read,
// or the guard refuses the resolved address when it is dialled.
func TestAttackInternalAddresses(t *testing.T) {
	w := newWorld(t)
	tl := &tally{class: "internal-addresses"}
	for _, c := range callers() {
		for _, u := range w.internalURLs() {
			e := w.env(t, envOptions{urls: func(tn *tenantFix, us *urls) { *c.url(us) = u + c.suffix }})
			before := w.outside()
			a := c.call(e)
			var problem string
			if a.panicked == nil && a.status < 400 {
				problem = "the call did not fail"
			}
			tl.add(t, c.name+" to "+u, a, problem, w.outside()-before)
			checkLogs(t, c.name, e)
		}
	}
	tl.leaks += w.canary.copies(append(tenantA.secretValues(), tenantA.marker)...)
	tl.report(t)
}
