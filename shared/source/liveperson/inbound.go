package liveperson

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ascii"
	"github.com/crmbridge/crmbridge/shared/source"
)

// Event types of the Custom Endpoint's POST events body: the reference
// service's (TEXT, RICH_CONTENT, START, CLOSE_CONVERSATION) and those its
// OpenAPI file adds (CONVERSATION state changes, hosted-file). Any other is
// answered 400, as the reference service answers it.
const (
	EventText              = "TEXT"
	EventRichContent       = "RICH_CONTENT"
	EventStart             = "START"
	EventCloseConversation = "CLOSE_CONVERSATION"
	EventConversation      = "CONVERSATION" // a state change: STARTED, TRANSFERRED, CLOSED
	EventHostedFile        = "hosted-file"  // a file the consumer shared
)

var eventTypes = []string{EventText, EventRichContent, EventStart, EventCloseConversation, EventConversation, EventHostedFile}

// maxText bounds a consumer message passed to the AI agent, as for the
// generic source.
const maxText = 4096

// emptyResponse is the answer to every event: the bot's output goes through
// the Public API instead. Both keys are required by LivePerson's OpenAPI.
var emptyResponse = []byte(`{"response":[],"analytics":{"intents":[]}}`)

// Parse implements source.Inbound. Reaching it means the account is enabled,
// its credentials loaded and the caller authenticated.
func (a *Adapter) Parse(req *apigw.Request, acct *source.Account) (*source.Batch, error) {
	a.init()
	t, err := parsePath(req.Method, req.Params["proxy"])
	if err != nil {
		return nil, err
	}
	st, err := settingsOf(acct)
	if err != nil {
		return nil, apigw.Wrap(err, http.StatusInternalServerError, "account_misconfigured", "the account's settings are invalid; see logs")
	}
	if t.botID != st.BotID {
		return nil, notFound("unknown_bot", "bot %s is not configured on this account", t.botID)
	}
	if t.env != "" && !st.hasEnv(t.env) {
		return nil, notFound("unknown_environment", "environment %s is not configured for this bot", t.env)
	}
	switch t.op {
	case opEnvironments:
		return jsonReply(http.StatusOK, st.envs), nil
	case opState:
		// A bot whose Public API user is not configured cannot answer, so
		// LivePerson's Test Connection should fail rather than start it.
		state := "online"
		if _, err := parsedCredentials.Of(acct); err != nil {
			state = "error"
		}
		return jsonReply(http.StatusOK, map[string]string{"state": state, "version": st.Version}), nil
	case opConversation:
		return parseConversation(req.Body, t.convID)
	default:
		return parseEvent(req.Body, t.convID, st)
	}
}

func jsonReply(status int, v any) *source.Batch {
	b, _ := json.Marshal(v)
	return &source.Batch{Reply: &source.Reply{Status: status, ContentType: "application/json", Body: b}}
}

func bad(code, format string, args ...any) error {
	return apigw.Errorf(http.StatusBadRequest, code, format, args...)
}

// object checks that body is a JSON object (an empty body counts as {}).
func object(body []byte, what string) (json.RawMessage, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return json.RawMessage("{}"), nil
	}
	if b[0] != '{' || !json.Valid(b) {
		return nil, bad("invalid_body", "%s body must be a JSON object", what)
	}
	return b, nil
}

// parseConversation handles PUT conversation: the conversation starts, with
// the user's engagement attributes. MustBeNew makes an existing one a 409,
// as LivePerson's OpenAPI says. The SDES go to the AI agent as session
// parameters and are kept on the conversation (Attrs) for getUserInfo,
// because LivePerson sends them only here.
//
// The event ID is a hash of the body: LivePerson's retry of the same PUT is
// a duplicate (answered 200), while a later PUT for the same conversation
// (the bot taking it again after a transfer) is a new event.
func parseConversation(body []byte, convID string) (*source.Batch, error) {
	b, err := object(body, "conversation")
	if err != nil {
		return nil, err
	}
	var in struct {
		SDES    json.RawMessage `json:"sdes"`
		Context json.RawMessage `json:"context"`
	}
	_ = json.Unmarshal(b, &in) // a valid object; fields of the wrong type are left out
	user := sdesUser(in.SDES)
	if user == nil {
		user = map[string]string{}
	}
	params := contextParams(in.Context, user)
	ev := source.Event{
		ID: convID + "#created#" + bodyHash(b), Kind: source.Started, Conversation: convID, MustBeNew: true,
		Params: params,
	}
	if len(user) > 0 {
		ev.User = user
		ev.Attrs = make(map[string]string, len(user))
		for k, v := range user {
			ev.Attrs[AttrPrefix+k] = v
		}
	}
	return &source.Batch{Events: []source.Event{ev},
		Reply: &source.Reply{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{}`)}}, nil
}

type eventBody struct {
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
	Context json.RawMessage `json:"context"`
}

type lpEvent struct {
	Sequence            json.RawMessage `json:"sequence"`
	Metadata            json.RawMessage `json:"metadata"`
	LastConsumerMessage json.RawMessage `json:"lastConsumerMessage"`
}

// validSequence is the shape of a sequence number kept in a dedupe key.
func validSequence(s string) bool { return ascii.Token(s, 64, "._-") }

// parseEvent handles POST events. The conversation must have been created
// (PUT) first: an event for one the bridge has no record of is answered 404
// (Batch.MustExist), on which LivePerson creates it and sends the event
// again. An unknown type is a 400, as in the reference service.
func parseEvent(body []byte, convID string, st *settings) (*source.Batch, error) {
	b, err := object(body, "event")
	if err != nil {
		return nil, err
	}
	var in eventBody
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, bad("invalid_event", "type must be a string")
	}
	if in.Type == "" {
		return nil, bad("invalid_event", "type: required (TEXT, RICH_CONTENT, START, ...)")
	}
	if !slices.Contains(eventTypes, in.Type) {
		return nil, bad("unknown_event_type", "type %q is not an event type of the Custom Endpoint API (%s)", clip(in.Type), strings.Join(eventTypes, ", "))
	}
	var ctx struct {
		LPEvent json.RawMessage `json:"lpEvent"`
	}
	var lp lpEvent
	if json.Unmarshal(in.Context, &ctx) == nil {
		_ = json.Unmarshal(ctx.LPEvent, &lp) // optional: without it we dedupe on a hash
	}
	batch := &source.Batch{MustExist: convID, Reply: &source.Reply{Status: http.StatusOK, ContentType: "application/json", Body: emptyResponse}}
	ev, ok, err := eventOf(in, lp)
	if err != nil || !ok {
		return batch, err
	}
	ev.Conversation = convID
	ev.ID = eventID(convID, in.Type, lp.Sequence, b)
	batch.Events = []source.Event{ev}
	return batch, nil
}

func eventOf(in eventBody, lp lpEvent) (source.Event, bool, error) {
	switch in.Type {
	case EventText:
		var d struct {
			Message *string `json:"message"`
		}
		if json.Unmarshal(in.Data, &d) != nil || d.Message == nil {
			return source.Event{}, false, bad("invalid_event", "data.message: required, a string")
		}
		text := strings.TrimSpace(*d.Message)
		if text == "" {
			return source.Event{}, false, nil
		}
		if utf8.RuneCountInString(text) > maxText {
			return source.Event{}, false, bad("text_too_long", "data.message: longer than %d characters", maxText)
		}
		ev := source.Event{Kind: source.Message, Text: text}
		if c, ok := decodeClick(text, externalIDs(lp.Metadata)); ok {
			ev.Text, ev.CardIndex = c.text, c.card
		}
		return ev, true, nil
	case EventRichContent:
		var d struct {
			Content json.RawMessage `json:"content"`
		}
		_ = json.Unmarshal(in.Data, &d)
		text, ids := findButtonClick(d.Content)
		text = strings.TrimSpace(text)
		c, ok := decodeClick(text, append(ids, externalIDs(lp.Metadata)...))
		switch {
		case !ok && text == "":
			// Other rich content (a shared location, a file) has no meaning
			// for the AI agent's text dialog.
			return source.Event{}, false, nil
		case !ok:
			c = click{text: text} // a button of someone else's content
		}
		if utf8.RuneCountInString(c.text) > maxText {
			return source.Event{}, false, bad("text_too_long", "button text longer than %d characters", maxText)
		}
		return source.Event{Kind: source.Message, Text: c.text, CardIndex: c.card}, true, nil
	case EventStart:
		// The welcome event. The conversation's AI-agent session started
		// with its PUT (which LivePerson always makes first: an event for
		// a conversation not created is a 404), so START starts none:
		// one welcome, whatever LivePerson does. A consumer message it
		// carries goes to the AI agent.
		last := strings.TrimSpace(scalar(lp.LastConsumerMessage))
		if utf8.RuneCountInString(last) > maxText {
			return source.Event{}, false, bad("text_too_long", "context.lpEvent.lastConsumerMessage: longer than %d characters", maxText)
		}
		return source.Event{Kind: source.Message, Text: last}, last != "", nil
	case EventConversation:
		var d struct {
			Name  string `json:"name"`
			State string `json:"state"`
		}
		_ = json.Unmarshal(in.Data, &d)
		switch {
		case strings.EqualFold(d.Name, "CLOSED") || strings.EqualFold(d.State, "CLOSED"):
			return source.Event{Kind: source.Ended}, true, nil
		case strings.EqualFold(d.Name, "TRANSFERRED"):
			// LivePerson tells the bot of a conversation transferred to
			// it: the bot has it (again), so the AI agent's old session
			// ends and the next consumer message starts a fresh one, as
			// when Sunshine passes control back.
			return source.Event{Kind: source.HandedBack}, true, nil
		}
		return source.Event{}, false, nil // STARTED: the PUT did it
	case EventCloseConversation:
		return source.Event{Kind: source.Ended}, true, nil
	default: // EventHostedFile
		return hostedFile(in.Data)
	}
}

// imageTypes are the file types LivePerson's file sharing takes as images.
var imageTypes = map[string]bool{"JPG": true, "JPEG": true, "PNG": true, "GIF": true}

// hostedFile passes a consumer's file on like every adapter does
// (source.Attachment). LivePerson gives a path in its storage, which opens
// only with a download URL signed for an agent's connection: the AI agent
// cannot open it, so it is marked private.
func hostedFile(data json.RawMessage) (source.Event, bool, error) {
	var d struct {
		RelativePath *string `json:"relativePath"`
		FileType     *string `json:"fileType"`
		Caption      string  `json:"caption"`
	}
	if json.Unmarshal(data, &d) != nil || d.RelativePath == nil || strings.TrimSpace(*d.RelativePath) == "" || d.FileType == nil {
		return source.Event{}, false, bad("invalid_event", "data.relativePath and data.fileType: required, strings")
	}
	path := strings.TrimSpace(*d.RelativePath)
	if len(path) > maxFilePath || strings.ContainsAny(path, " \t\r\n") || !utf8.ValidString(path) {
		return source.Event{}, false, bad("invalid_event", "data.relativePath: a storage path of at most %d characters without spaces", maxFilePath)
	}
	caption := strings.TrimSpace(d.Caption)
	if utf8.RuneCountInString(caption) > maxText {
		return source.Event{}, false, bad("text_too_long", "data.caption: longer than %d characters", maxText)
	}
	kind := source.AttachFile
	if imageTypes[strings.ToUpper(strings.TrimSpace(*d.FileType))] {
		kind = source.AttachImage
	}
	a := source.Attachment{Kind: kind, Ref: path, Caption: caption, Private: true}
	return source.Event{Kind: source.Message, Text: a.Text()}, true, nil
}

// maxFilePath bounds a hosted file's storage path.
const maxFilePath = 1024

// clip keeps an echoed value short.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// eventID is the dedupe key: LivePerson's sequence number of the event within
// the conversation. Consumer content (TEXT, RICH_CONTENT) is keyed by the
// sequence alone; other types add their name, since a START or CLOSED event
// may carry the sequence of the message it follows. Without a sequence, a
// hash of the body stands in: LivePerson resends the same body on a retry.
func eventID(convID, typ string, seq json.RawMessage, body []byte) string {
	s := scalar(seq)
	if !validSequence(s) {
		s = "h" + bodyHash(body)
	}
	if typ == EventText || typ == EventRichContent {
		return convID + "#" + s
	}
	return fmt.Sprintf("%s#%s#%s", convID, strings.ToLower(typ), s)
}

func bodyHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
