package attack_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/tenant/tenanttest"
)

// crossing is tenant A reaching for tenant B: A's AI agent (authenticated
// with A's own secret) naming B's conversations, A's platform credentials
// used on B's URLs, or one of A's items naming B's secrets.
type crossing struct {
	name string
	// items changes A's items before they are written (nil: as shipped),
	// the way an operator's direct put-item would, past `tenants validate`.
	items func(items []tenanttest.Fields)
	send  func(e *env) answer
	// control is the same call on A's own resources, which must succeed
	// with A's items as shipped: the refusal is the tenant check's.
	control func(e *env) answer
	// verifiedWith is the secret of the account whose URL was called: the
	// bridge reads it to check the signature, which is not a cross-tenant
	// read.
	verifiedWith string
}

func pcidB(src, acct string) func(e *env) string {
	return func(e *env) string { return src + ":" + acct + ":" + e.conv() }
}

// setItem changes one attribute of the item with pk and sk.
func setItem(pk, sk, path string, v any) func(items []tenanttest.Fields) {
	return func(items []tenanttest.Fields) {
		for _, it := range items {
			if it["pk"] != pk || it["sk"] != sk {
				continue
			}
			m := it
			parts := strings.Split(path, ".")
			for _, p := range parts[:len(parts)-1] {
				m = m[p].(tenanttest.Fields)
			}
			m[parts[len(parts)-1]] = v
		}
	}
}

func crossings() []crossing {
	a, b := tenantA, tenantB
	hook := func(path string, body func(e *env, pcid string) []byte, pcid func(e *env) string) func(e *env) answer {
		return func(e *env) answer { return e.do(webhook(a, path, body(e, pcid(e)))) }
	}
	send := func(e *env, pcid string) []byte {
		return converse(agentA, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid, "text": "hi", "messageId": fmt.Sprintf("m-%d", e.next())})
	}
	event := func(typ string) func(e *env, pcid string) []byte {
		return func(e *env, pcid string) []byte {
			return converse(agentA, map[string]any{"eventType": typ, "platformConversationId": pcid, "text": "hi"})
		}
	}
	act := func(name string) func(e *env, pcid string) []byte {
		return func(e *env, pcid string) []byte {
			return actionCall(agentA, name, pcid, param("id", "o-1"), param("tags", "vip"))
		}
	}
	own := func(src, acct string) func(e *env) string { return pcidB(src, acct) }
	var out []crossing
	for _, c := range []struct {
		name, path string
		body       func(e *env, pcid string) []byte
		src        string
		acctA      string
		acctB      string
	}{
		{"sendMessage to B's generic conversation", "/webhooks/message", send, generic.Name, a.generic, b.generic},
		{"sendMessage to B's Sunshine conversation", "/webhooks/message", send, "sunshine", a.sunshine, b.sunshine},
		{"sendMessage to B's LivePerson conversation", "/webhooks/message", send, "liveperson", a.lp, b.lp},
		{"sendMessage to B's conversation at the single URL", "/webhooks", send, generic.Name, a.generic, b.generic},
		{"widgetMessage to B's conversation", "/webhooks/message", event("widgetMessage"), generic.Name, a.generic, b.generic},
		{"widgetEndSession of B's conversation", "/webhooks/message", event("widgetEndSession"), generic.Name, a.generic, b.generic},
		{"escalate B's Sunshine conversation", "/webhooks/escalation", event("escalate"), "sunshine", a.sunshine, b.sunshine},
		{"escalate B's LivePerson conversation", "/webhooks/escalation", event("escalate"), "liveperson", a.lp, b.lp},
		{"escalate B's conversation through the single URL", "/webhooks", event("escalate"), generic.Name, a.generic, b.generic},
		{"widgetEscalate B's conversation", "/webhooks/escalation", event("widgetEscalate"), generic.Name, a.generic, b.generic},
		{"isTeamOnline naming B's conversation", "/webhooks/escalation", event("isTeamOnline"), generic.Name, a.generic, b.generic},
		{"an http action on B's conversation", "/webhooks/action", act("lookup"), generic.Name, a.generic, b.generic},
		{"a built-in action on B's Sunshine conversation", "/webhooks/action", act("tags"), "sunshine", a.sunshine, b.sunshine},
		{"a forwarded action on B's conversation", "/webhooks/action", act("forward"), generic.Name, a.generic, b.generic},
		{"an action on B's conversation through the single URL", "/webhooks", act("forward"), generic.Name, a.generic, b.generic},
	} {
		out = append(out, crossing{name: c.name, send: hook(c.path, c.body, pcidB(c.src, c.acctB)), control: hook(c.path, c.body, own(c.src, c.acctA))})
	}
	teamAsk := func(team string) func(e *env) answer {
		return func(e *env) answer {
			return e.do(webhook(a, "/webhooks/escalation", converse(agentA, map[string]any{"eventType": "isTeamOnline", "teamId": team})))
		}
	}
	genericMsg := func(account string, key *tenantFix) func(e *env) answer {
		return func(e *env) answer {
			return e.do(e.genericReq(account, key.inboundKey, fmt.Sprintf("evt-%d", e.next()), generic.TypeMessage, generic.InboundData{ConversationID: e.conv(), Text: "hi"}))
		}
	}
	sunMsg := func(app, key, bodyApp string) func(e *env) answer {
		return func(e *env) answer {
			r := sunshineReq(bodyApp, key, sunMessage(fmt.Sprintf("evt-%d", e.next()), e.conv(), "hi"))
			r.path = "/sources/sunshine/" + app
			return e.do(r)
		}
	}
	lpMsg := func(acct, bot string, s *lptest.Sentinel) func(e *env) answer {
		return func(e *env) answer {
			bearer, _ := s.Bearer(e.clock.Now())
			return e.do(lpReq(lptest.Endpoint{Account: acct, BotID: bot, Authorization: bearer}.Text(e.conv(), 1, "hi")))
		}
	}
	actionA := func(e *env) answer {
		return e.do(webhook(a, "/webhooks/action", actionCall(agentA, "lookup", pcidA(e.conv()), param("id", "o-1"))))
	}
	sendOwn := func(src, acct string) func(e *env) answer {
		return func(e *env) answer {
			return e.do(webhook(a, "/webhooks/message", send(e, src+":"+acct+":"+e.conv())))
		}
	}
	agentPK, lookupSK := tenant.AgentKey(agentA), tenant.ActionSK("lookup")
	out = append(out,
		crossing{name: "a team of A whose callback is B's account", send: teamAsk("foreign"), control: teamAsk("desk")},
		crossing{name: "A's generic key on B's URL", send: genericMsg(b.generic, a), control: genericMsg(a.generic, a),
			verifiedWith: tenanttest.SourceSecretName(generic.Name, b.generic)},
		crossing{name: "A's Sunshine webhook secret on B's URL", send: sunMsg(b.sunshine, a.sunWebhook, b.sunshine), control: sunMsg(a.sunshine, a.sunWebhook, a.sunshine),
			verifiedWith: tenanttest.SourceSecretName("sunshine", b.sunshine)},
		crossing{name: "A's URL and key with B's app in the body", send: sunMsg(a.sunshine, a.sunWebhook, b.sunshine), control: sunMsg(a.sunshine, a.sunWebhook, a.sunshine)},
		crossing{name: "A's LivePerson token on B's URL", send: lpMsg(b.lp, b.lpBot, a.sentinel), control: lpMsg(a.lp, a.lpBot, a.sentinel),
			verifiedWith: tenanttest.SourceSecretName("liveperson", b.lp)},
		crossing{name: "A's LivePerson token and bot on B's URL", send: lpMsg(b.lp, a.lpBot, a.sentinel), control: lpMsg(a.lp, a.lpBot, a.sentinel),
			verifiedWith: tenanttest.SourceSecretName("liveperson", b.lp)},
		// A's own items naming B's secrets, or a secret its kind may not use.
		crossing{name: "A's action naming B's agent secret", send: actionA, control: actionA,
			items: setItem(agentPK, lookupSK, "http.secret", tenanttest.AgentSecretName(agentB))},
		crossing{name: "A's action naming B's action secret", send: actionA, control: actionA,
			items: setItem(agentPK, lookupSK, "http.secret", "crmbridge/actions/"+agentB+"/shop")},
		crossing{name: "A's action naming A's own agent secret", send: actionA, control: actionA,
			items: setItem(agentPK, lookupSK, "http.secret", tenanttest.AgentSecretName(agentA))},
		crossing{name: "A's action naming B's platform credentials", send: actionA, control: actionA,
			items: setItem(agentPK, lookupSK, "http.secret", tenanttest.SourceSecretName(generic.Name, b.generic))},
		crossing{name: "A's generic account naming B's credentials (A's callback)", send: sendOwn(generic.Name, a.generic), control: sendOwn(generic.Name, a.generic),
			items: setItem(tenant.SourceKey(generic.Name, a.generic), tenant.ConfigSK, "credentialsSecret", tenanttest.SourceSecretName(generic.Name, b.generic))},
		crossing{name: "A's generic account naming B's credentials (B's key on A's URL)", send: genericMsg(a.generic, b), control: genericMsg(a.generic, a),
			items: setItem(tenant.SourceKey(generic.Name, a.generic), tenant.ConfigSK, "credentialsSecret", tenanttest.SourceSecretName(generic.Name, b.generic))},
		crossing{name: "A's Sunshine account naming B's credentials", send: sendOwn("sunshine", a.sunshine), control: sendOwn("sunshine", a.sunshine),
			items: setItem(tenant.SourceKey("sunshine", a.sunshine), tenant.ConfigSK, "credentialsSecret", tenanttest.SourceSecretName("sunshine", b.sunshine))},
		crossing{name: "A's LivePerson account naming B's credentials", send: sendOwn("liveperson", a.lp), control: sendOwn("liveperson", a.lp),
			items: setItem(tenant.SourceKey("liveperson", a.lp), tenant.ConfigSK, "credentialsSecret", tenanttest.SourceSecretName("liveperson", b.lp))},
		crossing{name: "A's agent naming B's agent secret (webhooks)", send: sendOwn(generic.Name, a.generic), control: sendOwn(generic.Name, a.generic),
			items: setItem(agentPK, tenant.ConfigSK, "secret", tenanttest.AgentSecretName(agentB))},
		crossing{name: "A's agent naming B's agent secret (Chat API)", send: genericMsg(a.generic, a), control: genericMsg(a.generic, a),
			items: setItem(agentPK, tenant.ConfigSK, "secret", tenanttest.AgentSecretName(agentB))},
	)
	return out
}

// TestAttackCrossTenant: nothing tenant A's AI agent, platform credentials
// or items can send reads one of tenant B's secrets, reaches B's
// conversations or carries B's secrets anywhere; every attempt is refused
// with a JSON error (403 for a foreign conversation, 401 for foreign
// credentials, 400 for a foreign app, 500 for an item naming a foreign
// secret, which is the operator's to fix). Each attempt's control, on A's
// own resources, succeeds.
func TestAttackCrossTenant(t *testing.T) {
	w := newWorld(t)
	tl := &tally{class: "cross-tenant"}
	ctl := w.env(t, envOptions{})
	for _, c := range crossings() {
		if a := c.control(ctl); a.status < 200 || a.status > 299 {
			t.Errorf("%s: control not accepted: %s", c.name, a)
		}
		e := w.env(t, envOptions{items: func(tn *tenantFix, items []tenanttest.Fields) {
			if tn == tenantA && c.items != nil {
				c.items(items)
			}
		}})
		vendorBefore := w.vendor.count()
		a := c.send(e)
		var problem string
		_, _, isJSON := a.problem()
		switch {
		case a.panicked != nil:
		case a.status < 400 || !isJSON:
			problem = "not refused with a JSON error"
		case a.status >= 500 && c.items == nil:
			problem = "a caller's attempt answered as the bridge's failure"
		case w.vendor.count() != vendorBefore:
			problem = "a vendor was called"
		}
		var foreign []string
		for _, n := range tenantB.secretNames() {
			if n != c.verifiedWith {
				foreign = append(foreign, n)
			}
		}
		leaks := e.reads(foreign...) + countAll(a.body, tenantB.secretValues())
		tl.add(t, c.name, a, problem, leaks)
		checkLogs(t, c.name, e)
	}
	// Whatever B's secrets were read for, none of them left the bridge for
	// A's endpoints, or anyone's.
	leaks := w.vendor.copies(tenantB.secretValues()...) + w.attacker.copies(tenantB.secretValues()...)
	tl.leaks += leaks
	if leaks != 0 {
		t.Errorf("tenant B's secrets reached A's endpoints %d times", leaks)
	}
	tl.report(t)
}
