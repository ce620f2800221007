package twilio

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// The handover desk: Programmable Messaging has no agents of its own, so a
// handover goes to the tenant's desk (its CRM, its contact centre) over the
// generic source's Standard Webhooks contract, and the SMS or WhatsApp
// conversation stays on the bridge's number:
//
//	bridge → deskUrl   escalation.requested   the handover, with its context
//	bridge → deskUrl   visitor.message        each visitor message while the desk has the conversation
//	desk → /desk       agent.message          the desk's reply, which the bridge sends to the visitor
//	desk → /desk       conversation.handedBack the conversation goes back to the AI agent
//
// The desk never needs the visitor's number (unless the account shares it);
// it answers through the bridge. Twilio Flex and Conversations are not
// driven natively: a Flex deployment takes the desk's role with a small
// function that speaks this contract.

// Desk event types.
const (
	DeskEscalation     = "escalation.requested"
	DeskVisitorMessage = "visitor.message"
	DeskAgentMessage   = "agent.message"
	DeskHandedBack     = "conversation.handedBack"
)

// DeskEvent is the body of every desk event, the generic source's envelope.
type DeskEvent struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// ConversationRef names the conversation in desk events.
type ConversationRef struct {
	ConversationID         string `json:"conversationId"`
	PlatformConversationID string `json:"platformConversationId"`
}

// Escalation is the data of escalation.requested: the generic source's
// fields, with what a desk needs to take an SMS or WhatsApp conversation.
type Escalation struct {
	ConversationRef
	EscalateTo string `json:"escalateTo,omitempty"`
	// Reason and Context are the generic source's, field for field.
	Reason  string                  `json:"reason"`
	Context generic.HandoverContext `json:"context"`
	Channel string                  `json:"channel"`
	Visitor Visitor                 `json:"visitor"`
	// ReplyURL is where the desk posts agent.message and
	// conversation.handedBack (when the account has a publicBaseUrl).
	ReplyURL string `json:"replyUrl,omitempty"`
}

// Visitor is what the desk may know of the visitor.
type Visitor struct {
	Name    string `json:"name,omitempty"`
	Country string `json:"country,omitempty"`
	Number  string `json:"number,omitempty"` // only with settings shareVisitorNumber
}

// VisitorMessage is the data of visitor.message.
type VisitorMessage struct {
	ConversationRef
	Text string `json:"text"`
}

// Escalate implements source.Escalator: escalation.requested to the desk;
// when the desk took it (2xx), the account's handover text to the visitor.
// Without a desk the handover is refused, so the AI agent runs its own
// fallback.
func (a *Adapter) Escalate(ctx context.Context, acct *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	c, err := a.api(acct)
	if err != nil {
		return err
	}
	if c.st.Handover.DeskURL == "" {
		return fmt.Errorf("twilio account %s has no handover desk (settings handover.deskUrl): %w", acct.Account, source.ErrUnsupported)
	}
	addr, e, err := a.lookup(ctx, acct, conv.ID)
	if err != nil {
		return err
	}
	data := Escalation{
		ConversationRef: ref(conv), EscalateTo: req.EscalateTo, Channel: e.Visitor.Channel,
		Visitor: Visitor{Country: countryOf(e.Visitor.Number, "")},
		Reason:  cmp.Or(req.Context.Reason, source.ReasonEscalate),
		Context: generic.HandoverContext{Parameters: req.Context.Params, Transcript: req.Context.Transcript, Held: req.Context.Held},
	}
	if conv, err := a.State.Conversation(ctx, conv.PCID()); err == nil {
		data.Visitor.Name = conv.Attrs[AttrName]
	}
	if c.st.ShareVisitorNumber {
		data.Visitor.Number = e.Visitor.Number
	}
	if c.st.publicBase != "" {
		data.ReplyURL = c.st.webhookBase(acct.Account) + "/" + routeDesk
	}
	id := req.ID
	if id == "" {
		id = conv.PCID() + "#" + addr.ID
	}
	if _, err := a.deskCall(ctx, c, "esc_"+digest(id), DeskEscalation, data); err != nil {
		return err
	}
	if text := c.st.Handover.Text; text != "" {
		p := &source.Progress{ID: sendingKey("handover#" + id)}
		if _, err := a.deliver(ctx, acct, conv, ultimate.Message{Type: "text", Text: text, MessageID: "handover#" + id}, p); err != nil {
			// The desk has the conversation: the handover stands, the
			// courtesy text is lost (and logged).
			a.log().WarnContext(ctx, "twilio handover text not sent", "conversation", conv.ID, "reason", egress.Reason(err))
		}
	}
	return nil
}

// toDesk passes a visitor's message to the desk that has the
// conversation; the webhook-id is the MessageSid's, so the desk can dedupe
// Twilio's retries.
func (a *Adapter) toDesk(ctx context.Context, acct *source.Account, conv source.Conversation, sid, text string) error {
	c, err := a.api(acct)
	if err != nil {
		return misconfigured(err)
	}
	if c.st.Handover.DeskURL == "" {
		return apigw.Errorf(http.StatusConflict, "no_desk", "the conversation is with a human but the account has no desk to pass the message to")
	}
	if text == "" {
		return nil
	}
	if _, err := a.deskCall(ctx, c, "msg_"+sid, DeskVisitorMessage, VisitorMessage{ConversationRef: ref(conv), Text: text}); err != nil {
		return &apigw.Error{Status: http.StatusBadGateway, Code: "desk_unavailable", Message: "the desk did not accept the visitor's message; retry later", RetryAfter: 5 * time.Second, Err: err}
	}
	return nil
}

func ref(c source.Conversation) ConversationRef {
	return ConversationRef{ConversationID: c.ID, PlatformConversationID: c.PCID()}
}

// deskCall signs and posts one desk event, returning the 2xx answer's body.
func (a *Adapter) deskCall(ctx context.Context, c *api, id, typ string, data any) ([]byte, error) {
	if c.cr.callback == nil {
		return nil, fmt.Errorf("%w: credentials callbackSecret is required with handover.deskUrl", errMisconfigured)
	}
	d, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	now := a.Now()
	body, err := json.Marshal(DeskEvent{Type: typ, Timestamp: now.UTC().Format(time.RFC3339Nano), Data: d})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range stdwebhook.Headers(c.cr.callback, id, now, body) {
		h.Set(k, v)
	}
	resp, err := a.HTTP.Do(ctx, &egress.Request{
		Op: "twilio desk " + typ, Method: http.MethodPost, URL: c.st.Handover.DeskURL, Header: h, Body: body,
		Timeout: c.st.deskTimeout, MaxBody: 64 << 10,
	})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// deskSeenTTL covers a desk's retries of one event (Standard Webhooks
// senders retry for about three days).
const deskSeenTTL = 72 * time.Hour

// parseDesk handles the desk's events: its replies go to the visitor now
// (once per webhook-id), a hand-back ends the AI agent's session so the
// next visitor message starts afresh.
func (a *Adapter) parseDesk(ctx context.Context, req *apigw.Request, acct *source.Account) (*source.Batch, error) {
	id := req.HeaderValue(stdwebhook.HeaderID)
	if err := ids.Event(stdwebhook.HeaderID, id); err != nil {
		return nil, err
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			ConversationID string `json:"conversationId"`
			Text           string `json:"text"`
		} `json:"data"`
	}
	if err := json.Unmarshal(req.Body, &ev); err != nil {
		return nil, apigw.Errorf(http.StatusBadRequest, "invalid_event", "body: must be a JSON object {type, data}: %s", apigw.JSONProblem(err))
	}
	convID := ev.Data.ConversationID
	if err := ids.Conversation("data.conversationId", convID); err != nil {
		return nil, err
	}
	conv := acct.Conversation(convID)
	ok := func(status string) *source.Batch {
		b, _ := json.Marshal(map[string]string{"status": status})
		return &source.Batch{Reply: &source.Reply{Status: http.StatusOK, ContentType: "application/json", Body: b}}
	}
	switch ev.Type {
	case DeskHandedBack:
		if _, _, err := a.lookup(ctx, acct, convID); err != nil {
			return nil, deskLookupError(err)
		}
		b := ok("accepted")
		b.Events = []source.Event{{ID: "desk#" + id, Kind: source.HandedBack, Conversation: convID}}
		return b, nil
	case DeskAgentMessage:
		text := strings.TrimSpace(ev.Data.Text)
		if text == "" || utf8.RuneCountInString(text) > maxText {
			return nil, apigw.Errorf(http.StatusBadRequest, "invalid_event", "data.text: required, at most %d characters", maxText)
		}
		c, err := a.State.Conversation(ctx, conv.PCID())
		if err != nil && !errors.Is(err, state.ErrNoConversation) {
			return nil, unavailable(err)
		}
		if c == nil || c.Status != state.ConvEscalated {
			return nil, apigw.Errorf(http.StatusConflict, "not_with_desk", "the conversation is not handed over to the desk; agent.message is accepted only during a handover")
		}
		seen := state.SeenKey(Name, acct.Account, "desk-"+digest(id))
		first, err := a.State.MarkSeen(ctx, seen, deskSeenTTL)
		if err != nil {
			return nil, unavailable(err)
		}
		if !first {
			return ok("duplicate"), nil
		}
		p := &source.Progress{ID: sendingKey("desk#" + id)}
		if _, err := a.deliver(ctx, acct, conv, ultimate.Message{Type: "text", Text: text, MessageID: "desk#" + id}, p); err != nil {
			if ferr := a.State.ForgetSeen(ctx, seen); ferr != nil {
				a.log().ErrorContext(ctx, "could not release a failed desk message for a retry", "conversation", convID, "error", ferr.Error())
			}
			return nil, deliveryError(err)
		}
		return ok("delivered"), nil
	default:
		return nil, apigw.Errorf(http.StatusBadRequest, "invalid_event", "type: must be %s or %s", DeskAgentMessage, DeskHandedBack)
	}
}

func deskLookupError(err error) error {
	if errors.Is(err, ErrNoConversation) {
		return apigw.Wrap(err, http.StatusNotFound, "unknown_conversation", "no such conversation on this account")
	}
	return unavailable(err)
}

// deliveryError answers the desk when its reply could not be sent.
func deliveryError(err error) error {
	switch {
	case errors.Is(err, ErrOptedOut):
		return apigw.Wrap(err, http.StatusConflict, "opted_out", "the visitor opted out (STOP); nothing can be sent")
	case errors.Is(err, ErrOutsideWindow):
		return apigw.Wrap(err, http.StatusConflict, "outside_window", "outside WhatsApp's 24-hour window; the visitor must write first")
	case errors.Is(err, ErrNoConversation):
		return apigw.Wrap(err, http.StatusNotFound, "unknown_conversation", "no such conversation on this account")
	default:
		return &apigw.Error{Status: http.StatusBadGateway, Code: "delivery_failed", Message: "Twilio did not accept the message; retry later", RetryAfter: 5 * time.Second, Err: err}
	}
}
