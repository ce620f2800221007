package generic

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/crmbridge/crmbridge/shared/ascii"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Outbound event types of the contract.
const (
	OutMessage            = "message"
	OutEscalation         = "escalation.requested"
	OutTeamStatus         = "team.status"
	OutAction             = "action"
	OutWidgetEscalation   = "widget.escalation"
	OutWidgetMessage      = "widget.message"
	OutWidgetSessionEnded = "widget.sessionEnded"
)

// Outbound is the body of every event we send to the callback URL.
type Outbound struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// MessageData is the data of an outbound message event.
type MessageData struct {
	ConversationID         string           `json:"conversationId"`
	PlatformConversationID string           `json:"platformConversationId"`
	Message                ultimate.Message `json:"message"`
}

// Send implements source.Sender: one signed message event per AI-agent
// message, rich content passed through in our documented shape.
func (a *Adapter) Send(ctx context.Context, acct *source.Account, conv source.Conversation, msg ultimate.Message, p *source.Progress) error {
	if p != nil && p.Sent > 0 {
		return nil
	}
	if p == nil {
		p = &source.Progress{}
	}
	if p.ID == "" {
		p.ID = webhookID(msg.MessageID)
	}
	msg = normalize(msg)
	_, err := a.call(ctx, acct, p.ID, OutMessage, MessageData{ConversationID: conv.ID, PlatformConversationID: conv.PCID(), Message: msg})
	if err == nil {
		p.Sent = 1
	}
	return err
}

// normalize fills the link URL under one name so tenants read one field,
// and applies the bridge's rule for a link without a URL (see
// ultimate.Message.UnlinkDead): its label becomes a line of the text, so
// tenants never receive a link they cannot open. Any URL the AI agent gave
// is passed on; the tenant's chat decides what it can open.
func normalize(m ultimate.Message) ultimate.Message {
	m = m.UnlinkDead(nil)
	fix := func(bs []ultimate.Button) []ultimate.Button {
		out := make([]ultimate.Button, len(bs))
		for i, b := range bs {
			if b.Type == "" {
				b.Type = "button"
			}
			b.URL, b.Link = b.Target(), ""
			out[i] = b
		}
		return out
	}
	m.Buttons = fix(m.Buttons)
	cards := make([]ultimate.Card, len(m.CarouselCards))
	for i, c := range m.CarouselCards {
		c.Buttons = fix(c.Buttons)
		cards[i] = c
	}
	m.CarouselCards = cards
	return m
}

// call signs and POSTs one event, returning the response body of a 2xx.
// Failures worth retrying are marked retryable by egress; the caller retries
// (and keeps the same webhook-id, so the tenant can dedupe).
func (a *Adapter) call(ctx context.Context, acct *source.Account, id, typ string, data any) ([]byte, error) {
	settings, err := source.SettingsOf[*Settings](acct)
	if err != nil {
		return nil, err
	}
	k, err := parsedCredentials.Of(acct)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	body, err := json.Marshal(Outbound{Type: typ, Timestamp: now.UTC().Format(time.RFC3339Nano), Data: data})
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", typ, err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for name, v := range stdwebhook.Headers(k.callback, id, now, body) {
		h.Set(name, v)
	}
	resp, err := a.HTTP.Do(ctx, &egress.Request{
		Op: typ + " callback", Method: http.MethodPost, URL: settings.CallbackURL, Header: h, Body: body,
		Timeout: time.Duration(settings.TimeoutSeconds) * time.Second, MaxBody: answerLimit,
	})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// answerLimit bounds a tenant's answer (team.status, action results).
const answerLimit = 64 << 10

// webhookID derives an event's webhook-id from the ID the bridge keeps for
// it across retries and replays (a message's messageId, a handover's ID, a
// team query's or an action call's ID), so a redelivery gets the same id and
// the tenant can dedupe. An id that is not a plain token is hashed: a '.'
// would make the Standard Webhooks signature unverifiable (receivers refuse
// such ids) and control characters cannot go in a header at all. Without an
// ID (a message the AI agent sent without messageId) the id is random.
func webhookID(id string) string {
	switch {
	case id == "":
		return randomID()
	case plainID(id):
		return "msg_" + id
	default:
		sum := sha256.Sum256([]byte(id))
		return "msg_" + hex.EncodeToString(sum[:16])
	}
}

// plainID is 1-100 of letters, digits, _ and -.
func plainID(s string) bool { return ascii.Token(s, 100, "_-") }

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "msg_" + hex.EncodeToString(b[:])
}
