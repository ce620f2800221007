package twilio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
)

// The REST calls the adapter makes, per the twilio-oai specification
// (api_v2010 Messages, messaging_v2 Indicators/Typing): form-encoded
// requests, HTTP Basic with the account's API key, JSON answers.

// api is one account's Twilio REST API, for one call.
type api struct {
	hc      *egress.Client
	account string
	st      *settings
	cr      *creds
}

func (a *Adapter) api(acct *source.Account) (*api, error) {
	st, err := settingsOf(acct)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMisconfigured, err)
	}
	cr, err := parsedCredentials.Of(acct)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMisconfigured, err)
	}
	if a.State == nil {
		return nil, fmt.Errorf("%w: the Twilio adapter has no State table", errMisconfigured)
	}
	return &api{hc: a.HTTP, account: acct.Account, st: st, cr: cr}, nil
}

// Twilio error codes the adapter acts on.
const (
	codeUnsubscribed  = "21610" // the recipient replied STOP
	codeOutsideWindow = "63016" // WhatsApp: free-form message outside the 24-hour window
)

// errorCode reads the code of a Twilio error answer ({"code": 21610,
// "message": ..., "more_info": ..., "status": 400}); only the number is
// kept, never the message (it may echo a phone number).
func errorCode(body []byte) string {
	var e struct {
		Code json.Number `json:"code"`
	}
	if json.Unmarshal(body, &e) != nil || e.Code == "" {
		return ""
	}
	if _, err := strconv.Atoi(e.Code.String()); err != nil {
		return ""
	}
	return "twilio-" + e.Code.String()
}

// codeOf is the Twilio error number in an egress error, or "".
func codeOf(err error) string {
	if se, ok := asStatus(err); ok {
		return strings.TrimPrefix(se.Code, "twilio-")
	}
	return ""
}

func (c *api) do(ctx context.Context, op, method, u string, form url.Values, maxBody int64) ([]byte, error) {
	h := http.Header{"Accept": {"application/json"}}
	var body []byte
	if form != nil {
		body = []byte(form.Encode())
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.cr.apiKey+":"+c.cr.apiSecret)))
	resp, err := c.hc.Do(ctx, &egress.Request{
		Op: "twilio " + op, Method: method, URL: u, Header: h, Body: body,
		Timeout: c.st.timeout, MaxBody: maxBody, Code: errorCode,
	})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *api) messagesURL() string {
	return c.st.apiBase + "/2010-04-01/Accounts/" + url.PathEscape(c.account) + "/Messages.json"
}

// message is the part of a Message resource the adapter reads.
type message struct {
	Sid         string `json:"sid"`
	Body        string `json:"body"`
	Direction   string `json:"direction"`
	DateCreated string `json:"date_created"`
	Status      string `json:"status"`
}

func (m message) created() time.Time {
	t, err := time.Parse(time.RFC1123Z, m.DateCreated)
	if err != nil {
		return time.Time{}
	}
	return t
}

// create sends one message and returns its SID.
func (c *api) create(ctx context.Context, e ends, p part, statusCallback string) (string, error) {
	f := url.Values{"To": {e.Visitor.String()}}
	switch {
	case c.st.MessagingServiceSid != "":
		f.Set("MessagingServiceSid", c.st.MessagingServiceSid)
	case c.st.from.Number != "":
		from := c.st.from
		from.Channel = e.Visitor.Channel
		f.Set("From", from.String())
	default:
		f.Set("From", e.Tenant.String())
	}
	if p.ContentSid != "" {
		vars, _ := json.Marshal(p.Variables)
		f.Set("ContentSid", p.ContentSid)
		f.Set("ContentVariables", string(vars))
	} else {
		f.Set("Body", p.Body)
	}
	if statusCallback != "" {
		f.Set("StatusCallback", statusCallback)
	}
	b, err := c.do(ctx, "CreateMessage", http.MethodPost, c.messagesURL(), f, 64<<10)
	if err != nil {
		return "", err
	}
	var m message
	if json.Unmarshal(b, &m) != nil || m.Sid == "" {
		return "", &egress.StatusError{Op: "twilio CreateMessage", Status: http.StatusCreated, Reason: "the answer has no sid"}
	}
	return m.Sid, nil
}

// recent lists the latest messages to the visitor, newest first.
func (c *api) recent(ctx context.Context, to address) ([]message, error) {
	q := url.Values{"To": {to.String()}, "PageSize": {"50"}}
	b, err := c.do(ctx, "ListMessage", http.MethodGet, c.messagesURL()+"?"+q.Encode(), nil, 1<<20)
	if err != nil {
		return nil, err
	}
	var page struct {
		Messages []message `json:"messages"`
	}
	if json.Unmarshal(b, &page) != nil {
		return nil, &egress.StatusError{Op: "twilio ListMessage", Status: http.StatusOK, Reason: "the answer is not a message list"}
	}
	return page.Messages, nil
}

// fetch reads one message.
func (c *api) fetch(ctx context.Context, sid string) (message, error) {
	u := c.st.apiBase + "/2010-04-01/Accounts/" + url.PathEscape(c.account) + "/Messages/" + url.PathEscape(sid) + ".json"
	b, err := c.do(ctx, "FetchMessage", http.MethodGet, u, nil, 64<<10)
	if err != nil {
		return message{}, err
	}
	var m message
	if json.Unmarshal(b, &m) != nil {
		return message{}, &egress.StatusError{Op: "twilio FetchMessage", Status: http.StatusOK, Reason: "the answer is not a message"}
	}
	return m, nil
}

// typing shows WhatsApp's typing indicator for the visitor's message (and
// marks it read).
func (c *api) typing(ctx context.Context, messageSid string) error {
	f := url.Values{"channel": {"whatsapp"}, "messageId": {messageSid}}
	_, err := c.do(ctx, "CreateTypingIndicator", http.MethodPost, c.st.msgBase+"/v2/Indicators/Typing.json", f, 16<<10)
	return err
}
