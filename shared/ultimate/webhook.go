package ultimate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/crmbridge/crmbridge/shared/apigw"
)

// Converse webhook event types.
const (
	EventSendMessage      = "sendMessage"
	EventEscalate         = "escalate"
	EventIsTeamOnline     = "isTeamOnline"
	EventWidgetMessage    = "widgetMessage"
	EventWidgetEscalate   = "widgetEscalate"
	EventWidgetEndSession = "widgetEndSession"
)

// Kind tells the two webhook families apart.
type Kind int

const (
	KindConverse Kind = iota + 1 // data is an object with eventType
	KindAction                   // top-level name, data is an array
)

// Webhook is a decoded call from the AI agent. Exactly one of Converse and
// Action is set, matching Kind.
type Webhook struct {
	BotID    string
	Channel  string
	Kind     Kind
	Converse *ConverseEvent
	Action   *ActionRequest
}

// ConverseEvent is the data object of a converse webhook. The contract keeps
// all event types' fields flat in one object.
type ConverseEvent struct {
	PlatformConversationID string `json:"platformConversationId"`
	ConversationID         string `json:"conversationId"`
	EventType              string `json:"eventType"`

	// sendMessage
	Type          string   `json:"type"`
	Text          string   `json:"text"`
	Buttons       []Button `json:"buttons"`
	CarouselCards []Card   `json:"carouselCards"`
	ReplyID       string   `json:"replyId"`
	MessageID     string   `json:"messageId"`
	Confidence    *float64 `json:"confidence"`

	// escalate, widgetEscalate
	EscalateTo string `json:"escalateTo"`
	// isTeamOnline
	TeamID string `json:"teamId"`
}

// Button is a reply option. Type is "button" (the visitor's click sends its
// text back) or "link". The field carrying a link's URL is not documented;
// both names seen in the wild are read, and a link without a URL follows
// the rule of links.go.
type Button struct {
	Text string `json:"text"`
	Type string `json:"type"`
	URL  string `json:"url,omitempty"`
	Link string `json:"link,omitempty"`
}

// Target is the URL of a link button, or "".
func (b Button) Target() string {
	if b.URL != "" {
		return b.URL
	}
	return b.Link
}

// IsLink reports a link button.
func (b Button) IsLink() bool { return strings.EqualFold(b.Type, "link") }

// Card is one carousel card.
type Card struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	ImageURL    string   `json:"imageUrl,omitempty"`
	Buttons     []Button `json:"buttons,omitempty"`
}

// Message is a bot message in neutral form, what adapters render.
type Message struct {
	Type          string   `json:"type"` // text | carousel
	Text          string   `json:"text,omitempty"`
	Buttons       []Button `json:"buttons,omitempty"`
	CarouselCards []Card   `json:"carouselCards,omitempty"`
	ReplyID       string   `json:"replyId,omitempty"`
	MessageID     string   `json:"messageId,omitempty"`
}

// Message returns the sendMessage content. A missing type is inferred.
func (e *ConverseEvent) Message() Message {
	t := e.Type
	if t == "" {
		t = "text"
		if len(e.CarouselCards) > 0 {
			t = "carousel"
		}
	}
	return Message{Type: t, Text: e.Text, Buttons: e.Buttons, CarouselCards: e.CarouselCards, ReplyID: e.ReplyID, MessageID: e.MessageID}
}

// ActionRequest is an action webhook.
type ActionRequest struct {
	BotID                  string        `json:"botId"`
	ConversationID         string        `json:"conversationId"`
	PlatformConversationID string        `json:"platformConversationId"`
	Name                   string        `json:"name"`
	Data                   []ActionParam `json:"data"`
}

// ActionParam is one input of an action. Value holds a single element in
// practice; SaveAs renames the result stored in the session.
type ActionParam struct {
	Key    string   `json:"key"`
	Value  []string `json:"value"`
	SaveAs string   `json:"saveAs,omitempty"`
}

// UnmarshalJSON reads a parameter leniently: the contract sends value as an
// array with one string, but a bare string or number (or an array holding
// numbers or booleans) is taken too and normalized to []string.
func (p *ActionParam) UnmarshalJSON(b []byte) error {
	var raw struct {
		Key    string          `json:"key"`
		Value  json.RawMessage `json:"value"`
		SaveAs string          `json:"saveAs"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			// Report the parameter itself as the wrong type, not the
			// anonymous struct above.
			return &json.UnmarshalTypeError{Value: te.Value, Type: reflect.TypeFor[ActionParam](), Offset: te.Offset}
		}
		return err
	}
	value, err := paramValue(raw.Value)
	if err != nil {
		return err
	}
	*p = ActionParam{Key: raw.Key, Value: value, SaveAs: raw.SaveAs}
	return nil
}

func paramValue(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	bad := func(what string) error {
		return &json.UnmarshalTypeError{Value: what, Type: reflect.TypeFor[[]string](), Field: "value"}
	}
	if raw[0] != '[' {
		s, ok := Scalar(raw)
		if !ok {
			return nil, bad("object")
		}
		return []string{s}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if string(bytes.TrimSpace(it)) == "null" {
			continue
		}
		s, ok := Scalar(it)
		if !ok {
			return nil, bad("array element")
		}
		out = append(out, s)
	}
	return out, nil
}

// Scalar returns a JSON string's content, or a number's or boolean's text:
// the one way a JSON value becomes the string the AI agent stores.
func Scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case 't', 'f':
		return string(raw), string(raw) == "true" || string(raw) == "false"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}

// ActionResult is one output of an action, stored as a session parameter.
// The contract's value is a string (the template's swagger; its DTO adds
// that key and value are not empty): whatever produced a result turns its
// value into one, and CheckResults refuses the rest before the AI agent
// sees them.
type ActionResult struct {
	Key      string `json:"key"`
	Value    string `json:"value"`
	Sanitize bool   `json:"sanitize,omitempty"`
}

// CheckResults checks results against the contract: a key and a value,
// both non-empty. The error names the first result that is not.
func CheckResults(results []ActionResult) error {
	for i, r := range results {
		switch {
		case r.Key == "":
			return &FieldError{Field: fmt.Sprintf("results[%d].key", i), Problem: "required, a non-empty string"}
		case r.Value == "":
			return &FieldError{Field: fmt.Sprintf("results[%d].value", i), Problem: "required, a non-empty string"}
		}
	}
	return nil
}

// ActionResponse is the synchronous answer to an action webhook.
type ActionResponse struct {
	Results []ActionResult `json:"results"`
}

// TeamStatus is the answer to isTeamOnline.
type TeamStatus struct {
	IsOnline bool `json:"isOnline"`
}

// FieldError names the part of a payload that is wrong. Err, when set, is
// the sentinel it stands for (ErrUnknownEventType).
type FieldError struct {
	Field   string
	Problem string
	Err     error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Unwrap returns the sentinel, for errors.Is.
func (e *FieldError) Unwrap() error { return e.Err }

// ErrUnknownEventType is wrapped by the FieldError for an eventType we do not
// know.
var ErrUnknownEventType = errors.New("unknown eventType")

var converseTypes = map[string]bool{
	EventSendMessage: true, EventEscalate: true, EventIsTeamOnline: true,
	EventWidgetMessage: true, EventWidgetEscalate: true, EventWidgetEndSession: true,
}

// ParseWebhook decodes a webhook body leniently (unknown fields are ignored,
// channel and platformConversationId may be missing) and validates what the
// bridge needs: a botId, and either a converse event with a known eventType
// or an action with a name.
func ParseWebhook(body []byte) (*Webhook, error) {
	var env struct {
		BotID                  json.RawMessage `json:"botId"`
		Channel                json.RawMessage `json:"channel"`
		Name                   json.RawMessage `json:"name"`
		Data                   json.RawMessage `json:"data"`
		PlatformConversationID json.RawMessage `json:"platformConversationId"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &FieldError{Field: "body", Problem: "not a JSON object: " + apigw.JSONProblem(err)}
	}
	w := &Webhook{}
	var err error
	if w.BotID, err = optString("botId", env.BotID); err != nil {
		return nil, err
	}
	if w.BotID == "" {
		return nil, &FieldError{Field: "botId", Problem: "required"}
	}
	if w.Channel, err = optString("channel", env.Channel); err != nil {
		return nil, err
	}
	data := bytes.TrimSpace(env.Data)
	noData := len(data) == 0 || string(data) == "null"
	switch {
	case noData && !hasName(env.Name):
		return nil, &FieldError{Field: "data", Problem: "required"}
	case noData, data[0] == '[':
		// An action: the template's swagger makes data (its inputs)
		// optional, so an action without data has none.
		w.Kind = KindAction
		act := &ActionRequest{}
		if err := json.Unmarshal(body, act); err != nil {
			return nil, typeError("", err)
		}
		if act.Name == "" {
			return nil, &FieldError{Field: "name", Problem: "required for an action"}
		}
		for i, p := range act.Data {
			if p.Key == "" {
				return nil, &FieldError{Field: fmt.Sprintf("data[%d].key", i), Problem: "required"}
			}
		}
		if act.Data == nil {
			act.Data = []ActionParam{}
		}
		w.Action = act
	case data[0] == '{':
		w.Kind = KindConverse
		ev := &ConverseEvent{}
		if err := json.Unmarshal(data, ev); err != nil {
			return nil, typeError("data", err)
		}
		if ev.EventType == "" {
			return nil, &FieldError{Field: "data.eventType", Problem: "required"}
		}
		if !converseTypes[ev.EventType] {
			return nil, &FieldError{Field: "data.eventType", Problem: fmt.Sprintf("unknown value %q", clip(ev.EventType)), Err: ErrUnknownEventType}
		}
		w.Converse = ev
	default:
		return nil, &FieldError{Field: "data", Problem: "must be an object (converse event) or an array (action)"}
	}
	return w, nil
}

// hasName reports a top-level name that is a string with content: what
// makes a body without data an action rather than a broken converse event.
func hasName(raw json.RawMessage) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && s != ""
}

// IsUnknownEventType reports whether err came from an eventType we do not know.
func IsUnknownEventType(err error) bool { return errors.Is(err, ErrUnknownEventType) }

// clip shortens an echoed value: an error names the problem, it does not
// repeat the input.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func optString(field string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &FieldError{Field: field, Problem: "must be a string"}
	}
	return s, nil
}

func typeError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if prefix != "" && field != "" {
			field = prefix + "." + field
		} else if field == "" {
			field = prefix
		}
		return &FieldError{Field: field, Problem: "must be " + jsonKind(te.Type.Kind().String())}
	}
	return &FieldError{Field: prefix, Problem: apigw.JSONProblem(err)}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	case "ptr":
		return "a number"
	default:
		return "a number"
	}
}
