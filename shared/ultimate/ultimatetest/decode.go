package ultimatetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// badRequest is a 400 with the message the fake answers. Messages name
// fields but never echo values, which may be personal data.
type badRequest string

func (e badRequest) Error() string { return string(e) }

func badf(format string, args ...any) error { return badRequest(fmt.Sprintf(format, args...)) }

// object is a JSON object whose members are decoded one by one, so each
// can be type-checked strictly (encoding/json would turn 42 into a string
// error without naming the field, and accepts unknown fields).
type object map[string]json.RawMessage

func parseObject(body []byte, what string) (object, error) {
	var o object
	if err := json.Unmarshal(body, &o); err != nil || o == nil {
		return nil, badf("%s must be a JSON object", what)
	}
	return o, nil
}

// only rejects members outside allowed. The contract lists every field; an
// unknown one is most likely a misspelling (platformConversationID) that the
// real API would silently ignore.
func (o object) only(prefix string, allowed ...string) error {
	for _, k := range slices.Sorted(maps.Keys(o)) {
		if !slices.Contains(allowed, k) {
			return badf("%sunknown field %q", prefix, truncate(k, 40))
		}
	}
	return nil
}

// has reports a member that is present and not null (null means absent, as
// for the real API's optional fields).
func (o object) has(name string) bool {
	raw, ok := o[name]
	return ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// str returns a string member; present is false when it is absent or null.
func (o object) str(prefix, name string) (v string, present bool, err error) {
	if !o.has(name) {
		return "", false, nil
	}
	if err := json.Unmarshal(o[name], &v); err != nil {
		return "", true, badf("%s%s must be a string", prefix, name)
	}
	return v, true, nil
}

// required returns a non-empty string member.
func (o object) required(prefix, name, why string) (string, error) {
	v, ok, err := o.str(prefix, name)
	if err != nil {
		return "", err
	}
	if !ok || v == "" {
		return "", badf("%s%s is required%s", prefix, name, why)
	}
	return v, nil
}

// commonFields reads what every Chat and widget API body has: an object with
// the required platformConversationId and eventType, and no members but
// those and fields.
func commonFields(body []byte, fields ...string) (o object, pcid, eventType string, err error) {
	if o, err = parseObject(body, "body"); err != nil {
		return nil, "", "", err
	}
	if err = o.only("", append([]string{"platformConversationId", "eventType"}, fields...)...); err != nil {
		return nil, "", "", err
	}
	if pcid, err = o.required("", "platformConversationId", ""); err != nil {
		return nil, "", "", err
	}
	if eventType, err = o.required("", "eventType", ""); err != nil {
		return nil, "", "", err
	}
	return o, pcid, eventType, nil
}

// decodeChat validates a Chat API body against the contract.
//
// Choices where the docs are loose: metaData must be an array (the shape in
// Ultimate's own template) under either spelling, but not both at once; it
// is refused with endSession (the template says every event but that one)
// and required with the metadata event, which would otherwise do nothing;
// cardIndex must be a non-negative integer literal and only comes with
// message; text sent with other events is accepted and ignored ("not used").
func decodeChat(body []byte) (ultimate.ChatEvent, error) {
	var ev ultimate.ChatEvent
	o, pcid, et, err := commonFields(body, "text", "cardIndex", "metaData", "metadata")
	if err != nil {
		return ev, err
	}
	ev.PlatformConversationID, ev.EventType = pcid, et
	switch ev.EventType {
	case ultimate.EventStartSession, ultimate.EventMessage, ultimate.EventEndSession, ultimate.EventMetadata:
	default:
		return ev, badf("unknown eventType (startSession, message, endSession or metadata)")
	}
	if ev.Text, _, err = o.str("", "text"); err != nil {
		return ev, err
	}
	if ev.EventType == ultimate.EventMessage && ev.Text == "" {
		return ev, badf("text is required for eventType message")
	}
	if o.has("cardIndex") {
		if ev.EventType != ultimate.EventMessage {
			return ev, badf("cardIndex is only used with eventType message")
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(o["cardIndex"])))
		if err != nil || n < 0 {
			return ev, badf("cardIndex must be a non-negative integer")
		}
		ev.CardIndex = &n
	}
	field := "metaData"
	switch {
	case o.has("metaData") && o.has("metadata"):
		return ev, badf("send metaData or metadata, not both")
	case o.has("metadata"):
		field = "metadata"
	}
	if o.has(field) {
		if ev.EventType == ultimate.EventEndSession {
			return ev, badf("%s is not accepted with eventType endSession", field)
		}
		if ev.MetaData, err = decodeMeta(field, o[field]); err != nil {
			return ev, err
		}
	}
	if ev.EventType == ultimate.EventMetadata && len(ev.MetaData) == 0 {
		return ev, badf("metaData is required for eventType metadata")
	}
	return ev, nil
}

// decodeMeta decodes the metaData array. Values must be strings: "only
// string supported".
func decodeMeta(field string, raw json.RawMessage) ([]ultimate.MetaItem, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, badf("%s must be an array of {key, value, sanitize}", field)
	}
	out := make([]ultimate.MetaItem, 0, len(items))
	for i, item := range items {
		prefix := fmt.Sprintf("%s[%d].", field, i)
		o, err := parseObject(item, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, err
		}
		if err := o.only(prefix, "key", "value", "sanitize"); err != nil {
			return nil, err
		}
		var m ultimate.MetaItem
		if m.Key, err = o.required(prefix, "key", ""); err != nil {
			return nil, err
		}
		v, ok, err := o.str(prefix, "value")
		if err != nil || !ok {
			return nil, badf("%svalue must be a string (only string values are supported)", prefix)
		}
		m.Value = v
		if o.has("sanitize") {
			if err := json.Unmarshal(o["sanitize"], &m.Sanitize); err != nil {
				return nil, badf("%ssanitize must be a boolean", prefix)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// decodeWidget validates a widget API body. Every field is a string
// (queuePosition and waitingTime included); text is required for message
// and agent for escalationSuccess. Known fields sent with other event types
// are ignored, since one doc table files the queue fields under the wrong
// event.
func decodeWidget(body []byte) (ultimate.WidgetEvent, error) {
	var ev ultimate.WidgetEvent
	o, pcid, et, err := commonFields(body, "text", "agent", "agentAvatar", "queuePosition", "waitingTime")
	if err != nil {
		return ev, err
	}
	ev.PlatformConversationID, ev.EventType = pcid, et
	switch ev.EventType {
	case ultimate.WidgetQueueUpdate, ultimate.WidgetSuccess, ultimate.WidgetMessage, ultimate.WidgetAgentDisconnect, ultimate.WidgetFailed:
	default:
		return ev, badf("unknown eventType (escalationQueueUpdate, escalationSuccess, message, agentDisconnect or escalationFailed)")
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"text", &ev.Text}, {"agent", &ev.Agent}, {"agentAvatar", &ev.AgentAvatar},
		{"queuePosition", &ev.QueuePosition}, {"waitingTime", &ev.WaitingTime},
	} {
		if *f.dst, _, err = o.str("", f.name); err != nil {
			return ev, err
		}
	}
	switch {
	case ev.EventType == ultimate.WidgetMessage && ev.Text == "":
		return ev, badf("text is required for eventType message")
	case ev.EventType == ultimate.WidgetSuccess && ev.Agent == "":
		return ev, badf("agent is required for eventType escalationSuccess")
	}
	return ev, nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
