package twilio

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// Channels the adapter serves.
const (
	ChannelSMS      = "sms"
	ChannelWhatsApp = "whatsapp"
)

// address is one end of a conversation: a channel and a number.
type address struct {
	Channel string
	Number  string // E.164 (+…), or an SMS short code
}

var errAddress = errors.New("must be an E.164 number (+…) or whatsapp:+…")

// parseAddress reads Twilio's form of an address: +E164 for SMS,
// whatsapp:+E164 for WhatsApp, a short code for an SMS sender. Other
// channels (rcs:, messenger:) are not served.
func parseAddress(s string) (address, error) {
	if n, ok := strings.CutPrefix(s, "whatsapp:"); ok {
		if !e164(n) {
			return address{}, errAddress
		}
		return address{Channel: ChannelWhatsApp, Number: n}, nil
	}
	if e164(s) || shortCode(s) {
		return address{Channel: ChannelSMS, Number: s}, nil
	}
	return address{}, errAddress
}

// String is Twilio's form, as To and From take it.
func (a address) String() string {
	if a.Channel == ChannelWhatsApp {
		return "whatsapp:" + a.Number
	}
	return a.Number
}

// ends are the two numbers of a conversation: the natural key.
type ends struct {
	Tenant  address // the number the visitor wrote to
	Visitor address
}

type endsJSON struct {
	Tenant  string `json:"t"`
	Visitor string `json:"v"`
}

// hash is the key the State table files the conversation under: a digest,
// so the key (which logs may show) carries no number. It is not a secret:
// phone numbers are few enough to enumerate, and the numbers themselves are
// in the ID item.
func (e ends) hash(account string) string {
	sum := sha256.Sum256([]byte(Name + "\x00" + account + "\x00" + e.Tenant.String() + "\x00" + e.Visitor.String()))
	return hex.EncodeToString(sum[:20])
}

func (e ends) encode() string {
	b, _ := json.Marshal(endsJSON{Tenant: e.Tenant.String(), Visitor: e.Visitor.String()})
	return string(b)
}

func decodeEnds(s string) (ends, error) {
	var j endsJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return ends{}, errors.New("the stored address is not readable")
	}
	t, err := parseAddress(j.Tenant)
	if err != nil {
		return ends{}, errors.New("the stored tenant number is not an address")
	}
	v, err := parseAddress(j.Visitor)
	if err != nil || v.Channel != t.Channel {
		return ends{}, errors.New("the stored visitor number is not an address")
	}
	return ends{Tenant: t, Visitor: v}, nil
}

// newConversationID is an opaque, random conversation ID: closing a
// conversation gives the visitor's next message a fresh one.
func newConversationID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "tw" + hex.EncodeToString(b[:])
}
