package attack_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// forgery is one way to present credentials that are not the sender's.
type forgery struct {
	name string
	send func(e *env) answer
	want []string
}

// genericForgeries are the Standard Webhooks attacks on the generic
// source: no signature, another key, a changed body or ID, a stale or
// future timestamp, another scheme, the key itself as the signature.
func genericForgeries() []forgery {
	msg := func(e *env) (string, []byte, time.Time) {
		id, now := fmt.Sprintf("evt-%d", e.next()), e.clock.Now()
		body, _ := generic.NewEvent(generic.TypeMessage, generic.InboundData{ConversationID: e.conv(), Text: "hello"}, now)
		return id, body, now
	}
	req := func(body []byte, h map[string]string) request {
		return request{method: "POST", path: "/sources/generic/" + tenantA.generic, header: h, body: body}
	}
	sig := []string{"signature"}
	return []forgery{
		{"no signature headers", func(e *env) answer { _, b, _ := msg(e); return e.do(req(b, nil)) }, []string{"missing", "webhook-"}},
		{"no webhook-signature", func(e *env) answer {
			id, b, now := msg(e)
			h := stdwebhook.Headers(tenantA.inboundKey, id, now, b)
			delete(h, stdwebhook.HeaderSignature)
			return e.do(req(b, h))
		}, []string{"missing", "signature"}},
		{"signed with another tenant's key", func(e *env) answer {
			id, b, now := msg(e)
			return e.do(req(b, stdwebhook.Headers(tenantB.inboundKey, id, now, b)))
		}, sig},
		{"body changed after signing", func(e *env) answer {
			id, b, now := msg(e)
			h := stdwebhook.Headers(tenantA.inboundKey, id, now, b)
			return e.do(req([]byte(strings.Replace(string(b), "hello", "HELLO", 1)), h))
		}, sig},
		{"webhook-id changed after signing", func(e *env) answer {
			id, b, now := msg(e)
			h := stdwebhook.Headers(tenantA.inboundKey, id, now, b)
			h[stdwebhook.HeaderID] = id + "x"
			return e.do(req(b, h))
		}, sig},
		{"timestamp changed after signing", func(e *env) answer {
			id, b, now := msg(e)
			h := stdwebhook.Headers(tenantA.inboundKey, id, now, b)
			h[stdwebhook.HeaderTimestamp] = strconv.FormatInt(now.Unix()+1, 10)
			return e.do(req(b, h))
		}, sig},
		{"replayed 6 minutes later", func(e *env) answer {
			id, b, now := msg(e)
			return e.do(req(b, stdwebhook.Headers(tenantA.inboundKey, id, now.Add(-6*time.Minute), b)))
		}, []string{"timestamp", "old"}},
		{"timestamp 6 minutes ahead", func(e *env) answer {
			id, b, now := msg(e)
			return e.do(req(b, stdwebhook.Headers(tenantA.inboundKey, id, now.Add(6*time.Minute), b)))
		}, []string{"timestamp", "future", "new"}},
		{"timestamp not a number", func(e *env) answer {
			id, b, now := msg(e)
			h := stdwebhook.Headers(tenantA.inboundKey, id, now, b)
			h[stdwebhook.HeaderTimestamp] = "soon"
			return e.do(req(b, h))
		}, []string{"timestamp"}},
		{"another signature scheme (v1a)", func(e *env) answer {
			id, b, now := msg(e)
			h := stdwebhook.Headers(tenantA.inboundKey, id, now, b)
			h[stdwebhook.HeaderSignature] = "v1a," + strings.TrimPrefix(h[stdwebhook.HeaderSignature], "v1,")
			return e.do(req(b, h))
		}, sig},
		{"the key as the signature", func(e *env) answer {
			id, b, now := msg(e)
			h := stdwebhook.Headers(tenantA.inboundKey, id, now, b)
			h[stdwebhook.HeaderSignature] = "v1," + base64.StdEncoding.EncodeToString(tenantA.inboundKey)
			return e.do(req(b, h))
		}, sig},
		{"HMAC without the id and timestamp", func(e *env) answer {
			id, b, now := msg(e)
			h := stdwebhook.Headers(tenantA.inboundKey, id, now, b)
			m := hmac.New(sha256.New, tenantA.inboundKey)
			m.Write(b)
			h[stdwebhook.HeaderSignature] = "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
			return e.do(req(b, h))
		}, sig},
	}
}

func sunshineForgeries() []forgery {
	msg := func(e *env, key string) request {
		return sunshineReq(tenantA.sunshine, key, sunMessage(fmt.Sprintf("evt-%d", e.next()), e.conv(), "hello"))
	}
	return []forgery{
		{"no X-API-Key", func(e *env) answer { return e.do(msg(e, "")) }, []string{"X-API-Key"}},
		{"a guessed X-API-Key", func(e *env) answer { return e.do(msg(e, "guess")) }, []string{"X-API-Key"}},
		{"another tenant's webhook secret", func(e *env) answer { return e.do(msg(e, tenantB.sunWebhook)) }, []string{"X-API-Key"}},
		{"the key with a trailing newline", func(e *env) answer { return e.do(msg(e, tenantA.sunWebhook+"\n")) }, []string{"X-API-Key"}},
		{"a prefix of the key", func(e *env) answer { return e.do(msg(e, tenantA.sunWebhook[:8])) }, []string{"X-API-Key"}},
		{"the key as a bearer token", func(e *env) answer {
			r := msg(e, "")
			r.header["authorization"] = "Bearer " + tenantA.sunWebhook
			return e.do(r)
		}, []string{"X-API-Key"}},
		{"the API key secret instead of the webhook secret", func(e *env) answer { return e.do(msg(e, tenantA.sunKeySecret)) }, []string{"X-API-Key"}},
	}
}

func livepersonForgeries() []forgery {
	with := func(auth func(e *env) string) func(e *env) answer {
		return func(e *env) answer {
			ep := lptest.Endpoint{Account: tenantA.lp, BotID: tenantA.lpBot, Authorization: auth(e)}
			return e.do(lpReq(ep.Text(e.conv(), 1, "hello")))
		}
	}
	token := func(kind lptest.TokenKind) func(e *env) string {
		return func(e *env) string {
			tok, err := tenantA.sentinel.Token(kind, e.clock.Now())
			if err != nil {
				panic(err)
			}
			return "Bearer " + tok
		}
	}
	tok := []string{"token"}
	out := []forgery{
		{"no Authorization", with(func(*env) string { return "" }), []string{"Authorization", "token"}},
		{"Basic credentials", with(func(*env) string { return "Basic Ym90OnBhc3N3b3Jk" }), []string{"Bearer"}},
		{"a bearer that is not a JWT", with(func(*env) string { return "Bearer not-a-jwt" }), tok},
		{"signed with another key under the account's kid", with(func(e *env) string {
			t, _ := lptest.SignRS256(tenantA.sentinel.ValidClaims(e.clock.Now()), sentinelB().Key, tenantA.sentinel.KID)
			return "Bearer " + t
		}), []string{"signature"}},
		{"another tenant's valid token", with(func(e *env) string { b, _ := tenantB.sentinel.Bearer(e.clock.Now()); return b }), []string{"account", "audience", "key"}},
		{"an 8 KiB bearer", with(func(*env) string { return "Bearer " + strings.Repeat("a", 9<<10) }), nil},
	}
	for _, k := range []lptest.TokenKind{lptest.TokenExpired, lptest.TokenWrongAudience, lptest.TokenWrongScope, lptest.TokenDeprecatedScope,
		lptest.TokenWrongIssuer, lptest.TokenNoExpiry, lptest.TokenNotYetValid, lptest.TokenUnknownKID, lptest.TokenAlgNone,
		lptest.TokenAlgHS256, lptest.TokenAlgRS512} {
		out = append(out, forgery{"token " + string(k), with(token(k)), tok})
	}
	return out
}

// webhookForgeries are the attacks on the AI agent's webhook schemes at
// one route: A signs with hmac-sha256, B with a bearer header.
func webhookForgeries(path string) []forgery {
	body := func(e *env, bot, pcid string) []byte {
		switch path {
		case "/webhooks/escalation":
			return converse(bot, map[string]any{"eventType": "escalate", "platformConversationId": pcid})
		case "/webhooks/action":
			return actionCall(bot, "lookup", pcid, param("id", "o-1"))
		case "/webhooks":
			// The single URL must not forward what it cannot authenticate.
			return converse(bot, map[string]any{"eventType": "escalate", "platformConversationId": pcid})
		}
		return converse(bot, map[string]any{"eventType": "sendMessage", "platformConversationId": pcid, "text": "hi", "messageId": fmt.Sprintf("m-%d", e.next())})
	}
	pcidB := func(e *env) string { return generic.Name + ":" + tenantB.generic + ":" + e.conv() }
	send := func(f func(e *env) request) func(e *env) answer { return func(e *env) answer { return e.do(f(e)) } }
	hmacA := webhookauth.Scheme{Kind: webhookauth.SchemeHMAC}
	auth := []string{"authentication", "credentials", "X-Signature", "Authorization"}
	return []forgery{
		{"A: no signature", send(func(e *env) request {
			return request{method: "POST", path: path, body: body(e, agentA, pcidA(e.conv()))}
		}), auth},
		{"A: the HMAC of another body", send(func(e *env) request {
			r := webhook(tenantA, path, body(e, agentA, pcidA(e.conv())))
			r.body = body(e, agentA, pcidA(e.conv()))
			return r
		}), auth},
		{"A: signed with B's secret", send(func(e *env) request {
			return signedWebhook(hmacA, tenantB.webhookSecret, path, body(e, agentA, pcidA(e.conv())))
		}), auth},
		{"A: the secret as a bearer token", send(func(e *env) request {
			r := request{method: "POST", path: path, body: body(e, agentA, pcidA(e.conv()))}
			r.header = map[string]string{"authorization": "Bearer " + tenantA.webhookSecret}
			return r
		}), auth},
		{"A: the HMAC in base64, not hex", send(func(e *env) request {
			return signedWebhook(webhookauth.Scheme{Kind: webhookauth.SchemeHMAC, Encoding: webhookauth.EncodingBase64}, tenantA.webhookSecret, path, body(e, agentA, pcidA(e.conv())))
		}), auth},
		{"A: the secret in the signature header", send(func(e *env) request {
			r := request{method: "POST", path: path, body: body(e, agentA, pcidA(e.conv()))}
			r.header = map[string]string{"x-signature": tenantA.webhookSecret}
			return r
		}), auth},
		{"B: no Authorization", send(func(e *env) request {
			return request{method: "POST", path: path, body: body(e, agentB, pcidB(e))}
		}), auth},
		{"B: a wrong bearer", send(func(e *env) request {
			return signedWebhook(tenantB.scheme, "guess", path, body(e, agentB, pcidB(e)))
		}), auth},
		{"B: the secret with Basic, not Bearer", send(func(e *env) request {
			r := request{method: "POST", path: path, body: body(e, agentB, pcidB(e))}
			r.header = map[string]string{"authorization": "Basic " + tenantB.webhookSecret}
			return r
		}), auth},
		{"B: the secret in the query", send(func(e *env) request {
			r := request{method: "POST", path: path, body: body(e, agentB, pcidB(e)), query: "token=" + tenantB.webhookSecret}
			return r
		}), auth},
		{"B: A's secret", send(func(e *env) request {
			return signedWebhook(tenantB.scheme, tenantA.webhookSecret, path, body(e, agentB, pcidB(e)))
		}), auth},
		{"botId B with A's credentials", send(func(e *env) request {
			return signedWebhook(tenantB.scheme, tenantA.webhookSecret, path, body(e, agentB, pcidA(e.conv())))
		}), auth},
		{"botId B signed A's way", send(func(e *env) request {
			return signedWebhook(hmacA, tenantA.webhookSecret, path, body(e, agentB, pcidB(e)))
		}), auth},
		{"an agent nobody configured", send(func(e *env) request {
			return signedWebhook(hmacA, "guess", path, body(e, "0123456789abcdef01234567", pcidA(e.conv())))
		}), []string{"agent"}},
	}
}

// TestAttackAuth: every forged, missing, stale or misplaced credential at
// every entry point is a 401/403 JSON error naming what was wrong, and
// costs nothing but the cached lookups: no state written, no vendor called.
// A replay inside the signature tolerance is delivered once.
func TestAttackAuth(t *testing.T) {
	w := newWorld(t)
	tl := &tally{class: "auth"}
	sets := map[string][]forgery{
		"POST /sources/generic/{account}":            genericForgeries(),
		"POST /sources/sunshine/{account}":           sunshineForgeries(),
		"ANY /sources/liveperson/{account}/{proxy+}": livepersonForgeries(),
	}
	for _, p := range []string{"/webhooks", "/webhooks/message", "/webhooks/escalation", "/webhooks/action"} {
		sets["POST "+p] = webhookForgeries(p)
	}
	for route, fs := range sets {
		e := w.env(t, envOptions{})
		for _, f := range fs {
			before, vendorBefore := e.cost(), w.vendor.count()
			a := f.send(e)
			spent := e.cost().minus(before)
			var problem string
			switch {
			case a.panicked != nil:
			case a.status != 401 && a.status != 403:
				problem = "not a 401 or 403"
			case !is4xxJSON(a, f.want...):
				problem = fmt.Sprintf("not a JSON error naming %v", f.want)
			case spent.dbWrites != 0:
				problem = fmt.Sprintf("wrote state (%d writes)", spent.dbWrites)
			case w.vendor.count() != vendorBefore:
				problem = "reached a vendor"
			}
			tl.add(t, route+" "+f.name, a, problem, secretsIn(a.body+fmt.Sprint(a.header)))
		}
		checkLogs(t, route, e)
	}

	// A replay inside the tolerance is a duplicate, delivered once.
	e := w.env(t, envOptions{})
	for _, replay := range []struct {
		name string
		req  func() request
	}{
		{"generic", func() request { return e.genericA("evt-replayed", "c-replayed") }},
		{"sunshine", func() request {
			return sunshineReq(tenantA.sunshine, tenantA.sunWebhook, sunMessage("evt-replayed", "c-replayed", "hello"))
		}},
		{"liveperson", func() request { return lpReq(e.lpEndpoint(tenantA).Text("c-replayed", 7, "hello")) }},
	} {
		r := replay.req()
		first := e.do(r)
		delivered := w.vendor.count()
		again := e.do(r)
		var problem string
		switch {
		case first.status != 200:
			problem = "the original was not accepted: " + first.String()
		case again.status != 200 || !strings.Contains(again.body, "duplicate") && replay.name != "liveperson":
			problem = "the replay was not answered as a duplicate"
		case w.vendor.count() != delivered:
			problem = "the replay reached the AI agent again"
		}
		tl.add(t, "replay of a "+replay.name+" delivery", again, problem, 0)
	}

	// A flood of tokens naming unknown kids fetches the key set at most
	// once a minute (the Sentinel v2 account).
	jwks := &lptest.Sentinel{Account: tenantA.lpJWKS, Key: sentinelA().Key, KID: sentinelA().KID}
	fetches := func() int {
		n := 0
		for _, r := range w.vendor.requests() {
			if strings.HasSuffix(r.uri, "/jwks") {
				n++
			}
		}
		return n
	}
	before := fetches()
	for i := range 50 {
		tok, _ := lptest.SignRS256(jwks.ValidClaims(e.clock.Now()), sentinelA().Key, fmt.Sprintf("kid-%d", i))
		a := e.do(lpReq(lptest.Endpoint{Account: tenantA.lpJWKS, BotID: tenantA.lpBot, Authorization: "Bearer " + tok}.Text(e.conv(), 1, "hi")))
		var problem string
		if a.status != 401 || !is4xxJSON(a, "kid", "key") {
			problem = "an unknown kid was not refused"
		}
		tl.add(t, "JWKS: unknown kid", a, problem, 0)
	}
	if n := fetches() - before; n > 1 {
		t.Errorf("50 unknown kids fetched the key set %d times", n)
	}
	checkLogs(t, "replays", e)
	tl.report(t)
}
