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
// the delivery is still answered 200.
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
		ev, ok, err := a.parseEvent(fmt.Sprintf("events[%d]", i), raw, s, acct.Account)
		if err != nil {
			return nil, err
		}
		if ok {
			batch.Events = append(batch.Events, ev)
		}
	}
	return batch, nil
}

func (a *Adapter) parseEvent(field string, raw json.RawMessage, s *Settings, appID string) (source.Event, bool, error) {
	var e event
	if len(raw) == 0 || raw[0] != '{' {
		return source.Event{}, false, bad(field, "must be an object")
	}
	if err := json.Unmarshal(raw, &e); err != nil && !isTypeError(err) {
		return source.Event{}, false, bad(field, "must be an object")
	}
	switch e.Type {
	case TriggerMessage, TriggerPostback, TriggerCreate, TriggerPassControl, TriggerReleaseControl, TriggerPassControlFail:
	default:
		return source.Event{}, false, nil // a trigger we do not use
	}
	if err := ids.Event(field+".id", e.ID); err != nil {
		return source.Event{}, false, err
	}
	var p eventPayload
	if len(e.Payload) == 0 || e.Payload[0] != '{' {
		return source.Event{}, false, bad(field+".payload", "required, an object")
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil && !isTypeError(err) {
		return source.Event{}, false, bad(field+".payload", "must be an object: "+apigw.JSONProblem(err))
	}
	if p.Conversation == nil {
		return source.Event{}, false, bad(field+".payload.conversation", "required")
	}
	// SunCo IDs are opaque ASCII tokens; as a conversation they also obey
	// the conversation rules.
	if err := ids.Event(field+".payload.conversation.id", p.Conversation.ID); err != nil {
		return source.Event{}, false, err
	}
	if err := ids.Conversation(field+".payload.conversation.id", p.Conversation.ID); err != nil {
		return source.Event{}, false, err
	}
	ev := source.Event{ID: e.ID, Conversation: p.Conversation.ID}
	active := p.Conversation.ActiveSwitchboardIntegration

	switch e.Type {
	case TriggerMessage:
		if p.Message == nil {
			return ev, false, bad(field+".payload.message", "required")
		}
		m := p.Message
		// Business messages are our own replies and the human agents'.
		if m.Author.Type != "user" || m.Deleted || !s.inControl(active) {
			return ev, false, nil
		}
		ev.Kind = source.Message
		ev.Text, ev.CardIndex = messageText(m.Content)
		return ev, strings.TrimSpace(ev.Text) != "", nil

	case TriggerPostback:
		if p.Postback == nil || p.Postback.Payload == "" {
			return ev, false, bad(field+".payload.postback.payload", "required")
		}
		if !s.inControl(active) {
			return ev, false, nil
		}
		ev.Kind = source.Message
		if t, c, ok := decodePayload(p.Postback.Payload); ok {
			ev.Text, ev.CardIndex = t, c
		} else {
			ev.Text = p.Postback.Payload
		}
		return ev, true, nil

	case TriggerCreate:
		if skipCreation[p.CreationReason] || !s.inControl(active) {
			return ev, false, nil
		}
		ev.Kind = source.Started
		ev.User = userFields(p.User)
		ev.Params = sessionContext(p.User, p.Source)
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
		if p.Error != nil {
			code = p.Error.Code
		}
		a.log().Warn("sunshine passControl failed", slog.String("source", Name), slog.String("account", appID),
			slog.String("conversation", p.Conversation.ID), slog.String("eventId", e.ID), slog.String("errorCode", egress.SafeCode(code)))
		return ev, false, nil
	}
}

// inControl reports whether the bridge should answer in a conversation whose
// active switchboard integration is active.
func (s *Settings) inControl(active *switchboardIntegrRef) bool {
	if active == nil {
		return s.ActWithoutSwitchboard
	}
	return active.IntegrationID == s.IntegrationID
}

// messageText turns a visitor message into the AI agent's text. A reply
// button's answer carries our payload; media become a tagged URL the AI
// agent can show or pass on; content types it cannot use give "".
func messageText(c contentIn) (string, *int) {
	switch c.Type {
	case "text":
		if c.Payload != "" {
			if t, card, ok := decodePayload(c.Payload); ok {
				return t, card
			}
			if c.Text == "" {
				return c.Payload, nil
			}
		}
		return c.Text, nil
	case "image", "file":
		if c.MediaURL == "" {
			return "", nil
		}
		media := "[" + c.Type + "] " + c.MediaURL
		if strings.TrimSpace(c.Text) != "" {
			return c.Text + "\n" + media, nil
		}
		return media, nil
	case "location":
		if c.Coordinates == nil {
			return "", nil
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
		return "[location] " + strings.Join(parts, ", "), nil
	case "formResponse":
		return c.TextFallback, nil
	default:
		return "", nil
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
