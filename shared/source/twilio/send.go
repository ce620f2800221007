package twilio

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Errors of a send that will not work as it is; none is retried.
var (
	errMisconfigured  = errors.New("account misconfigured")
	ErrOptedOut       = errors.New("the visitor opted out (STOP): nothing is sent until they opt back in (START)")
	ErrOutsideWindow  = errors.New("outside WhatsApp's 24-hour customer service window: free-form messages are refused until the visitor writes again (send an approved template from your own system)")
	ErrNoConversation = errors.New("the conversation's address is unknown or expired")
)

// whatsAppWindow is WhatsApp's customer service window. The visitor's last
// message is recorded with noteEvery's granularity (never later than it
// was), so the bridge stops free-form sends up to that much early, never
// late.
const (
	whatsAppWindow = 24 * time.Hour
	noteEvery      = 10 * time.Minute
)

// Send implements source.Sender. The message is rendered for the visitor's
// channel and sent as one or more parts, in order; p.Sent counts the parts
// Twilio accepted.
//
// Twilio has no idempotency key, so a part it accepted must never be sent
// again. Before the first part the bridge records which message it is
// sending (one write, with the message's reply options). Any later attempt
// for the same message (an in-process retry, a redelivery after a crash or
// a timeout) sees that record and first lists the visitor's recent messages
// at Twilio: a part already there is counted as sent, not resent. What
// remains is the short time in which Twilio has created a message its list
// does not show yet.
func (a *Adapter) Send(ctx context.Context, acct *source.Account, conv source.Conversation, msg ultimate.Message, p *source.Progress) error {
	if p == nil {
		p = &source.Progress{}
	}
	_, err := a.deliver(ctx, acct, conv, msg, p)
	return err
}

// deliver is Send, also used for the handover text and the desk's
// replies; it reports the address it sent to.
func (a *Adapter) deliver(ctx context.Context, acct *source.Account, conv source.Conversation, msg ultimate.Message, p *source.Progress) (*state.Address, error) {
	c, err := a.api(acct)
	if err != nil {
		return nil, err
	}
	addr, e, err := a.lookup(ctx, acct, conv.ID)
	if err != nil {
		return nil, err
	}
	if addr.OptedOut {
		return addr, ErrOptedOut
	}
	if e.Visitor.Channel == ChannelWhatsApp && !addr.LastIn.IsZero() && a.Now().Sub(addr.LastIn) > whatsAppWindow {
		return addr, fmt.Errorf("%w (the visitor last wrote %s ago)", ErrOutsideWindow, a.Now().Sub(addr.LastIn).Round(time.Minute))
	}
	r := newRenderer(c.st, e.Visitor.Channel).render(msg)
	if p.Sent >= len(r.parts) {
		return addr, nil
	}
	if p.ID == "" {
		p.ID = sendingKey(msg.MessageID)
	}
	again := p.Sent > 0 || (addr.Sending == p.ID && addr.Current)
	var already []message
	if again {
		// An earlier attempt may have reached Twilio: look before sending.
		if already, err = c.recent(ctx, e.Visitor); err != nil {
			return addr, err
		}
	} else if err := a.State.NoteBotMessage(ctx, addr, r.optionsJSON(), p.ID); err != nil {
		return addr, retry.Retryable(err, 0)
	}
	since := addr.SendingAt.Truncate(time.Second).Add(-time.Second)
	for i := p.Sent; i < len(r.parts); i++ {
		if again && accepted(already, r.parts[i], since) {
			p.Sent = i + 1
			continue
		}
		if _, err := c.create(ctx, e, r.parts[i], c.statusCallback(conv.ID, p.ID, i)); err != nil {
			return addr, a.sendError(ctx, addr, err)
		}
		p.Sent = i + 1
	}
	return addr, nil
}

// lookup finds the conversation's address.
func (a *Adapter) lookup(ctx context.Context, acct *source.Account, id string) (*state.Address, ends, error) {
	addr, err := a.State.Address(ctx, Name, acct.Account, id)
	if errors.Is(err, state.ErrNoAddress) {
		return nil, ends{}, fmt.Errorf("conversation %s: %w", id, ErrNoConversation)
	}
	if err != nil {
		return nil, ends{}, retry.Retryable(err, 0)
	}
	e, err := decodeEnds(addr.Value)
	if err != nil {
		return nil, ends{}, fmt.Errorf("conversation %s: %w", id, err)
	}
	return addr, e, nil
}

// sendError turns Twilio's refusals the bridge understands into their
// named errors, and remembers an opt-out Twilio knew before the bridge did.
func (a *Adapter) sendError(ctx context.Context, addr *state.Address, err error) error {
	switch codeOf(err) {
	case codeUnsubscribed:
		if serr := a.State.SetOptOut(ctx, addr, true); serr != nil {
			a.log().WarnContext(ctx, "could not record an opt-out Twilio reported", "conversation", addr.ID, "error", serr.Error())
		}
		return fmt.Errorf("%w: %w", ErrOptedOut, err)
	case codeOutsideWindow:
		return fmt.Errorf("%w: %w", ErrOutsideWindow, err)
	}
	return err
}

// accepted reports whether Twilio already has part p: an outbound message
// created since the first attempt with the part's text. A quick-reply part
// is found by its body variable, which Twilio's rendered body contains.
func accepted(msgs []message, p part, since time.Time) bool {
	want := p.Body
	if p.ContentSid != "" {
		want = p.Variables["1"]
	}
	for _, m := range msgs {
		if m.Direction == "inbound" || m.created().Before(since) {
			continue
		}
		if m.Body == want || (p.ContentSid != "" && want != "" && strings.Contains(m.Body, want)) {
			return true
		}
	}
	return false
}

// sendingKey names an AI-agent message across attempts: a digest of its
// messageId (stable across the AI agent's resends and the bridge's
// retries), or a random key for a message without one.
func sendingKey(messageID string) string {
	if messageID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		return "r" + hex.EncodeToString(b[:])
	}
	sum := sha256.Sum256([]byte(messageID))
	return "m" + hex.EncodeToString(sum[:12])
}

// statusCallback is the URL Twilio reports the part's delivery to. The
// query names the conversation, the message and the part; Twilio signs the
// whole URL, so they come back authentic.
func (c *api) statusCallback(convID, key string, i int) string {
	if !c.st.statusCallbacks {
		return ""
	}
	q := url.Values{"c": {convID}, "m": {key}, "p": {strconv.Itoa(i)}}
	return c.st.webhookBase(c.account) + "/" + routeStatus + "?" + q.Encode()
}

func asStatus(err error) (*egress.StatusError, bool) {
	var se *egress.StatusError
	ok := errors.As(err, &se)
	return se, ok
}
