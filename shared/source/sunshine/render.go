package sunshine

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// SunCo's content limits (OpenAPI spec: textMessage, carouselMessage, item).
// MaxActions is not in the spec ("limited by the third party channel"); ten
// is what the bridge assumes every channel takes.
const (
	MaxText         = 4096
	MaxActions      = 10
	MaxCarouselSize = 10
	MaxItemActions  = 3
	maxItemText     = 128
	maxMediaURL     = 2048
)

// The outbound wire types follow the spec's messagePost schema.
type messagePost struct {
	Author  authorOut  `json:"author"`
	Content contentOut `json:"content"`
}

type authorOut struct {
	Type        string   `json:"type"`
	DisplayName string   `json:"displayName,omitempty"`
	AvatarURL   string   `json:"avatarUrl,omitempty"`
	Subtypes    []string `json:"subtypes,omitempty"`
}

type contentOut struct {
	Type    string      `json:"type"`
	Text    string      `json:"text,omitempty"`
	Actions []actionOut `json:"actions,omitempty"`
	Items   []itemOut   `json:"items,omitempty"`
}

type actionOut struct {
	Type     string         `json:"type"`
	Text     string         `json:"text"`
	Payload  string         `json:"payload,omitempty"`
	URI      string         `json:"uri,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

type itemOut struct {
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	MediaURL    string      `json:"mediaUrl,omitempty"`
	Actions     []actionOut `json:"actions"`
}

// render turns one AI-agent message into the SunCo messages that carry it,
// in order. The result depends only on msg and the reply style, so a retry
// renders the same parts and source.Progress can skip those already sent.
func render(msg ultimate.Message, style string) []contentOut {
	msg = msg.UnlinkDead(validURI)
	if len(msg.CarouselCards) == 0 {
		return renderText(msg.Text, msg.Buttons, nil, style)
	}
	var out []contentOut
	if strings.TrimSpace(msg.Text) != "" || len(msg.Buttons) > 0 {
		// More messages follow, so these buttons must outlive them:
		// quick replies vanish once a newer message arrives.
		out = append(out, renderText(msg.Text, msg.Buttons, nil, ReplyStylePostback)...)
	}
	cards := msg.CarouselCards
	native := cards[:min(len(cards), MaxCarouselSize)]
	if items, ok := carouselItems(native); ok {
		out = append(out, contentOut{Type: "carousel", Items: items})
	} else {
		out = append(out, cardTexts(native, 0)...)
	}
	return append(out, cardTexts(cards[len(native):], len(native))...)
}

// carouselItems renders cards as carousel items; ok is false when a card
// cannot be one (items need 1-3 link or postback actions), and then the
// cards go out as text messages instead, none left behind.
func carouselItems(cards []ultimate.Card) ([]itemOut, bool) {
	items := make([]itemOut, 0, len(cards))
	for i, c := range cards {
		idx := i
		actions := buttonActions(c.Buttons, &idx, ReplyStylePostback)
		if len(actions) == 0 || len(actions) > MaxItemActions {
			return nil, false
		}
		title := clipRunes(strings.TrimSpace(c.Title), maxItemText)
		if title == "" {
			title = clipRunes(strings.TrimSpace(c.Description), maxItemText)
		}
		if title == "" {
			title = strconv.Itoa(i + 1)
		}
		it := itemOut{Title: title, Description: clipRunes(strings.TrimSpace(c.Description), maxItemText), Actions: actions}
		if title == it.Description {
			it.Description = ""
		}
		if validURI(c.ImageURL) && len(c.ImageURL) <= maxMediaURL {
			it.MediaURL = c.ImageURL
		}
		items = append(items, it)
	}
	return items, true
}

// cardTexts renders cards as one text message each: title, description and
// image URL, with the card's buttons as postbacks carrying its index (first
// is the index of cards[0] in the AI agent's carousel).
func cardTexts(cards []ultimate.Card, first int) []contentOut {
	var out []contentOut
	for i, c := range cards {
		idx := first + i
		var lines []string
		for _, l := range []string{c.Title, c.Description, c.ImageURL} {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		out = append(out, renderText(strings.Join(lines, "\n"), c.Buttons, &idx, ReplyStylePostback)...)
	}
	return out
}

// renderText renders text with buttons. Click buttons become reply or
// postback actions per style, links become link actions; a reply style with
// links present falls back to postbacks, because SunCo's quick replies are
// meant to stand alone. More than MaxActions buttons become numbered lines
// under the text. A text over MaxText is split, the actions on its last part.
func renderText(text string, buttons []ultimate.Button, card *int, style string) []contentOut {
	click := style
	if click == ReplyStyleReply && hasLink(buttons) {
		click = ReplyStylePostback
	}
	actions := buttonActions(buttons, card, click)
	if len(actions) > MaxActions {
		text = strings.TrimRight(text, "\n") + "\n\n" + numbered(actions)
		actions = nil
	}
	chunks := splitText(strings.TrimSpace(text), MaxText)
	if len(chunks) == 0 {
		if len(actions) == 0 {
			return nil
		}
		chunks = []string{""}
	}
	out := make([]contentOut, len(chunks))
	for i, c := range chunks {
		out[i] = contentOut{Type: "text", Text: c}
	}
	out[len(out)-1].Actions = actions
	return out
}

// buttonActions maps the AI agent's buttons; buttons without text are
// dropped. Links come here only with a URL SunCo can open (render applies
// ultimate.Message.UnlinkDead first).
func buttonActions(buttons []ultimate.Button, card *int, click string) []actionOut {
	var out []actionOut
	for _, b := range buttons {
		text := strings.TrimSpace(b.Text)
		if b.IsLink() {
			// UnlinkDead left only links SunCo can open.
			if text == "" {
				text = b.Target()
			}
			out = append(out, actionOut{Type: "link", Text: text, URI: b.Target()})
			continue
		}
		if text == "" {
			continue
		}
		a := actionOut{Type: click, Text: text, Payload: encodePayload(b.Text, card)}
		if click == ReplyStylePostback {
			a.Metadata = encodeMetadata(b.Text, card)
		}
		out = append(out, a)
	}
	return out
}

func hasLink(buttons []ultimate.Button) bool {
	for _, b := range buttons {
		if b.IsLink() {
			return true
		}
	}
	return false
}

// numbered is the text fallback for too many buttons: "1. Yes", and
// "2. Docs: https://..." for links.
func numbered(actions []actionOut) string {
	lines := make([]string, len(actions))
	for i, a := range actions {
		lines[i] = fmt.Sprintf("%d. %s", i+1, a.Text)
		if a.URI != "" && a.URI != a.Text {
			lines[i] += ": " + a.URI
		}
	}
	return strings.Join(lines, "\n")
}

// validURI accepts absolute URLs (https://..., mailto:..., tel:...), which
// is what SunCo can open; anything else is not sent as a link.
func validURI(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "")
}

// splitText cuts s into pieces of at most n runes, preferring a line break,
// then a space, in the second half of each piece.
func splitText(s string, n int) []string {
	var out []string
	for s != "" {
		if utf8.RuneCountInString(s) <= n {
			out = append(out, s)
			break
		}
		r := []rune(s)
		cut := n
		for _, sep := range []rune{'\n', ' '} {
			if i := lastIndex(r[:n], sep); i >= n/2 {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), " \n"))
		s = strings.TrimLeft(string(r[cut:]), " \n")
	}
	return out
}

func lastIndex(r []rune, x rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == x {
			return i
		}
	}
	return -1
}

// clipRunes shortens s to n runes, marking the cut with an ellipsis.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
