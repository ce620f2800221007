package ultimate

import "strings"

// Link buttons without a URL the platform can open.
//
// The AI agent's published Button is {text, type}: it has no URL field, so
// the bridge reads the two names seen in practice (url, link; see Target).
// When neither gives a URL the platform can open, every adapter follows one
// rule: the button's label is shown as a plain line of text, after the
// message's text (a card's description, for a carousel card), and the button
// is not offered. It never becomes a click button: a link's click sends
// nothing to the AI agent, so a button that sent its label back would put a
// message in the conversation that the AI agent never offered.
//
// Adapters apply the rule with UnlinkDead before rendering, passing the
// check of what their platform can open; the rest of their rendering then
// sees only links it can send as links.

// UnlinkDead returns m with every link button whose Target is not usable
// turned into a text line, as the rule above says. usable reports whether
// the platform can open a URL; a nil usable accepts any non-empty URL.
func (m Message) UnlinkDead(usable func(url string) bool) Message {
	ok := func(b Button) bool {
		u := strings.TrimSpace(b.Target())
		return u != "" && (usable == nil || usable(u))
	}
	buttons, lines := splitDead(m.Buttons, ok)
	if len(lines) > 0 {
		m.Text = appendLines(m.Text, lines)
	}
	m.Buttons = buttons
	if len(m.CarouselCards) > 0 {
		cards := make([]Card, len(m.CarouselCards))
		for i, c := range m.CarouselCards {
			var dead []string
			c.Buttons, dead = splitDead(c.Buttons, ok)
			if len(dead) > 0 {
				c.Description = appendLines(c.Description, dead)
			}
			cards[i] = c
		}
		m.CarouselCards = cards
	}
	return m
}

// splitDead keeps click buttons and openable links, and returns the labels
// of the other links in order. A dead link without a label says nothing and
// is left out.
func splitDead(bs []Button, ok func(Button) bool) ([]Button, []string) {
	if len(bs) == 0 {
		return bs, nil
	}
	out := make([]Button, 0, len(bs))
	var lines []string
	for _, b := range bs {
		if !b.IsLink() || ok(b) {
			out = append(out, b)
			continue
		}
		if t := strings.TrimSpace(b.Text); t != "" {
			lines = append(lines, t)
		}
	}
	return out, lines
}

func appendLines(text string, lines []string) string {
	text = strings.TrimRight(text, " \n")
	if text == "" {
		return strings.Join(lines, "\n")
	}
	return text + "\n" + strings.Join(lines, "\n")
}
