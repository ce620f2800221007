package generic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/jsonread"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

// Inbound event types of the contract.
const (
	TypeConversationStarted = "conversation.started"
	TypeMessage             = "message"
	TypeConversationEnded   = "conversation.ended"
	TypeMetadata            = "metadata"
	TypeHandedBack          = "conversation.handedBack"
	TypeAgentQueue          = "agent.queueUpdate"
	TypeAgentJoined         = "agent.joined"
	TypeAgentMessage        = "agent.message"
	TypeAgentLeft           = "agent.left"
	TypeAgentFailed         = "agent.failed"
)

var kinds = map[string]source.EventKind{
	TypeConversationStarted: source.Started,
	TypeMessage:             source.Message,
	TypeConversationEnded:   source.Ended,
	TypeMetadata:            source.Metadata,
	TypeHandedBack:          source.HandedBack,
	TypeAgentQueue:          source.AgentQueue,
	TypeAgentJoined:         source.AgentJoined,
	TypeAgentMessage:        source.AgentMessage,
	TypeAgentLeft:           source.AgentLeft,
	TypeAgentFailed:         source.AgentFailed,
}

// Limits on what a visitor can send; generous for chat, small enough to keep
// a malicious tenant from filling the AI agent.
const (
	maxText       = 4096
	maxFields     = 50
	maxFieldValue = 1024
)

// Authenticate verifies the Standard Webhooks signature over the raw body.
func (a *Adapter) Authenticate(req *apigw.Request, acct *source.Account, now time.Time) error {
	k, err := parsedCredentials.Of(acct)
	if err != nil {
		return apigw.Wrap(err, http.StatusInternalServerError, "account_misconfigured", "the account's credentials are missing or invalid; see logs")
	}
	err = stdwebhook.Verify(k.inbound,
		req.HeaderValue(stdwebhook.HeaderID), req.HeaderValue(stdwebhook.HeaderTimestamp), req.HeaderValue(stdwebhook.HeaderSignature),
		req.Body, now, a.Tolerance)
	if err == nil {
		return nil
	}
	return apigw.Wrap(err, http.StatusUnauthorized, stdwebhook.Code(err), err.Error())
}

// envelope holds type as raw JSON so a wrong type is reported on that field
// rather than as a malformed body; timestamp is informational (the signed
// webhook-timestamp header is what counts) and is not read at all.
type envelope struct {
	Type json.RawMessage `json:"type"`
	Data json.RawMessage `json:"data"`
}

var envelopeFields = []string{"type", "data"}

// decodeEnvelope is json.Unmarshal into an envelope; the raw fields are
// parts of b.
func decodeEnvelope(b []byte) (envelope, error) {
	var raw [2]json.RawMessage
	if jsonread.Fields(b, envelopeFields, raw[:]) {
		return envelope{Type: raw[0], Data: raw[1]}, nil
	}
	var env envelope
	err := json.Unmarshal(b, &env)
	return env, err
}

var eventDataFields = []string{"conversationId", "text", "cardIndex", "user", "parameters", "agent", "queuePosition", "waitMinutes"}

// decodeEventData is json.Unmarshal into an eventData; the raw fields are
// parts of b.
func decodeEventData(b []byte) (eventData, error) {
	var raw [8]json.RawMessage
	if jsonread.Fields(b, eventDataFields, raw[:]) {
		return eventData{ConversationID: raw[0], Text: raw[1], CardIndex: raw[2], User: raw[3], Parameters: raw[4],
			Agent: raw[5], QueuePosition: raw[6], WaitMinutes: raw[7]}, nil
	}
	var d eventData
	err := json.Unmarshal(b, &d)
	return d, err
}

type eventData struct {
	ConversationID json.RawMessage `json:"conversationId"`
	Text           json.RawMessage `json:"text"`
	CardIndex      json.RawMessage `json:"cardIndex"`
	User           json.RawMessage `json:"user"`
	Parameters     json.RawMessage `json:"parameters"`
	Agent          json.RawMessage `json:"agent"`
	QueuePosition  json.RawMessage `json:"queuePosition"`
	WaitMinutes    json.RawMessage `json:"waitMinutes"`
}

// Parse implements source.Inbound. The webhook-id header is the event ID.
func (a *Adapter) Parse(req *apigw.Request, _ *source.Account) (*source.Batch, error) {
	env, err := decodeEnvelope(req.Body)
	if err != nil {
		return nil, bad("body", "must be a JSON object: "+apigw.JSONProblem(err))
	}
	typ, err := optString("type", env.Type, 64)
	if err != nil {
		return nil, err
	}
	kind, ok := kinds[typ]
	if !ok {
		if typ == "" {
			return nil, bad("type", "required")
		}
		return nil, bad("type", fmt.Sprintf("unknown event type %q", typ))
	}
	if len(bytes.TrimSpace(env.Data)) == 0 || env.Data[0] != '{' {
		return nil, bad("data", "required, must be an object")
	}
	d, err := decodeEventData(env.Data)
	if err != nil {
		return nil, bad("data", "must be an object: "+apigw.JSONProblem(err))
	}
	ev := source.Event{ID: req.HeaderValue(stdwebhook.HeaderID), Kind: kind}
	if err := ids.Event(stdwebhook.HeaderID, ev.ID); err != nil {
		return nil, err
	}
	if ev.Conversation, err = reqString("data.conversationId", d.ConversationID, ids.MaxConversation); err != nil {
		return nil, err
	}
	if err := ids.Conversation("data.conversationId", ev.Conversation); err != nil {
		return nil, err
	}
	switch kind {
	case source.Started, source.Metadata:
		if ev.User, err = stringMap("data.user", d.User); err != nil {
			return nil, err
		}
		if ev.Params, err = stringMap("data.parameters", d.Parameters); err != nil {
			return nil, err
		}
		if kind == source.Metadata && len(ev.User)+len(ev.Params) == 0 {
			return nil, bad("data", "metadata needs user or parameters")
		}
		if kind == source.Started {
			if ev.LastMessage, err = optString("data.text", d.Text, maxText); err != nil {
				return nil, err
			}
		}
	case source.Message, source.AgentMessage:
		if ev.Text, err = reqString("data.text", d.Text, maxText); err != nil {
			return nil, err
		}
		if kind == source.Message {
			if ev.CardIndex, err = cardIndex(d.CardIndex); err != nil {
				return nil, err
			}
		}
	case source.AgentJoined:
		var ag struct {
			Name      json.RawMessage `json:"name"`
			AvatarURL json.RawMessage `json:"avatarUrl"`
		}
		if len(d.Agent) == 0 || json.Unmarshal(d.Agent, &ag) != nil {
			return nil, bad("data.agent", "required, an object with name and optional avatarUrl")
		}
		if ev.Agent.Name, err = reqString("data.agent.name", ag.Name, 200); err != nil {
			return nil, err
		}
		if ev.Agent.AvatarURL, err = optString("data.agent.avatarUrl", ag.AvatarURL, 2048); err != nil {
			return nil, err
		}
	case source.AgentQueue:
		if ev.Queue.Position, err = numberOrString("data.queuePosition", d.QueuePosition); err != nil {
			return nil, err
		}
		if ev.Queue.WaitMinutes, err = numberOrString("data.waitMinutes", d.WaitMinutes); err != nil {
			return nil, err
		}
	}
	return &source.Batch{Events: []source.Event{ev}}, nil
}

func bad(field, problem string) error {
	return apigw.Errorf(http.StatusBadRequest, "invalid_event", "%s: %s", field, problem)
}

func reqString(field string, raw json.RawMessage, maxLen int) (string, error) {
	s, err := optString(field, raw, maxLen)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", bad(field, "required")
	}
	return s, nil
}

func optString(field string, raw json.RawMessage, maxLen int) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	s, ok := jsonread.String(raw)
	if !ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", bad(field, "must be a string")
		}
	}
	if utf8.RuneCountInString(s) > maxLen {
		return "", bad(field, fmt.Sprintf("longer than %d characters", maxLen))
	}
	return s, nil
}

func cardIndex(raw json.RawMessage) (*int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > 100 {
		return nil, bad("data.cardIndex", "must be an integer from 0 to 100")
	}
	return &n, nil
}

func numberOrString(field string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	const maxLen = 64
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		// The same cap as for text: a numeric string (or a number literal)
		// of any length would otherwise pass straight to the widget API.
		if len(n) > maxLen {
			return "", bad(field, fmt.Sprintf("longer than %d characters", maxLen))
		}
		return n.String(), nil
	}
	return optString(field, raw, maxLen)
}

// stringMap reads an object of scalar values as strings (the AI agent takes
// string session parameters only). Nested objects and arrays are refused.
func stringMap(field string, raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, bad(field, "must be an object of string values")
	}
	if len(m) > maxFields {
		return nil, bad(field, fmt.Sprintf("more than %d fields", maxFields))
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		f := field + "." + k
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
			continue
		case v[0] == '"':
			s, err := optString(f, v, maxFieldValue)
			if err != nil {
				return nil, err
			}
			out[k] = s
		case string(v) == "true" || string(v) == "false":
			out[k] = string(v)
		case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
			if _, err := strconv.ParseFloat(string(v), 64); err != nil {
				return nil, bad(f, "must be a string, number or boolean")
			}
			out[k] = string(v)
		default:
			return nil, bad(f, "must be a string, number or boolean")
		}
	}
	return out, nil
}

// Route implements source.Router: only POST on the account URL itself.
func (a *Adapter) Route(req *apigw.Request) error {
	if req.Params["proxy"] != "" {
		return apigw.Errorf(http.StatusNotFound, "route_not_found", "the generic source has no sub-paths; POST events to /sources/generic/{account}")
	}
	return req.RequireMethod(http.MethodPost)
}
