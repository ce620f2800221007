// Package queue is the bridge's durable hand-off between acknowledging a
// delivery and making it: SQS FIFO queues with one message group per
// conversation. The producer side records an Envelope; the consumer side is
// a Lambda SQS event source with ReportBatchItemFailures, processing each
// conversation's records in order and retrying failures with growing delays
// until the account's maximum age, after which a record becomes a dead
// letter.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/jsonread"
)

// Version is the Envelope format this code writes and reads.
const Version = 1

// Kinds of records.
const (
	KindInbound  = "inbound"  // a platform event for the AI agent
	KindOutbound = "outbound" // an AI-agent message for the platform
	KindBarrier  = "barrier"  // a handover waiting for the messages queued before it
)

// Envelope is the body of every queue message.
type Envelope struct {
	V    int    `json:"v"`
	Kind string `json:"kind"`
	// Key is the State table item that claimed the work (EVENT#…, BOTMSG#…);
	// a dead letter is kept under it. Empty for records without dedupe.
	Key  string `json:"key,omitempty"`
	PCID string `json:"pcid"`
	// Enqueued is when the bridge accepted the work (Unix ms): the retry
	// horizon and the fallback count from here.
	Enqueued int64           `json:"enqueued"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// EnqueuedAt returns Enqueued as a time.
func (e Envelope) EnqueuedAt() time.Time { return time.UnixMilli(e.Enqueued) }

// ErrBadEnvelope means a queue message is not one this code can read.
var ErrBadEnvelope = errors.New("not a crmbridge queue envelope")

// Decode reads an Envelope, checking the fields every consumer relies on.
func Decode(body string) (Envelope, error) {
	var e Envelope
	if b := []byte(body); !decodeFast(b, &e) {
		e = Envelope{}
		if err := json.Unmarshal(b, &e); err != nil {
			return Envelope{}, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
		}
	}
	switch {
	case e.V != Version:
		return Envelope{}, fmt.Errorf("%w: version %d (want %d)", ErrBadEnvelope, e.V, Version)
	case e.Kind != KindInbound && e.Kind != KindOutbound && e.Kind != KindBarrier:
		return Envelope{}, fmt.Errorf("%w: kind %q", ErrBadEnvelope, e.Kind)
	case e.PCID == "":
		return Envelope{}, fmt.Errorf("%w: pcid missing", ErrBadEnvelope)
	case len(e.PCID) > ids.MaxPCID:
		// Longer than any conversation the bridge accepts: not logged,
		// not made a group or a dead letter's reference.
		return Envelope{}, fmt.Errorf("%w: pcid longer than %d bytes (%d)", ErrBadEnvelope, ids.MaxPCID, len(e.PCID))
	}
	return e, nil
}

// decodeFast reads an envelope as this code writes it without reflection
// (a third of a delivery's decoding work); anything else (a null, a
// repeated or case-folded key, a number that is not an integer, invalid
// JSON) is left to encoding/json, which decodes it the same
// (FuzzDecodeFast). Data is part of b, not a copy.
func decodeFast(b []byte, e *Envelope) bool {
	var (
		d  = jsonread.New(b, envelopeCommon)
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "v":
			var v int64
			ok = s.First(0) && d.Int(&v)
			e.V = int(v)
		case "kind":
			ok = s.First(1) && d.Into(&e.Kind)
		case "key":
			ok = s.First(2) && d.Into(&e.Key)
		case "pcid":
			ok = s.First(3) && d.Into(&e.PCID)
		case "enqueued":
			ok = s.First(4) && d.Int(&e.Enqueued)
		case "data":
			if ok = s.First(5); ok {
				e.Data, ok = d.Raw()
				ok = ok && e.Data[0] != 'n' // null: encoding/json's
			}
		default:
			ok = !jsonread.FoldsTo(key, "v", "kind", "key", "pcid", "enqueued", "data") && d.Skip()
		}
	}
	return ok && !o.Bad() && d.End()
}

// envelopeCommon gives the kinds without allocating.
func envelopeCommon(b []byte) (string, bool) {
	switch string(b) {
	case KindInbound:
		return KindInbound, true
	case KindOutbound:
		return KindOutbound, true
	case KindBarrier:
		return KindBarrier, true
	}
	return "", false
}

// GroupID is the MessageGroupId of a conversation: a hash, because a
// platformConversationId may be longer than SQS's 128 characters and may
// hold characters SQS refuses.
func GroupID(pcid string) string { return "c-" + digest(pcid) }

// DedupeID is the MessageDeduplicationId for a claim key: the same work sent
// twice within SQS's five-minute window is stored once.
func DedupeID(key string) string { return "d-" + digest(key) }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Producer puts records on one FIFO queue.
type Producer struct {
	API SendAPI
	URL string
	Now func() time.Time
}

// Send records e on the queue, in e.PCID's group. dedupe identifies the work
// (a claim key, or a digest of the event when the platform gives no ID).
// Enqueued is set when zero.
func (p *Producer) Send(ctx context.Context, e Envelope, dedupe string) error {
	if p == nil || p.API == nil || p.URL == "" {
		return errors.New("queue: no queue configured")
	}
	e.V = Version
	if e.Enqueued == 0 {
		now := time.Now
		if p.Now != nil {
			now = p.Now
		}
		e.Enqueued = now().UnixMilli()
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode %s record: %w", e.Kind, err)
	}
	err = p.API.SendMessage(ctx, SendRequest{
		QueueURL: p.URL, Body: sqsSafe(body), GroupID: GroupID(e.PCID), DedupeID: DedupeID(dedupe),
	})
	if err != nil {
		return fmt.Errorf("enqueue %s record on %s: %w", e.Kind, queueName(p.URL), err)
	}
	return nil
}

// sqsSafe is an envelope's JSON with every character SQS may refuse
// written as a JSON escape: U+FFFE and U+FFFF, which SQS never accepts
// (its message bodies are XML characters), and those above U+FFFF, which
// SQS accepts but some emulators (fauxqs) do not. Such characters can only
// stand inside the envelope's strings, where the escape decodes to the
// same text; a visitor's emoji then never makes a send fail.
func sqsSafe(body []byte) string {
	i := 0
	for i < len(body) && body[i] < 0xEF {
		i++
	}
	if i == len(body) {
		return string(body)
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(body)+64)
	out = append(out, body[:i]...)
	esc := func(r rune) {
		out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for i < len(body) {
		if body[i] < utf8.RuneSelf {
			out = append(out, body[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(body[i:])
		switch {
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			esc(r1)
			esc(r2)
		case r == 0xFFFE || r == 0xFFFF:
			esc(r)
		default:
			out = append(out, body[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// queueName is the last path segment of a queue URL, for errors and logs.
func queueName(url string) string {
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		return url[i+1:]
	}
	return url
}
