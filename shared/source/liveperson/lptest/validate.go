package lptest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"unicode/utf8"
)

// Checks of a messages command body against the Public API page and
// json-pollock's schema (the subset the bridge sends: text, image, button,
// vertical and horizontal cards, carousels, quick replies, private text).

const structuredLimit = 15000

func checkMessages(body []byte) string {
	var in struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return "body must be an object with a messages array"
	}
	if len(in.Messages) == 0 {
		return "messages: must not be empty"
	}
	for i, m := range in.Messages {
		if p := checkMessage(m); p != "" {
			return fmt.Sprintf("messages[%d]: %s", i, p)
		}
	}
	return ""
}

func checkMessage(m json.RawMessage) string {
	var s string
	if json.Unmarshal(m, &s) == nil {
		if s == "" {
			return "text must not be empty"
		}
		return ""
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(m, &obj); err != nil {
		return "must be a string or an object"
	}
	switch {
	case obj["structuredContent"] != nil:
		for k := range obj {
			if k != "structuredContent" && k != "metadata" && k != "encodedMetadata" {
				return "unexpected key " + k + " beside structuredContent"
			}
		}
		if len(obj["structuredContent"]) > structuredLimit {
			return fmt.Sprintf("structured content of %d bytes; the limit is %d", len(obj["structuredContent"]), structuredLimit)
		}
		return checkStructured(obj["structuredContent"])
	case obj["text"] != nil:
		var p struct {
			Text            string `json:"text"`
			MessageAudience string `json:"messageAudience"`
		}
		if json.Unmarshal(m, &p) != nil || p.Text == "" || len(obj) != 2 || p.MessageAudience != "AGENTS_AND_MANAGERS" {
			return `a private text is {"text", "messageAudience": "AGENTS_AND_MANAGERS"}`
		}
		return ""
	case obj["delay"] != nil:
		return ""
	default:
		return "an object must be structuredContent, a private text or a delay"
	}
}

func checkStructured(raw json.RawMessage) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return "structuredContent must be an object"
	}
	if qr, ok := obj["quickReplies"]; ok {
		var msg string
		if json.Unmarshal(obj["message"], &msg) != nil || msg == "" {
			return "quick replies need a non-empty message"
		}
		var q struct {
			Type        string            `json:"type"`
			ItemsPerRow int               `json:"itemsPerRow"`
			Replies     []json.RawMessage `json:"replies"`
		}
		if json.Unmarshal(qr, &q) != nil || q.Type != "quickReplies" {
			return `quickReplies.type must be "quickReplies"`
		}
		if q.ItemsPerRow < 1 || q.ItemsPerRow > 8 {
			return "quickReplies.itemsPerRow must be 1-8"
		}
		if len(q.Replies) == 0 || len(q.Replies) > 24 {
			return "quickReplies.replies must hold 1-24 buttons"
		}
		for i, r := range q.Replies {
			if p := checkElement(r, 0); p != "" {
				return fmt.Sprintf("replies[%d]: %s", i, p)
			}
			var b struct {
				Type  string `json:"type"`
				Title string `json:"title"`
			}
			_ = json.Unmarshal(r, &b)
			if b.Type != "button" || utf8.RuneCountInString(b.Title) > 25 {
				return fmt.Sprintf("replies[%d]: a quick reply is a button with a title of at most 25 characters", i)
			}
		}
		return ""
	}
	return checkElement(raw, 0)
}

func checkElement(raw json.RawMessage, depth int) string {
	if depth > 4 {
		return "nested too deep"
	}
	var e struct {
		Type     string            `json:"type"`
		Text     *string           `json:"text"`
		Title    *string           `json:"title"`
		Tooltip  string            `json:"tooltip"`
		URL      string            `json:"url"`
		Padding  *float64          `json:"padding"`
		Elements []json.RawMessage `json:"elements"`
		Click    *struct {
			Actions  []json.RawMessage `json:"actions"`
			Metadata []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"metadata"`
		} `json:"click"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return "element does not decode: " + err.Error()
	}
	if utf8.RuneCountInString(e.Tooltip) > 256 {
		return "tooltip longer than 256"
	}
	switch e.Type {
	case "text":
		if e.Text == nil || utf8.RuneCountInString(*e.Text) > 5000 {
			return "text element needs text of at most 5000 characters"
		}
	case "image":
		if u, err := url.Parse(e.URL); err != nil || u.Scheme != "https" || len(e.URL) > 2048 {
			return "image url must be https, at most 2048 characters"
		}
	case "button":
		if e.Title == nil || *e.Title == "" || utf8.RuneCountInString(*e.Title) > 128 {
			return "button title required, at most 128 characters"
		}
		if e.Click == nil || len(e.Click.Actions) == 0 || len(e.Click.Actions) > 4 {
			return "button click needs 1-4 actions"
		}
		for _, a := range e.Click.Actions {
			if p := checkAction(a); p != "" {
				return p
			}
		}
		for _, m := range e.Click.Metadata {
			if m.Type == "" || m.ID == "" {
				return "click metadata items need type and id"
			}
		}
	case "vertical", "horizontal":
		if len(e.Elements) == 0 {
			return e.Type + " card needs elements"
		}
		for i, c := range e.Elements {
			if p := checkElement(c, depth+1); p != "" {
				return fmt.Sprintf("%s.elements[%d]: %s", e.Type, i, p)
			}
		}
	case "carousel":
		if len(e.Elements) < 2 || len(e.Elements) > 10 {
			return "a carousel holds 2-10 cards"
		}
		if e.Padding != nil && (*e.Padding < 0 || *e.Padding > 10) {
			return "carousel padding must be 0-10"
		}
		for i, c := range e.Elements {
			var card struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(c, &card)
			if card.Type != "vertical" && card.Type != "horizontal" {
				return fmt.Sprintf("carousel.elements[%d]: cards are vertical or horizontal", i)
			}
			if p := checkElement(c, depth+1); p != "" {
				return fmt.Sprintf("carousel.elements[%d]: %s", i, p)
			}
		}
	default:
		return fmt.Sprintf("element type %q is not one the bridge sends", e.Type)
	}
	return ""
}

func checkAction(raw json.RawMessage) string {
	var a struct {
		Type string `json:"type"`
		Text string `json:"text"`
		URI  string `json:"uri"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &a) != nil {
		return "action must be an object"
	}
	switch a.Type {
	case "publishText":
		if a.Text == "" || utf8.RuneCountInString(a.Text) > 256 {
			return "publishText text required, at most 256 characters"
		}
	case "link":
		u, err := url.Parse(a.URI)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(a.URI) > 1024 {
			return "link uri must be an absolute http(s) URL of at most 1024 characters"
		}
		if utf8.RuneCountInString(a.Name) > 256 {
			return "link name longer than 256"
		}
	default:
		return fmt.Sprintf("action type %q is not one the bridge sends", a.Type)
	}
	return ""
}
