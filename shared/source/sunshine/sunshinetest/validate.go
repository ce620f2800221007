package sunshinetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// Content rules from the OpenAPI spec (textMessage, carouselMessage, item,
// action schemas, author, metadata).
const (
	maxText       = 4096
	maxItems      = 10
	maxItemText   = 128
	maxItemAction = 3
	maxMediaURL   = 2048
	maxMetadata   = 4096
)

// checkAuthor validates a message author. Business authors may carry the
// writable subtypes AI or activity (agent and bot appear in responses only);
// user authors must name an existing user.
func (s *Server) checkAuthor(raw any) (map[string]any, error) {
	a, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest("author is required")
	}
	switch a["type"] {
	case "business":
		if sub, ok := a["subtypes"]; ok {
			list, ok := sub.([]any)
			if !ok || len(list) != 1 || (list[0] != "AI" && list[0] != "activity") {
				return nil, badRequest("author.subtypes must hold one of AI, activity")
			}
		}
		if v, ok := a["avatarUrl"]; ok && !absURL(str(v)) {
			return nil, badRequest("author.avatarUrl must be a URL")
		}
	case "user":
		id := str(a["userId"])
		if id == "" {
			return nil, badRequest("author.userId or author.userExternalId is required for user authors")
		}
		if _, ok := s.users[id]; !ok {
			return nil, errorf(http.StatusNotFound, "user_not_found", "User not found")
		}
	default:
		return nil, badRequest("author.type must be business or user")
	}
	return a, nil
}

// checkContent validates message content by type.
func checkContent(raw any, maxActions int) (map[string]any, error) {
	c, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest("content is required")
	}
	switch c["type"] {
	case "text":
		text, isString := c["text"].(string)
		if _, present := c["text"]; present && !isString {
			return nil, badRequest("content.text must be a string")
		}
		if utf8.RuneCountInString(text) > maxText {
			return nil, badRequest("content.text must be at most %d characters", maxText)
		}
		actions, err := actionList("content.actions", c["actions"], false, allActions)
		if err != nil {
			return nil, err
		}
		if text == "" && len(actions) == 0 && c["markdownText"] == nil && c["htmlText"] == nil {
			return nil, badRequest("content.text is required unless actions, htmlText or markdownText is provided")
		}
		if len(actions) > maxActions {
			return nil, badRequest("content.actions must hold at most %d actions", maxActions)
		}
	case "carousel":
		items, ok := c["items"].([]any)
		if !ok || len(items) < 1 || len(items) > maxItems {
			return nil, badRequest("content.items must hold 1 to %d items", maxItems)
		}
		for i, raw := range items {
			if err := checkItem(i, raw); err != nil {
				return nil, err
			}
		}
	case "image", "file":
		if !absURL(str(c["mediaUrl"])) {
			return nil, badRequest("content.mediaUrl is required")
		}
	case "location":
		if _, ok := c["coordinates"].(map[string]any); !ok {
			return nil, badRequest("content.coordinates is required")
		}
	case "form", "list", "template":
		// Accepted as is; the bridge never sends these.
	default:
		return nil, badRequest("content.type is invalid")
	}
	return c, nil
}

func checkItem(i int, raw any) error {
	it, ok := raw.(map[string]any)
	if !ok {
		return badRequest("content.items[%d] must be an object", i)
	}
	title := str(it["title"])
	if n := utf8.RuneCountInString(title); n < 1 || n > maxItemText {
		return badRequest("content.items[%d].title must be 1 to %d characters", i, maxItemText)
	}
	if n := utf8.RuneCountInString(str(it["description"])); n > maxItemText {
		return badRequest("content.items[%d].description must be at most %d characters", i, maxItemText)
	}
	if m, ok := it["mediaUrl"]; ok && (!absURL(str(m)) || len(str(m)) > maxMediaURL) {
		return badRequest("content.items[%d].mediaUrl must be a URL of at most %d characters", i, maxMediaURL)
	}
	field := "content.items[" + strconv.Itoa(i) + "].actions"
	actions, err := actionList(field, it["actions"], true, subsetActions)
	if err != nil {
		return err
	}
	if len(actions) < 1 || len(actions) > maxItemAction {
		return badRequest("%s must hold 1 to %d actions", field, maxItemAction)
	}
	return nil
}

var (
	allActions    = map[string]bool{"buy": true, "link": true, "locationRequest": true, "postback": true, "reply": true, "webview": true}
	subsetActions = map[string]bool{"buy": true, "link": true, "postback": true, "webview": true}
)

func actionList(field string, raw any, required bool, allowed map[string]bool) ([]any, error) {
	if raw == nil {
		if required {
			return nil, badRequest("%s is required", field)
		}
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, badRequest("%s must be an array", field)
	}
	for i, a := range list {
		if err := checkAction(field+"["+strconv.Itoa(i)+"]", a, allowed); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func checkAction(field string, raw any, allowed map[string]bool) error {
	a, ok := raw.(map[string]any)
	if !ok {
		return badRequest("%s must be an object", field)
	}
	typ := str(a["type"])
	if !allowed[typ] {
		return badRequest("%s.type %q is not allowed here", field, typ)
	}
	if _, ok := a["text"].(string); !ok {
		return badRequest("%s.text is required", field)
	}
	switch typ {
	case "reply":
		if str(a["text"]) == "" {
			return badRequest("%s.text is required", field)
		}
		if _, ok := a["payload"].(string); !ok {
			return badRequest("%s.payload is required", field)
		}
	case "postback":
		if _, ok := a["payload"].(string); !ok {
			return badRequest("%s.payload is required", field)
		}
	case "link", "webview":
		if !absURL(str(a["uri"])) {
			return badRequest("%s.uri must be an absolute URL", field)
		}
	}
	if md, ok := a["metadata"]; ok {
		if _, err := metadata(field+".metadata", md); err != nil {
			return err
		}
	}
	return nil
}

// metadata checks SunCo's metadata rules: a flat object of strings,
// numbers and booleans, at most 4 KB encoded.
func metadata(field string, raw any) (map[string]any, error) {
	if raw == nil {
		return map[string]any{}, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest("%s must be an object", field)
	}
	for k, v := range m {
		switch v.(type) {
		case string, float64, bool, nil:
		default:
			return nil, badRequest("%s.%s must be a string, number or boolean", field, k)
		}
	}
	if b, _ := json.Marshal(m); len(b) > maxMetadata {
		return nil, badRequest("%s exceeds 4KB", field)
	}
	return m, nil
}

func absURL(s string) bool {
	u, err := url.Parse(s)
	return s != "" && err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "")
}

// CheckUserContent checks content a visitor's message carries against the
// spec's message schemas: text needs text, htmlText or markdownText (it
// gets no actions from a user); image and file need a mediaUrl; location
// needs coordinates; a formResponse needs 1 to 20 fields, each with type
// (email, select or text), name and label, and its answer where the
// field's type says, within the field schema's lengths.
func CheckUserContent(c map[string]any) error {
	switch c["type"] {
	case "text":
		for _, k := range []string{"text", "htmlText", "markdownText"} {
			if v, ok := c[k].(string); ok && v != "" {
				if utf8.RuneCountInString(v) > maxText {
					return badRequest("content.%s must be at most %d characters", k, maxText)
				}
				return nil
			}
		}
		return badRequest("content.text is required unless htmlText or markdownText is provided")
	case "image", "file":
		if !absURL(str(c["mediaUrl"])) {
			return badRequest("content.mediaUrl is required")
		}
	case "location":
		if _, ok := c["coordinates"].(map[string]any); !ok {
			return badRequest("content.coordinates is required")
		}
	case "formResponse":
		fields, ok := c["fields"].([]any)
		if !ok || len(fields) < 1 || len(fields) > 20 {
			return badRequest("content.fields must hold 1 to 20 fields")
		}
		for i, raw := range fields {
			if err := checkFormField(i, raw); err != nil {
				return err
			}
		}
		if tf, ok := c["textFallback"]; ok {
			if _, isString := tf.(string); !isString {
				return badRequest("content.textFallback must be a string")
			}
		}
	default:
		if str(c["type"]) == "" {
			return badRequest("content.type is required")
		}
	}
	return nil
}

func checkFormField(i int, raw any) error {
	f, ok := raw.(map[string]any)
	if !ok {
		return badRequest("content.fields[%d] must be an object", i)
	}
	between := func(k string, lo, hi int) error {
		n := utf8.RuneCountInString(str(f[k]))
		if _, isString := f[k].(string); !isString || n < lo || n > hi {
			return badRequest("content.fields[%d].%s must be %d to %d characters", i, k, lo, hi)
		}
		return nil
	}
	for _, k := range []string{"name", "label"} {
		if err := between(k, 1, 128); err != nil {
			return err
		}
	}
	switch f["type"] {
	case "text":
		return between("text", 1, 256)
	case "email":
		return between("email", 1, 128)
	case "select":
		opts, ok := f["select"].([]any)
		if !ok || len(opts) == 0 {
			return badRequest("content.fields[%d].select must hold the chosen options", i)
		}
		for j, o := range opts {
			if _, ok := o.(map[string]any); !ok {
				return badRequest("content.fields[%d].select[%d] must be an object", i, j)
			}
		}
		return nil
	default:
		return badRequest("content.fields[%d].type must be email, select or text", i)
	}
}
