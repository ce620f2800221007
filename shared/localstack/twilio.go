package localstack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/crmbridge/crmbridge/shared/source/twilio"
	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// Demo Twilio accounts (their items and secrets are in events/tenant): the
// demo account make run plays a visitor on, and the account the
// source-inbound samples are signed for.
const (
	DemoTwilioAccount   = "ACc0ffee0ddba11ad0be57c0ffee0d0001"
	SampleTwilioAccount = "ACc0ffee0ddba11ad0be57c0ffee0d0002"
	DemoTwilioNumber    = "+15005550006"
	// twilioPlaceholder is the demo items' Twilio API URL, replaced by the
	// fake's (which listens on a free port).
	twilioPlaceholder = "http://127.0.0.1:8096"
)

// demoQuickReplies are the demo account's quick-reply templates (one, two
// and three buttons), as the README defines them.
var demoQuickReplies = []string{"HXc0ffee0ddba11ad0be57c0ffee0d0001", "HXc0ffee0ddba11ad0be57c0ffee0d0002", "HXc0ffee0ddba11ad0be57c0ffee0d0003"}

// startTwilio runs the fake Twilio for the demo accounts, on a free port.
func (st *Stack) startTwilio(tenantDir string) error {
	var accounts []twiliotest.Account
	for _, sid := range []string{DemoTwilioAccount, SampleTwilioAccount} {
		sf, err := tenant.ReadSecretFile(filepath.Join(tenantDir, "secret-source-twilio-"+map[string]string{DemoTwilioAccount: "demo", SampleTwilioAccount: "sample"}[sid]+".json"))
		if err != nil {
			continue // not in this events directory
		}
		var c twilio.Credentials
		if err := json.Unmarshal([]byte(sf.SecretString), &c); err != nil {
			return fmt.Errorf("demo Twilio secret of %s: %w", sid, err)
		}
		accounts = append(accounts, twiliotest.Account{SID: sid, AuthToken: c.AuthToken, APIKeySid: c.APIKeySid, APIKeySecret: c.APIKeySecret})
	}
	if len(accounts) == 0 {
		return nil
	}
	contents := map[string]twiliotest.Content{}
	for i, sid := range demoQuickReplies {
		c := twiliotest.Content{Body: "{{1}}"}
		for j := range i + 1 {
			c.Actions = append(c.Actions, fmt.Sprintf("{{%d}}", j+2))
		}
		contents[sid] = c
	}
	st.Twilio = twiliotest.New(twiliotest.Options{Accounts: accounts, Contents: contents, AutoStatus: true, AdvancedOptOut: true})
	u, err := st.Twilio.Start("127.0.0.1:0")
	if err != nil {
		st.Twilio = nil
		return fmt.Errorf("start the fake Twilio API: %w", err)
	}
	st.TwilioURL = u
	return nil
}

// twilioVisitor plays an SMS or WhatsApp visitor of the demo account:
//
//	POST /demo/twilio/{number}/sms        {"text":"hello"}                 an SMS from +{number}
//	POST /demo/twilio/{number}/whatsapp   {"text":"hi","name":"Ada"}       a WhatsApp message
//	POST /demo/twilio/{number}/tap        {"id":"o2","text":"No"}          a WhatsApp quick-reply tap
//	GET  /demo/twilio/{number}                                             what the visitor received
func (st *Stack) twilioVisitor(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/demo/twilio/"), "/"), "/")
	number := "+" + strings.TrimPrefix(parts[0], "+")
	if len(parts) == 0 || len(parts) > 2 || len(number) < 8 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "use /demo/twilio/{number}/{sms|whatsapp|tap}"})
		return
	}
	if r.Method == http.MethodGet && len(parts) == 1 {
		out := []map[string]any{}
		for _, to := range []string{number, "whatsapp:" + number} {
			for _, m := range st.Twilio.Sent(to) {
				out = append(out, map[string]any{"to": to, "body": m.Body, "status": m.Status, "sid": m.Sid, "contentSid": m.ContentSid})
			}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if r.Method != http.MethodPost || len(parts) != 2 {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST /demo/twilio/{number}/{sms|whatsapp|tap}"})
		return
	}
	var in struct{ Text, Name, ID string }
	if b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16)); len(b) > 0 {
		if err := json.Unmarshal(b, &in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON object"})
			return
		}
	}
	v := twiliotest.Visitor{From: number, To: DemoTwilioNumber, Body: in.Text}
	switch parts[1] {
	case "sms":
	case "whatsapp", "tap":
		v.From, v.To, v.ProfileName = "whatsapp:"+number, "whatsapp:"+DemoTwilioNumber, in.Name
		if parts[1] == "tap" {
			v.ButtonPayload, v.ButtonText = in.ID, in.Text
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown action " + parts[1]})
		return
	}
	sid, status, body, err := st.Twilio.Inbound(r.Context(), DemoTwilioAccount, st.API+"/sources/twilio/"+DemoTwilioAccount, v)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messageSid": sid, "status": status, "answer": string(body)})
}
