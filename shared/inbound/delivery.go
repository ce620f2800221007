package inbound

import (
	"encoding/json"

	"github.com/crmbridge/crmbridge/shared/jsonread"
	"github.com/crmbridge/crmbridge/shared/source"
)

// decodeDelivery reads a queued record's data as json.Unmarshal would:
// what accept wrote (json.Marshal of a Delivery) by a reader written for
// it, anything else by encoding/json (FuzzDecodeDelivery holds the two
// equal).
func decodeDelivery(b []byte, out *Delivery) error {
	d := &deliveryReader{newReader(b)}
	if d.delivery(out) {
		return nil
	}
	*out = Delivery{}
	return json.Unmarshal(b, out)
}

type deliveryReader struct{ jsonread.Reader }

func newReader(b []byte) jsonread.Reader { return jsonread.New(b, eventCommon) }

func (d *deliveryReader) delivery(out *Delivery) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		ok = string(key) == "event" && s.First(0) && (d.Null() || d.event(&out.Event))
	}
	return ok && !o.Bad() && d.End()
}

// event reads a source.Event. A null leaves a field as encoding/json
// leaves it (zero; nil for maps and CardIndex); keys are the field names,
// which encoding/json would also match in another case: any key not
// written exactly so is left to it.
func (d *deliveryReader) event(e *source.Event) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "ID":
			ok = s.First(0) && d.text(&e.ID)
		case "Kind":
			var k string
			ok = s.First(1) && d.text(&k)
			e.Kind = source.EventKind(k)
		case "Conversation":
			ok = s.First(2) && d.text(&e.Conversation)
		case "Text":
			ok = s.First(3) && d.text(&e.Text)
		case "LastMessage":
			ok = s.First(4) && d.text(&e.LastMessage)
		case "CardIndex":
			if ok = s.First(5); ok && !d.Null() {
				var n int64
				ok = d.Int(&n)
				i := int(n)
				e.CardIndex = &i
			}
		case "User":
			ok = s.First(6) && (d.Null() || d.StrMap(&e.User))
		case "Params":
			ok = s.First(7) && (d.Null() || d.StrMap(&e.Params))
		case "Attrs":
			ok = s.First(8) && (d.Null() || d.StrMap(&e.Attrs))
		case "Agent":
			ok = s.First(9) && (d.Null() || d.pair(&e.Agent.Name, "Name", &e.Agent.AvatarURL, "AvatarURL"))
		case "Queue":
			ok = s.First(10) && (d.Null() || d.pair(&e.Queue.Position, "Position", &e.Queue.WaitMinutes, "WaitMinutes"))
		case "MustBeNew":
			ok = s.First(11) && (d.Null() || d.Bool(&e.MustBeNew))
		default:
			ok = false
		}
	}
	return ok && !o.Bad()
}

// text reads a string field, leaving it as it is for a null.
func (d *deliveryReader) text(v *string) bool { return d.Null() || d.Into(v) }

// pair reads an object of two string fields, a and b.
func (d *deliveryReader) pair(a *string, aName string, b *string, bName string) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case aName:
			ok = s.First(0) && d.text(a)
		case bName:
			ok = s.First(1) && d.text(b)
		default:
			ok = false
		}
	}
	return ok && !o.Bad()
}

// eventCommon gives source's event kinds without allocating (another
// kind is decoded all the same, into a string of its own).
func eventCommon(b []byte) (string, bool) {
	switch string(b) {
	case "started":
		return "started", true
	case "message":
		return "message", true
	case "ended":
		return "ended", true
	case "metadata":
		return "metadata", true
	case "handedBack":
		return "handedBack", true
	case "agentQueue":
		return "agentQueue", true
	case "agentJoined":
		return "agentJoined", true
	case "agentMessage":
		return "agentMessage", true
	case "agentLeft":
		return "agentLeft", true
	case "agentFailed":
		return "agentFailed", true
	}
	return "", false
}
