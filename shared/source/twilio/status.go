package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Status callbacks: each part the bridge sends names
// /sources/twilio/{accountSid}/status?c={conversation}&m={message}&p={part}
// as its StatusCallback. A part Twilio reports failed or undelivered is kept
// as an outbound dead letter with Twilio's error code, replayable with
// `crmbridge deadletters replay` once the cause is fixed; it is not lost
// silently. Its text is read back from Twilio (the bridge does not keep
// what it sent), so a dead letter of an account whose Twilio content
// retention is off names the failure without the text.

// Delivery statuses that end a message without it reaching the visitor.
const (
	statusFailed      = "failed"
	statusUndelivered = "undelivered"
)

// DeadMessage is the payload of a failed part's dead letter; it has the
// shape of the bridge's outbound dead letters, so replay sends it again.
type DeadMessage struct {
	AgentID string                  `json:"agentId"`
	PCID    string                  `json:"pcid"`
	Event   *ultimate.ConverseEvent `json:"event"`
}

func (a *Adapter) parseStatus(ctx context.Context, req *apigw.Request, acct *source.Account) (*source.Batch, error) {
	p, err := Params(req)
	if err != nil {
		return nil, err
	}
	sid, status, code := p.Get("MessageSid"), p.Get("MessageStatus"), p.Get("ErrorCode")
	if p.Get("AccountSid") != acct.Account {
		return nil, apigw.Errorf(http.StatusForbidden, "account_mismatch", "AccountSid is not the account of this URL")
	}
	if !messageSid(sid) {
		return nil, apigw.Errorf(http.StatusBadRequest, "invalid_status", "MessageSid: required, SM or MM followed by 32 hex digits")
	}
	req.Log.Set("messageSid", sid)
	req.Log.Set("messageStatus", status)
	batch := &source.Batch{Reply: twiml()}
	if status != statusFailed && status != statusUndelivered {
		return batch, nil
	}
	convID, key, partStr := req.QueryValue("c"), req.QueryValue("m"), req.QueryValue("p")
	part, perr := strconv.Atoi(partStr)
	if ids.Conversation("c", convID) != nil || !validSendingKey(key) || perr != nil || part < 0 || part > 100 {
		// Not one of the bridge's callbacks (a Messaging Service's own
		// status URL pointed here): nothing of ours failed.
		a.log().InfoContext(ctx, "twilio status callback for a message the bridge did not send", "messageSid", sid, "status", status)
		return batch, nil
	}
	if code != "" && !validErrorCode(code) {
		code = ""
	}
	conv := acct.Conversation(convID)
	if code == codeUnsubscribed {
		if addr, _, err := a.lookup(ctx, acct, convID); err == nil {
			if err := a.State.SetOptOut(ctx, addr, true); err != nil {
				return nil, unavailable(err)
			}
		}
	}
	reason := fmt.Sprintf("twilio: message %s %s", sid, status)
	if code != "" {
		reason += ", error " + code + " (https://www.twilio.com/docs/api/errors/" + code + ")"
	}
	if code == codeOutsideWindow {
		reason += ": outside WhatsApp's 24-hour window"
	}
	ev := &ultimate.ConverseEvent{PlatformConversationID: conv.PCID(), EventType: ultimate.EventSendMessage, Type: "text",
		MessageID: key + "#" + strconv.Itoa(part) + "#" + sid}
	if c, err := a.api(acct); err == nil {
		if m, err := c.fetch(ctx, sid); err == nil && m.Body != "" {
			ev.Text = m.Body
		} else {
			reason += "; its text could not be read back from Twilio"
			if err != nil {
				reason += " (" + egress.Reason(err) + ")"
			}
		}
	}
	payload, _ := json.Marshal(DeadMessage{AgentID: acct.AgentID, PCID: conv.PCID(), Event: ev})
	dl := state.DeadLetter{Key: state.BotMessageKey(acct.AgentID, "twilio-"+sid), Kind: state.DeadOutbound, Reason: reason, Payload: string(payload),
		Ref: map[string]string{"source": Name, "account": acct.Account, "agentId": acct.AgentID, "pcid": conv.PCID(), "messageSid": sid}}
	// Twilio may call back more than once for a message: the dead letter
	// is kept under the message's SID, so a repeat only counts again.
	if err := a.State.Keep(ctx, dl); err != nil {
		return nil, unavailable(err)
	}
	req.Log.Set("outcome", "dead_letter")
	return batch, nil
}
