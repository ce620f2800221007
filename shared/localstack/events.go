package localstack

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// RefreshSignature moves a generic-source sample event to the current time,
// so a stored event can be replayed past the ±5 minute window. An event whose
// stored signature is valid for its stored timestamp is re-signed; one with a
// deliberately wrong signature only gets the new timestamp, so it stays wrong
// for the right reason (the signature, not its age). It reports whether it
// changed anything.
func RefreshSignature(raw []byte, tenantDir string, now time.Time) ([]byte, bool, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, false, fmt.Errorf("not an HTTP API event: %w", err)
	}
	if ev.PathParameters["source"] == "liveperson" {
		// LivePerson samples carry an App-JWT signed with the demo Sentinel
		// key; a fresh one replaces it.
		s, err := lptest.DemoSentinel()
		if err != nil {
			return nil, false, err
		}
		out, err := lptest.ResignEvent(raw, s, now)
		return out, err == nil, err
	}
	if ev.PathParameters["source"] != generic.Name || ev.IsBase64Encoded {
		return raw, false, nil
	}
	account := ev.PathParameters["account"]
	sf, err := tenant.ReadSecretFile(filepath.Join(tenantDir, "secret-source-generic-"+account+".json"))
	if err != nil {
		return raw, false, nil // an account without a demo secret: leave the event as it is
	}
	var creds generic.Credentials
	if err := json.Unmarshal([]byte(sf.SecretString), &creds); err != nil {
		return nil, false, fmt.Errorf("secret file of %s: %w", account, err)
	}
	secret, err := stdwebhook.ParseSecret(creds.InboundSecret)
	if err != nil {
		return nil, false, fmt.Errorf("inboundSecret of %s: %w", account, err)
	}
	h := lower(ev.Headers)
	id, ts, sig := h[stdwebhook.HeaderID], h[stdwebhook.HeaderTimestamp], h[stdwebhook.HeaderSignature]
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return raw, false, nil
	}
	stored := time.Unix(sec, 0)
	if stdwebhook.Verify([]stdwebhook.Secret{secret}, id, ts, sig, []byte(ev.Body), stored, 0) != nil {
		h[stdwebhook.HeaderTimestamp] = strconv.FormatInt(now.Unix(), 10)
	} else {
		for k, v := range stdwebhook.Headers(secret, id, now, []byte(ev.Body)) {
			h[k] = v
		}
	}
	ev.Headers = h
	out, err := json.MarshalIndent(ev, "", "  ")
	return out, true, err
}

func lower(h map[string]string) map[string]string {
	out := make(map[string]string, len(h)+3)
	for k, v := range h {
		out[toLower(k)] = v
	}
	return out
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
