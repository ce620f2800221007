package sunshine

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/source"
)

// skipCreation lists conversation:create reasons that are not a visitor
// starting to talk: a link request or a Notification API message. Starting
// an AI-agent session then would greet someone who has not asked anything;
// the visitor's first answer starts the session instead.
var skipCreation = map[string]bool{"linkRequest": true, "notification": true}

// Parse implements source.Inbound. Each event SunCo delivered becomes at
// most one neutral event with the SunCo event ID; events the bridge does not
// act on (business messages, standby events, unused triggers) are dropped so
// the delivery is still answered 200. Each event stands on its own: one that
// is malformed is logged with its IDs and skipped (Batch.Skipped), and the
// others are delivered, because SunCo never retries an answer of 400 and
// would lose them all. Only an envelope that is not one (no events array,
// another app) is refused.
func (a *Adapter) Parse(req *apigw.Request, acct *source.Account) (*source.Batch, error) {
	s, err := source.SettingsOf[*Settings](acct)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusInternalServerError, "account_misconfigured", "the account's settings are invalid; see logs")
	}
	var env envelope
	if err := json.Unmarshal(req.Body, &env); err != nil && !isTypeError(err) {
		return nil, bad("body", "must be a JSON object: "+apigw.JSONProblem(err))
	}
	if env.App != nil && env.App.ID != "" && env.App.ID != acct.Account {
		return nil, apigw.Errorf(http.StatusBadRequest, "app_mismatch", "app.id %q is not the app in the URL; point the webhook at /sources/sunshine/%s", clip(env.App.ID), clip(env.App.ID))
	}
	var raws []json.RawMessage
	if len(env.Events) == 0 || string(env.Events) == "null" || json.Unmarshal(env.Events, &raws) != nil {
		return nil, bad("events", "required, an array of events")
	}
	batch := &source.Batch{}
	for i, raw := range raws {
		p := parser{a: a, s: s, appID: acct.Account, field: fmt.Sprintf("events[%d]", i)}
		ev, ok, err := p.event(raw)
		if err != nil {
			p.skipped(err)
			batch.Skipped++
			continue
		}
		if ok {
			batch.Events = append(batch.Events, ev)
		}
	}
	return batch, nil
}

// parser reads one event of a delivery, remembering the IDs it has checked
// so a skipped event is logged by them (never by its content).
type parser struct {
	a     *Adapter
	s     *Settings
	appID string
	field string

	eventID, trigger, conv string
}

func (p *parser) skipped(err error) {
	p.a.log().Warn("sunshine event skipped", p.attrs(slog.String("problem", apigw.AsError(err).Message))...)
}

func (p *parser) attrs(more ...any) []any {
	out := []any{slog.String("source", Name), slog.String("account", p.appID), slog.String("event", p.field)}
	for _, kv := range [][2]string{{"eventId", p.eventID}, {"type", p.trigger}, {"conversation", p.conv}} {
		if kv[1] != "" {
			out = append(out, slog.String(kv[0], kv[1]))
		}
	}
	return append(out, more...)
}

func (p *parser) event(raw json.RawMessage) (source.Event, bool, error) {
	var e event
	field := p.field
	if len(raw) == 0 || raw[0] != '{' {
		return source.Event{}, false, bad(field, "must be an object")
	}
	if err := json.Unmarshal(raw, &e); err != nil && !isTypeError(err) {
		return source.Event{}, false, bad(field, "must be an object")
	}
	switch e.Type {
	case TriggerMessage, TriggerPostback, TriggerCreate, TriggerPassControl, TriggerReleaseControl, TriggerPassControlFail:
		p.trigger = e.Type
	default:
		return source.Event{}, false, nil // a trigger we do not use
	}
	// The spec makes the event ID optional. Without one the event cannot be
	// deduplicated, so a retried delivery may repeat it: said in the log.
	if e.ID != "" {
		if err := ids.Event(field+".id", e.ID); err != nil {
			return source.Event{}, false, err
		}
		p.eventID = e.ID
	}
	var pl eventPayload
	if len(e.Payload) == 0 || e.Payload[0] != '{' {
		return source.Event{}, false, bad(field+".payload", "required, an object")
	}
	if err := json.Unmarshal(e.Payload, &pl); err != nil && !isTypeError(err) {
		return source.Event{}, false, bad(field+".payload", "must be an object: "+apigw.JSONProblem(err))
	}
	if pl.Conversation == nil {
		return source.Event{}, false, bad(field+".payload.conversation", "required")
	}
	// SunCo IDs are opaque ASCII tokens; as a conversation they also obey
	// the conversation rules.
	if err := ids.Event(field+".payload.conversation.id", pl.Conversation.ID); err != nil {
		return source.Event{}, false, err
	}
	if err := ids.Conversation(field+".payload.conversation.id", pl.Conversation.ID); err != nil {
		return source.Event{}, false, err
	}
	p.conv = pl.Conversation.ID
	ev, ok, err := p.act(e, &pl)
	if ok && e.ID == "" {
		p.a.log().Warn("sunshine event without id: processed without dedupe", p.attrs()...)
	}
	return ev, ok, err
}

func (p *parser) act(e event, pl *eventPayload) (source.Event, bool, error) {
	s, field := p.s, p.field
	ev := source.Event{ID: e.ID, Conversation: pl.Conversation.ID}
	active := pl.Conversation.ActiveSwitchboardIntegration

	switch e.Type {
	case TriggerMessage:
		if pl.Message == nil {
			return ev, false, bad(field+".payload.message", "required")
		}
		m := pl.Message
		// Business messages are our own replies and the human agents'.
		if m.Author.Type != "user" || m.Deleted || !s.inControl(active) {
			return ev, false, nil
		}
		ev.Kind = source.Message
		ev.Text, ev.CardIndex, ev.User = messageText(m.Content, s)
		if strings.TrimSpace(ev.Text) == "" {
			// Content the AI agent cannot take as text (a list, a
			// template, an image without its mediaUrl): said, not dropped
			// silently.
			p.a.log().Info("sunshine message with nothing to pass on", p.attrs(slog.String("contentType", contentType(m.Content.Type)))...)
			return ev, false, nil
		}
		return ev, true, nil

	case TriggerPostback:
		if !s.inControl(active) {
			return ev, false, nil
		}
		// payload is optional in the spec: without one, the text and card
		// come from the metadata the bridge puts on its postback actions.
		text, card := postbackClick(pl.Postback)
		if text == "" {
			p.a.log().Info("sunshine postback without payload or button text: nothing to pass on", p.attrs()...)
			return ev, false, nil
		}
		ev.Kind = source.Message
		ev.Text, ev.CardIndex = text, card
		return ev, true, nil

	case TriggerCreate:
		if skipCreation[pl.CreationReason] || !s.inControl(active) {
			return ev, false, nil
		}
		ev.Kind = source.Started
		ev.User = userFields(pl.User)
		ev.Params = sessionContext(pl.User, pl.Source)
		return ev, true, nil

	case TriggerPassControl:
		// Fired for every pass, ours to the agents included; only a pass
		// back to our integration ends the AI agent's session.
		if active == nil || active.IntegrationID != s.IntegrationID {
			return ev, false, nil
		}
		ev.Kind = source.HandedBack
		return ev, true, nil

	case TriggerReleaseControl:
		// Nobody is in control now; the switchboard gives the next visitor
		// message to its default integration (the bridge, when set up as
		// documented), which must start a fresh session.
		ev.Kind = source.HandedBack
		return ev, true, nil

	default: // TriggerPassControlFail
		code := ""
		if pl.Error != nil {
			code = pl.Error.Code
		}
		p.a.log().Warn("sunshine passControl failed", p.attrs(slog.String("errorCode", egress.SafeCode(code)))...)
		return ev, false, nil
	}
}

// postbackClick is the clicked button's text and card: from the payload when
// the bridge wrote it, from the action metadata the bridge adds (for a
// postback that arrives without payload), else the payload as plain text.
func postbackClick(pb *postbackIn) (string, *int) {
	if pb == nil {
		return "", nil
	}
	if t, c, ok := decodePayload(pb.Payload); ok {
		return t, c
	}
	if t, c, ok := decodeMetadata(pb.Metadata); ok && strings.TrimSpace(pb.Payload) == "" {
		return t, c
	}
	return strings.TrimSpace(pb.Payload), nil
}

// inControl reports whether the bridge should answer in a conversation whose
// active switchboard integration is active.
func (s *Settings) inControl(active *switchboardIntegrRef) bool {
	if active == nil {
		return s.ActWithoutSwitchboard
	}
	return active.IntegrationID == s.IntegrationID
}

// messageText turns a visitor message into the AI agent's text (and, for a
// form, the answers as user fields). A reply button's answer carries our
// payload; media become a tagged reference (source.Attachment); rich text
// without a plain rendering is rendered plain; content types the AI agent
// cannot use give "".
func messageText(c contentIn, s *Settings) (string, *int, map[string]string) {
	switch c.Type {
	case "text":
		if c.Payload != "" {
			if t, card, ok := decodePayload(c.Payload); ok {
				return t, card, nil
			}
			if plainText(c) == "" {
				return c.Payload, nil, nil
			}
		}
		return plainText(c), nil, nil
	case "image", "file":
		a := source.Attachment{Kind: c.Type, Ref: c.MediaURL, Caption: plainText(c), Private: s.Attachments == AttachmentsPrivate}
		return a.Text(), nil, nil
	case "location":
		if c.Coordinates == nil {
			return "", nil, nil
		}
		var parts []string
		if c.Location != nil {
			for _, v := range []string{c.Location.Name, c.Location.Address} {
				if v != "" {
					parts = append(parts, v)
				}
			}
		}
		parts = append(parts, "("+strconv.FormatFloat(c.Coordinates.Lat, 'f', -1, 64)+","+strconv.FormatFloat(c.Coordinates.Long, 'f', -1, 64)+")")
		return "[location] " + strings.Join(parts, ", "), nil, nil
	case "formResponse":
		text, answers := formAnswers(c.Fields)
		if text == "" {
			text = c.TextFallback
		}
		return text, nil, answers
	default:
		return "", nil, nil
	}
}

// contentType is a content type fit for a log line: the spec's types are
// short lowercase words.
func contentType(t string) string {
	if len(t) == 0 || len(t) > 32 {
		return "other"
	}
	for i := 0; i < len(t); i++ {
		if c := t[i] | 0x20; c < 'a' || c > 'z' {
			return "other"
		}
	}
	return t
}

// plainText is a message's text: text itself, else the plain rendering of
// htmlText or markdownText (the spec lets either stand in for text).
func plainText(c contentIn) string {
	switch {
	case strings.TrimSpace(c.Text) != "":
		return c.Text
	case c.HTMLText != "":
		return plainHTML(c.HTMLText)
	default:
		return plainMarkdown(c.MarkdownText)
	}
}

// Bounds of a form response as the spec gives them (formResponseMessage).
const (
	maxFormFields = 20
	maxFieldName  = 128
)

// formAnswers reads a formResponse's fields: the text is one "label: value"
// line per answered field (the shape of SunCo's textFallback, which is
// read-only and may be absent), the answers are keyed by the field's name,
// for the account's metadata rules. A select answer is its options' labels
// in the text and their names in the answers.
func formAnswers(fields []formField) (string, map[string]string) {
	var lines []string
	answers := map[string]string{}
	for i, f := range fields {
		if i == maxFormFields {
			break
		}
		shown, value := f.answer()
		if shown == "" {
			continue
		}
		label := strings.TrimSpace(f.Label)
		if label == "" {
			label = strings.TrimSpace(f.Name)
		}
		if label == "" {
			lines = append(lines, shown)
		} else {
			lines = append(lines, label+": "+shown)
		}
		if name := strings.TrimSpace(f.Name); name != "" && len(name) <= maxFieldName && ids.Event("name", name) == nil {
			answers[name] = value
		}
	}
	if len(answers) == 0 {
		answers = nil
	}
	return strings.Join(lines, "\n"), answers
}

// answer is the field's response as shown and as a session parameter.
func (f formField) answer() (shown, value string) {
	switch f.Type {
	case "email":
		v := strings.TrimSpace(f.Email)
		return v, v
	case "select":
		var labels, names []string
		for _, o := range f.Select {
			l, n := strings.TrimSpace(o.Label), strings.TrimSpace(o.Name)
			if l == "" {
				l = n
			}
			if n == "" {
				n = l
			}
			if l != "" {
				labels, names = append(labels, l), append(names, n)
			}
		}
		return strings.Join(labels, ", "), strings.Join(names, ",")
	default: // text, and types the spec may add that answer in text
		v := strings.TrimSpace(f.Text)
		return v, v
	}
}

// userFields are the visitor's profile as session parameters. The names are
// those the inbound handler treats as personal (sanitized) when an account
// has no metadata rules. Profile fields arrive only with includeFullUser.
func userFields(u *user) map[string]string {
	if u == nil {
		return nil
	}
	m := map[string]string{}
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			m[k] = v
		}
	}
	set("userId", u.ID)
	set("externalId", u.ExternalID)
	if p := u.Profile; p != nil {
		set("givenName", p.GivenName)
		set("surname", p.Surname)
		set("name", strings.TrimSpace(p.GivenName+" "+p.Surname))
		set("email", p.Email)
		set("locale", p.Locale)
	}
	if m["email"] == "" {
		set("email", identityEmail(u.Identities))
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func identityEmail(ids []identity) string {
	for _, id := range ids {
		if id.Type == "email" {
			return id.Value
		}
	}
	return ""
}

// sessionContext are non-personal facts about the conversation the AI agent
// can branch on: the channel and whether the visitor is authenticated.
func sessionContext(u *user, src *msgSource) map[string]string {
	m := map[string]string{}
	if src != nil && src.Type != "" {
		m["channel"] = src.Type
	}
	if u != nil && u.Authenticated != nil {
		m["authenticated"] = strconv.FormatBool(*u.Authenticated)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func bad(field, problem string) error {
	return apigw.Errorf(http.StatusBadRequest, "invalid_event", "%s: %s", field, problem)
}

// isTypeError is a field of an unexpected type. Unmarshal still fills every
// other field, so the payload is parsed leniently and the fields the bridge
// needs are checked one by one.
func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// clip keeps platform-supplied strings short in answers and logs.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	r := []rune(s)
	if len(r) <= 64 {
		return s
	}
	return string(r[:64]) + "…"
}
