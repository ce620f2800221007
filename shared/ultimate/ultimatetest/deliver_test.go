package ultimatetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// TestWebhookAuth sends a welcome under each scheme; the receiver verifies
// it with webhookauth.Verify (see receiver.ServeHTTP) and it must also fail
// under a different secret, so a scheme that sends nothing cannot pass.
func TestWebhookAuth(t *testing.T) {
	tests := []struct {
		scheme webhookauth.Scheme
		check  func(h hook) bool // where the credential travels
	}{
		{scheme: webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "},
			check: func(h hook) bool { return h.Header.Get("Authorization") == "Bearer "+secret }},
		{scheme: webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Header: "X-Api-Key"},
			check: func(h hook) bool { return h.Header.Get("X-Api-Key") == secret }},
		{scheme: webhookauth.Scheme{Kind: webhookauth.SchemeHMAC},
			check: func(h hook) bool { return len(h.Header.Get("X-Signature")) == 64 }},
		{scheme: webhookauth.Scheme{Kind: webhookauth.SchemeHMAC, Header: "X-Hub-Signature-256", Encoding: webhookauth.EncodingBase64},
			check: func(h hook) bool { return len(h.Header.Get("X-Hub-Signature-256")) == 44 }},
		{scheme: webhookauth.Scheme{Kind: webhookauth.SchemeToken},
			check: func(h hook) bool { return h.Query.Get("token") == secret && h.Query.Get("keep") == "1" }},
		{scheme: webhookauth.Scheme{Kind: webhookauth.SchemeToken, Param: "key"},
			check: func(h hook) bool { return h.Query.Get("key") == secret }},
	}
	for _, tt := range tests {
		t.Run(tt.scheme.Kind+"/"+tt.scheme.Header+tt.scheme.Prefix+tt.scheme.Encoding+tt.scheme.Param, func(t *testing.T) {
			e := newEnv(t, func(a *Agent, _ *Options) {
				a.WebhookAuth = tt.scheme
				a.WebhookURL += "?keep=1" // a token must be added, not clobber the query
			})

			e.chat(pcid, ultimate.EventStartSession, nil)
			e.wait()
			calls := e.recv.calls()
			if len(calls) != 1 || !tt.check(calls[0]) {
				t.Fatalf("credential not where the scheme puts it: %+v", calls)
			}
			h := calls[0]
			if err := webhookauth.Verify(tt.scheme, []string{"another-secret"}, webhookauth.Request{Header: h.Header.Get, Query: h.Query.Get, Body: h.Body}); !errors.Is(err, webhookauth.ErrMismatch) {
				t.Errorf("verifies under the wrong secret too: %v", err)
			}
			d := e.fake.Deliveries()[0]
			if !d.OK() || d.URL != e.agent.WebhookURL || strings.Contains(d.URL, secret) {
				t.Errorf("delivery %+v", d)
			}
		})
	}
}

func TestWebhookAuthNone(t *testing.T) {
	e := newEnv(t, func(a *Agent, _ *Options) {
		a.WebhookAuth = webhookauth.Scheme{Kind: webhookauth.SchemeNone}
		a.WebhookSecret = ""
	})
	e.chat(pcid, ultimate.EventStartSession, nil)
	e.wait()
	h := e.recv.calls()[0]
	if h.Header.Get("Authorization") != "" || h.Header.Get("X-Signature") != "" || len(h.Query) != 0 {
		t.Errorf("scheme none sent a credential: %v %v", h.Header, h.Query)
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int // our answers to the welcome, in turn; then 200
		attempts []int // Delivery.Attempts statuses
		ok       bool
	}{
		{name: "503 then success", statuses: []int{503}, attempts: []int{503, 200}, ok: true},
		{name: "two 5xx then success", statuses: []int{500, 502}, attempts: []int{500, 502, 200}, ok: true},
		{name: "5xx three times", statuses: []int{503, 503, 503}, attempts: []int{503, 503, 503}},
		{name: "4xx is final", statuses: []int{400}, attempts: []int{400}},
		{name: "429 is final too", statuses: []int{429}, attempts: []int{429}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // retries wait in real time
			e := newEnv(t)
			n := 0
			e.recv.setAnswer(func(h hook) (int, string) {
				if h.Data["text"] != WelcomeText || n >= len(tt.statuses) {
					return 200, ""
				}
				n++
				return tt.statuses[n-1], `{"error":"busy"}`
			})
			e.say(pcid, "after")
			e.wait()
			ds := e.fake.Deliveries()
			if len(ds) != 2 {
				t.Fatalf("%d deliveries, want the welcome and the echo", len(ds))
			}
			var got []int
			for _, a := range ds[0].Attempts {
				got = append(got, a.Status)
			}
			if !slices.Equal(got, tt.attempts) || ds[0].OK() != tt.ok || ds[0].Status != tt.attempts[len(tt.attempts)-1] {
				t.Errorf("welcome attempts %v ok %v status %d, want %v ok %v", got, ds[0].OK(), ds[0].Status, tt.attempts, tt.ok)
			}
			// Each attempt is the identical request: same messageId.
			calls := e.recv.calls()
			for _, h := range calls[1:len(tt.attempts)] {
				if string(h.Body) != string(calls[0].Body) {
					t.Errorf("a retry changed the body:\n%s\n%s", calls[0].Body, h.Body)
				}
			}
			if !ds[1].OK() || !strings.Contains(string(ds[1].Body), "You said: after") {
				t.Errorf("the next webhook did not follow: %+v", ds[1])
			}
		})
	}
}

func TestRetryTransportError(t *testing.T) {
	e := newEnv(t, func(a *Agent, _ *Options) { a.WebhookURL = "http://127.0.0.1:1/webhook" })
	e.chat(pcid, ultimate.EventStartSession, nil)
	e.wait()
	d := e.fake.Deliveries()[0]
	if d.Err == nil || d.Status != 0 || len(d.Attempts) != 3 || d.OK() {
		t.Errorf("delivery %+v, want three failed attempts", d)
	}
	for _, a := range d.Attempts {
		if a.Err == nil {
			t.Errorf("attempt without error: %+v", a)
		}
	}
}

func TestNoWebhookURL(t *testing.T) {
	e := newEnv(t, func(a *Agent, _ *Options) { a.WebhookURL = "" })
	e.chat(pcid, ultimate.EventStartSession, nil)
	e.wait()
	if d := e.fake.Deliveries()[0]; d.Err == nil || len(d.Attempts) != 1 {
		t.Errorf("delivery %+v, want a configuration error", d)
	}
}
