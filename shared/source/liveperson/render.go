package liveperson

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Rendering AI-agent messages to Public API "messages" items: plain strings
// for text, json-pollock structured content for buttons and carousels, with
// a readable text fallback when the content would break LivePerson's limits.

// Limits from json-pollock's schema, the quick replies template and the
// Public API.
const (
	maxStructuredBytes = 15000 // per structured content message
	maxQuickReplies    = 24
	maxQuickTitle      = 25
	maxItemsPerRow     = 8
	maxButtonTitle     = 128
	maxTooltip         = 256
	maxTextElement     = 5000
	maxLinkURI         = 1024
	maxImageURL        = 2048
	maxCarouselCards   = 10
	carouselPadding    = 10
)

// metadata is a json-pollock / Public API metadata item.
type metadata struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// scMessage is a structured content item of the messages command.
type scMessage struct {
	StructuredContent any `json:"structuredContent"`
}

// privateText is a text only agents and managers see.
type privateText struct {
	Text            string `json:"text"`
	MessageAudience string `json:"messageAudience"`
}

// AudienceAgents is the messageAudience of a private note.
const AudienceAgents = "AGENTS_AND_MANAGERS"

type textElement struct {
	Type  string     `json:"type"`
	Text  string     `json:"text"`
	Style *textStyle `json:"style,omitempty"`
}

type textStyle struct {
	Bold bool   `json:"bold,omitempty"`
	Size string `json:"size,omitempty"`
}

type imageElement struct {
	Type    string `json:"type"`
	URL     string `json:"url"`
	Tooltip string `json:"tooltip,omitempty"`
}

type button struct {
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Tooltip string  `json:"tooltip,omitempty"`
	Click   onClick `json:"click"`
}

// onClick is json-pollock's click object.
type onClick struct {
	Actions  []action   `json:"actions"`
	Metadata []metadata `json:"metadata,omitempty"`
}

type action struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	Name string `json:"name,omitempty"`
	URI  string `json:"uri,omitempty"`
}

type vertical struct {
	Type     string `json:"type"`
	Elements []any  `json:"elements"`
}

type carousel struct {
	Type     string     `json:"type"`
	Padding  int        `json:"padding"`
	Elements []vertical `json:"elements"`
}

type quickReplies struct {
	QuickReplies quickReplyList `json:"quickReplies"`
	Message      string         `json:"message"`
}

type quickReplyList struct {
	Type        string   `json:"type"`
	ItemsPerRow int      `json:"itemsPerRow"`
	Replies     []button `json:"replies"`
}

// renderer turns one AI-agent message into messages items.
type renderer struct {
	quickReplies bool // messaging conversations only
	clickSuffix  bool
}

func newRenderer(st *settings) renderer {
	return renderer{quickReplies: st.Channel == channelMessaging, clickSuffix: st.clickSuffix}
}

func (r renderer) render(m ultimate.Message) []any {
	// The bridge's rule for links LivePerson cannot open: their labels
	// become text (ultimate.Message.UnlinkDead).
	m = m.UnlinkDead(linkURI)
	var items []any
	text := strings.TrimSpace(m.Text)
	buttons := labelled(m.Buttons)
	switch {
	case len(m.CarouselCards) > 0:
		if text != "" {
			items = append(items, text)
		}
		cards := make([]ultimate.Card, len(m.CarouselCards))
		for i, c := range m.CarouselCards {
			c.Buttons = labelled(c.Buttons)
			cards[i] = c
		}
		items = append(items, r.carousel(cards)...)
	case len(buttons) > 0:
		items = append(items, r.buttons(text, buttons))
	case text != "":
		items = append(items, text)
	}
	return items
}

// buttons renders text with buttons: quick replies where LivePerson shows
// them (messaging, no links, short titles), else a button card; plain text
// when even that is too large.
func (r renderer) buttons(text string, bs []ultimate.Button) any {
	if r.quickReplies && text != "" && len(bs) <= maxQuickReplies && fitQuickReplies(bs) {
		qr := quickReplies{Message: text, QuickReplies: quickReplyList{Type: "quickReplies", ItemsPerRow: min(len(bs), maxItemsPerRow)}}
		for _, b := range bs {
			qr.QuickReplies.Replies = append(qr.QuickReplies.Replies, r.button(b, -1, 0))
		}
		if fits(qr) {
			return scMessage{StructuredContent: qr}
		}
	}
	card := vertical{Type: "vertical"}
	if text != "" {
		card.Elements = append(card.Elements, textElement{Type: "text", Text: truncate(text, maxTextElement)})
	}
	for _, b := range bs {
		card.Elements = append(card.Elements, r.element(b, -1, 0))
	}
	if fits(card) {
		return scMessage{StructuredContent: card}
	}
	return textFallback(text, "", bs)
}

// labelled drops buttons without text: LivePerson requires a title, and a
// click on an empty button could not be told apart.
func labelled(bs []ultimate.Button) []ultimate.Button {
	out := make([]ultimate.Button, 0, len(bs))
	for _, b := range bs {
		if strings.TrimSpace(b.Text) != "" {
			out = append(out, b)
		}
	}
	return out
}

func fitQuickReplies(bs []ultimate.Button) bool {
	for _, b := range bs {
		if b.IsLink() || utf8.RuneCountInString(b.Text) > maxQuickTitle {
			return false
		}
	}
	return true
}

// carousel renders cards as carousels of at most ten vertical cards (a
// single card stands alone: a carousel needs two). Card indexes stay those
// of the AI agent's message across the chunks.
func (r renderer) carousel(cards []ultimate.Card) []any {
	var items []any
	for start := 0; start < len(cards); start += maxCarouselCards {
		end := min(start+maxCarouselCards, len(cards))
		verts := make([]vertical, 0, end-start)
		for i := start; i < end; i++ {
			verts = append(verts, r.card(cards[i], i, len(cards)))
		}
		var sc any = carousel{Type: "carousel", Padding: carouselPadding, Elements: verts}
		if len(verts) == 1 {
			sc = verts[0]
		}
		if fits(sc) {
			items = append(items, scMessage{StructuredContent: sc})
			continue
		}
		// Too large together: one card per message, text for a card that is
		// too large alone.
		for j, v := range verts {
			if fits(v) {
				items = append(items, scMessage{StructuredContent: v})
			} else {
				c := cards[start+j]
				items = append(items, textFallback(c.Title, c.Description, c.Buttons))
			}
		}
	}
	return items
}

func (r renderer) card(c ultimate.Card, index, total int) vertical {
	v := vertical{Type: "vertical"}
	if u := strings.TrimSpace(c.ImageURL); strings.HasPrefix(u, "https://") && len(u) <= maxImageURL && validURL(u) {
		v.Elements = append(v.Elements, imageElement{Type: "image", URL: u, Tooltip: truncate(c.Title, maxTooltip)})
	}
	title := strings.TrimSpace(c.Title)
	if title != "" || strings.TrimSpace(c.Description) == "" {
		v.Elements = append(v.Elements, textElement{Type: "text", Text: truncate(title, maxTextElement), Style: &textStyle{Bold: true}})
	}
	if d := strings.TrimSpace(c.Description); d != "" {
		v.Elements = append(v.Elements, textElement{Type: "text", Text: truncate(d, maxTextElement)})
	}
	for _, b := range c.Buttons {
		v.Elements = append(v.Elements, r.element(b, index, total))
	}
	return v
}

// element is a card's button: a link (render left only those LivePerson
// can open) or a publishText button.
func (r renderer) element(b ultimate.Button, card, cards int) any {
	if b.IsLink() {
		return button{Type: "button", Title: truncate(b.Text, maxButtonTitle), Tooltip: truncate(b.Text, maxTooltip),
			Click: onClick{Actions: []action{{Type: "link", Name: truncate(b.Text, maxPublishText), URI: strings.TrimSpace(b.Target())}}}}
	}
	return r.button(b, card, cards)
}

// linkURI reports a URL a json-pollock link action takes: http(s), at most
// maxLinkURI characters.
func linkURI(u string) bool { return len(u) <= maxLinkURI && validURL(u) }

// button is a publishText button; the published text and the ExternalId
// let a click map back to this button and card (see click.go).
func (r renderer) button(b ultimate.Button, card, cards int) button {
	return button{
		Type: "button", Title: truncate(b.Text, maxButtonTitle), Tooltip: truncate(b.Text, maxTooltip),
		Click: onClick{
			Actions:  []action{{Type: "publishText", Text: publishText(b.Text, card, cards, r.clickSuffix)}},
			Metadata: []metadata{{Type: "ExternalId", ID: clickID(card, b.Text)}},
		},
	}
}

func validURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != ""
}

func fits(sc any) bool {
	b, err := json.Marshal(sc)
	return err == nil && len(b) <= maxStructuredBytes
}

// textFallback lists the options as numbered lines and links as "text: url".
func textFallback(title, description string, bs []ultimate.Button) string {
	var lines []string
	for _, s := range []string{title, description} {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	n := 0
	for _, b := range bs {
		if b.IsLink() {
			lines = append(lines, linkLine(b))
			continue
		}
		n++
		lines = append(lines, strconv.Itoa(n)+". "+b.Text)
	}
	return strings.Join(lines, "\n")
}

func linkLine(b ultimate.Button) string { return b.Text + ": " + strings.TrimSpace(b.Target()) }
