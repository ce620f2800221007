package twilio

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

// Authenticate implements source.Inbound: Twilio's signature on the
// messages and status routes, the desk's Standard Webhooks signature on
// the desk route.
func (a *Adapter) Authenticate(req *apigw.Request, acct *source.Account, now time.Time) error {
	st, err := settingsOf(acct)
	if err != nil {
		return misconfigured(err)
	}
	cr, err := parsedCredentials.Of(acct)
	if err != nil {
		return misconfigured(err)
	}
	if req.Params["proxy"] == routeDesk {
		return verifyDesk(req, st, cr, now)
	}
	form, err := bodyKind(req)
	if err != nil {
		return err
	}
	err = Verify(Request{
		URL: WebhookURL(req, st.publicBase), Body: req.Body, Form: form,
		Signature: req.HeaderValue(HeaderSignature), Settings: req.HeaderValue(HeaderSignatureSettings),
	}, cr.keys)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoSignature):
		return apigw.Wrap(err, http.StatusUnauthorized, "missing_signature", "X-Twilio-Signature is missing")
	case errors.Is(err, ErrBadSettings):
		return apigw.Wrap(err, http.StatusUnauthorized, "bad_signature_settings", err.Error())
	case errors.Is(err, ErrNoKey):
		return apigw.Wrap(err, http.StatusUnauthorized, "no_signing_key",
			"the request is signed with a SharedKey (X-Twilio-Webhooks-Signature-Settings) but the account's secret has no sharedKeySecret")
	case errors.Is(err, ErrBodyHash), errors.Is(err, ErrBadBodyHash):
		return apigw.Wrap(err, http.StatusUnauthorized, "bad_body_hash", err.Error())
	case errors.Is(err, ErrUnsignedParameters):
		return apigw.Wrap(err, http.StatusUnsupportedMediaType, "unsupported_body", "the body must be form-encoded, or JSON with bodySHA256 in the URL")
	default:
		return apigw.Wrap(err, http.StatusUnauthorized, "bad_signature",
			"X-Twilio-Signature does not match this URL and body (is the webhook URL exactly the bridge's, or publicBaseUrl set for a custom domain?)")
	}
}

// bodyKind tells a form body from a JSON one (which must carry its hash in
// the query).
func bodyKind(req *apigw.Request) (form bool, err error) {
	ct, _, _ := mime.ParseMediaType(req.HeaderValue("Content-Type"))
	switch {
	case ct == "application/x-www-form-urlencoded":
		return true, nil
	case req.QueryValue("bodySHA256") != "":
		return false, nil
	case len(bytes.TrimSpace(req.Body)) == 0:
		return true, nil
	default:
		return false, apigw.Errorf(http.StatusUnsupportedMediaType, "unsupported_body", "the body must be form-encoded, or JSON with bodySHA256 in the URL")
	}
}

// WebhookURL is the URL Twilio called, as it signed it: publicBase (the
// account's publicBaseUrl) with the route's path, or else the URL API
// Gateway received, rebuilt from its domain, the stage (when a named stage
// is not already in the raw path) and the raw path; the raw query string
// in both cases.
func WebhookURL(req *apigw.Request, publicBase string) string {
	var b strings.Builder
	if publicBase != "" {
		b.WriteString(publicBase + "/sources/" + Name + "/" + req.Params["account"])
		if p := req.Params["proxy"]; p != "" {
			b.WriteString("/" + p)
		}
	} else {
		scheme := "https"
		proto, _, _ := strings.Cut(req.HeaderValue("X-Forwarded-Proto"), ",")
		if p := strings.ToLower(strings.TrimSpace(proto)); p == "http" {
			scheme = p
		}
		path := req.Path
		if s := req.Stage; s != "" && s != "$default" && path != "/"+s && !strings.HasPrefix(path, "/"+s+"/") {
			path = "/" + s + path
		}
		b.WriteString(scheme + "://" + req.Domain + path)
	}
	if req.RawQuery != "" {
		b.WriteString("?" + req.RawQuery)
	}
	return b.String()
}

// Limits on what a webhook may carry.
const (
	maxParams     = 200
	maxParamValue = 8 << 10
)

// Params reads a webhook's parameters: the form, or the JSON object of a
// bodySHA256 webhook (scalars as strings). Repeated names keep their first
// value, as Twilio never repeats one.
func Params(req *apigw.Request) (url.Values, error) {
	form, err := bodyKind(req)
	if err != nil {
		return nil, err
	}
	bad := func(problem string) error {
		return apigw.Errorf(http.StatusBadRequest, "invalid_body", "%s", problem)
	}
	out := url.Values{}
	if form {
		v, err := url.ParseQuery(string(req.Body))
		if err != nil {
			return nil, bad("the form body is malformed")
		}
		if len(v) > maxParams {
			return nil, bad("more than 200 parameters")
		}
		for k, vs := range v {
			if len(vs[0]) > maxParamValue {
				return nil, bad("parameter " + safeName(k) + " is longer than 8 KiB")
			}
			out.Set(k, vs[0])
		}
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &m); err != nil {
		return nil, bad("the JSON body must be an object: " + apigw.JSONProblem(err))
	}
	if len(m) > maxParams {
		return nil, bad("more than 200 parameters")
	}
	for k, raw := range m {
		raw = bytes.TrimSpace(raw)
		if len(raw) > maxParamValue {
			return nil, bad("parameter " + safeName(k) + " is longer than 8 KiB")
		}
		var s string
		switch {
		case len(raw) == 0 || string(raw) == "null":
			continue
		case raw[0] == '"':
			if json.Unmarshal(raw, &s) != nil {
				return nil, bad("parameter " + safeName(k) + " is not a string")
			}
		case raw[0] == '{' || raw[0] == '[':
			continue // nested values carry nothing the adapter reads
		default:
			s = string(raw)
		}
		out.Set(k, s)
	}
	return out, nil
}

// safeName is a parameter name fit for an error message.
func safeName(k string) string {
	if len(k) > 40 || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "(a parameter)"
	}
	return k
}

// emptyTwiML is the answer to an incoming message: TwiML that says nothing,
// because the replies follow through the REST API.
var emptyTwiML = []byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)

func twiml() *source.Reply {
	return &source.Reply{Status: http.StatusOK, ContentType: "text/xml", Body: emptyTwiML}
}

// verifyDesk checks the desk's Standard Webhooks signature.
func verifyDesk(req *apigw.Request, st *settings, cr *creds, now time.Time) error {
	if st.Handover.DeskURL == "" || len(cr.desk) == 0 {
		return apigw.Errorf(http.StatusNotFound, "route_not_found", "this Twilio account has no handover desk (settings handover.deskUrl and credentials deskSecret)")
	}
	err := stdwebhook.Verify(cr.desk, req.HeaderValue(stdwebhook.HeaderID), req.HeaderValue(stdwebhook.HeaderTimestamp),
		req.HeaderValue(stdwebhook.HeaderSignature), req.Body, now, 0)
	if err == nil {
		return nil
	}
	return apigw.Wrap(err, http.StatusUnauthorized, stdwebhook.Code(err), err.Error())
}
