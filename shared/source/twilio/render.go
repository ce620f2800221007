package twilio

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Rendering an AI-agent message for a channel that shows text: the render
// matrix of the README.
//
//   - text: the text, cut into numbered parts where it is too long (SMS:
//     the account's maxSegments per message; WhatsApp: 1,600 characters).
//   - buttons: a numbered list under the text ("1) Yes"); on WhatsApp, up to
//     three short buttons are quick replies instead, when the account has
//     the quick-reply templates. The options are remembered until the next
//     bot message, so "2", "2)", the option's text or the quick reply maps
//     back to the button's text.
//   - link buttons: "Label: https://…" (a link without a URL: its label).
//   - carousel: a compact numbered menu, numbers running across the cards;
//     a card with one reply button is one line, "n) Title – Description:
//     Button". The answer maps back to the button's text and cardIndex.
//     Card images are not sent (neither channel shows them beside text).

// part is one message to the Messages API.
type part struct {
	Body       string
	ContentSid string
	Variables  map[string]string
}

// option is a reply option the visitor can answer with.
type option struct {
	Text  string `json:"t"`           // what the AI agent gets: the button's text
	Card  *int   `json:"c,omitempty"` // the carousel card
	Label string `json:"l,omitempty"` // another text that picks it (a card's title)
}

type rendering struct {
	parts   []part
	options []option
}

// optionsJSON is what the address item keeps until the next bot message.
func (r rendering) optionsJSON() string {
	if len(r.options) == 0 {
		return ""
	}
	b, _ := json.Marshal(r.options)
	return string(b)
}

func decodeOptions(s string) []option {
	if s == "" {
		return nil
	}
	var out []option
	if json.Unmarshal([]byte(s), &out) != nil {
		return nil
	}
	return out
}

// WhatsApp's limits for quick replies sent in session without a template
// approval, and the Content API's for a variable.
const (
	maxQuickReplies  = 3
	maxQuickTitle    = 20
	maxVariableValue = 255
	maxOptions       = 50
	maxOptionText    = 256
)

// renderer renders for one channel of one account.
type renderer struct {
	channel     string
	maxSegments int
	smart       bool
	quickSids   []string // 1, 2 and 3 buttons; none: numbered lists only
}

func newRenderer(st *settings, channel string) renderer {
	r := renderer{channel: channel, maxSegments: st.SMS.MaxSegments, smart: st.smart}
	if channel == ChannelWhatsApp {
		r.quickSids = st.WhatsApp.QuickReplyContentSids
	}
	return r
}

func (r renderer) render(m ultimate.Message) rendering {
	text := strings.TrimSpace(m.Text)
	var out rendering
	var lines []string
	if text != "" {
		lines = append(lines, text)
	}
	switch {
	case len(m.CarouselCards) > 0:
		lines = append(lines, r.carousel(m.CarouselCards, &out.options)...)
	case len(m.Buttons) > 0:
		if p, opts, ok := r.quickReply(text, m.Buttons); ok {
			out.parts, out.options = []part{p}, opts
			return out
		}
		lines = append(lines, buttonLines(m.Buttons, nil, &out.options)...)
	}
	for _, body := range splitParts(r.encode(strings.Join(lines, "\n")), r.fits) {
		out.parts = append(out.parts, part{Body: body})
	}
	return out
}

func (r renderer) encode(s string) string {
	if r.channel == ChannelSMS && r.smart {
		return smartEncode(s)
	}
	return s
}

// fits is the size rule of one message on the channel.
func (r renderer) fits(s string) bool {
	if utf8.RuneCountInString(s) > maxBody {
		return false
	}
	return r.channel != ChannelSMS || segments(s) <= r.maxSegments
}

// buttonLines lists buttons: reply buttons numbered on from len(*opts)+1,
// links as "Label: URL". card is the carousel card, nil outside one.
func buttonLines(bs []ultimate.Button, card *int, opts *[]option) []string {
	var lines []string
	for _, b := range bs {
		label := strings.TrimSpace(b.Text)
		switch {
		case b.IsLink():
			if line := linkLine(b); line != "" {
				lines = append(lines, line)
			}
		case label == "":
			// Nothing to show and nothing a click could send back.
		case len(*opts) >= maxOptions:
			lines = append(lines, label)
		default:
			*opts = append(*opts, option{Text: clip(b.Text, maxOptionText), Card: card})
			lines = append(lines, strconv.Itoa(len(*opts))+") "+label)
		}
	}
	return lines
}

// linkLine is a link as text: "Label: URL". A URL a phone cannot open
// from a message (relative, another scheme, malformed) is left out, as the
// other adapters' shared rule does (ultimate.Message.UnlinkDead): the
// label alone.
func linkLine(b ultimate.Button) string {
	label, u := strings.TrimSpace(b.Text), strings.TrimSpace(b.Target())
	if u != "" && !openable(u) {
		u = ""
	}
	switch {
	case u == "":
		return label
	case label == "":
		return u
	default:
		return label + ": " + u
	}
}

// carousel is the compact menu of cards.
func (r renderer) carousel(cards []ultimate.Card, opts *[]option) []string {
	var lines []string
	for i, c := range cards {
		idx := i
		header := strings.TrimSpace(c.Title)
		if d := strings.TrimSpace(c.Description); d != "" {
			if header != "" {
				header += " – "
			}
			header += d
		}
		replies, links := 0, []ultimate.Button{}
		var reply ultimate.Button
		for _, b := range c.Buttons {
			switch {
			case b.IsLink():
				links = append(links, b)
			case strings.TrimSpace(b.Text) != "":
				replies++
				reply = b
			}
		}
		if replies == 1 && header != "" && len(*opts) < maxOptions {
			*opts = append(*opts, option{Text: clip(reply.Text, maxOptionText), Card: &idx, Label: clip(strings.TrimSpace(c.Title), maxOptionText)})
			lines = append(lines, strconv.Itoa(len(*opts))+") "+strings.TrimRight(header, ".,;: ")+": "+strings.TrimSpace(reply.Text))
			lines = append(lines, buttonLines(links, &idx, opts)...)
			continue
		}
		if header != "" {
			lines = append(lines, header)
		}
		lines = append(lines, buttonLines(c.Buttons, &idx, opts)...)
	}
	return lines
}

// quickReply renders text with one to three short reply buttons as a
// WhatsApp quick-reply template (links go into the body), when the account
// has the templates and every part fits their limits.
func (r renderer) quickReply(text string, bs []ultimate.Button) (part, []option, bool) {
	if len(r.quickSids) != maxQuickReplies {
		return part{}, nil, false
	}
	body := []string{}
	if text != "" {
		body = append(body, text)
	}
	var replies []ultimate.Button
	seen := map[string]bool{}
	for _, b := range bs {
		label := strings.TrimSpace(b.Text)
		switch {
		case b.IsLink():
			if line := linkLine(b); line != "" {
				body = append(body, line)
			}
		case label == "":
		case utf8.RuneCountInString(label) > maxQuickTitle || seen[strings.ToLower(label)]:
			return part{}, nil, false
		default:
			seen[strings.ToLower(label)] = true
			replies = append(replies, b)
		}
	}
	joined := strings.Join(body, "\n")
	if len(replies) == 0 || len(replies) > maxQuickReplies || joined == "" || utf8.RuneCountInString(joined) > maxVariableValue {
		return part{}, nil, false
	}
	p := part{ContentSid: r.quickSids[len(replies)-1], Variables: map[string]string{"1": joined}}
	opts := make([]option, len(replies))
	for i, b := range replies {
		p.Variables[strconv.Itoa(i+2)] = strings.TrimSpace(b.Text)
		opts[i] = option{Text: clip(b.Text, maxOptionText)}
	}
	return p, opts, true
}

// clip cuts s to n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// openable reports an absolute http or https URL with a host: what SMS and
// WhatsApp turn into a link.
func openable(s string) bool {
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
