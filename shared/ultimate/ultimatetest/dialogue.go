package ultimatetest

import (
	"fmt"
	"strings"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// The bot's fixed replies, exported so tests on our side can assert them.
const (
	// WelcomeText greets every new session.
	WelcomeText        = "Hi! I'm the demo AI agent. Type 'buttons', 'link' or 'carousel' to see rich content, or anything else and I'll echo it."
	EscalatedText      = "Connecting you to a human."
	EscalateFailedText = "Sorry, nobody could take over right now."
	TeamOnlineText     = "The team is online."
	TeamOfflineText    = "The team is offline."
	TeamUnknownText    = "I could not check the team."
	ActionUsageText    = "Usage: action <name> [key=value ...]"
	// EscalateTo is the escalateTo of escalate and widgetEscalate, and the
	// teamId of isTeamOnline.
	EscalateTo = "support"
)

// rule is one row of the demo dialogue. It matches when the visitor's
// whole text, trimmed, equals keyword case-insensitively; a rule with args
// also matches when the first word does, and gets the remaining words.
// Adding behaviour means adding a row.
type rule struct {
	keyword string
	args    bool
	run     func(t *turn, args string)
}

func (r rule) match(text string) (args string, ok bool) {
	text = strings.TrimSpace(text)
	if strings.EqualFold(text, r.keyword) {
		return "", true
	}
	if r.args {
		if f := strings.Fields(text); len(f) > 0 && strings.EqualFold(f[0], r.keyword) {
			return strings.Join(f[1:], " "), true
		}
	}
	return "", false
}

// dialogue is the bot's rule table, first match wins; text no rule
// matches is echoed.
func dialogue() []rule {
	rules := []rule{
		{keyword: "buttons", run: (*turn).buttons},
		{keyword: "link", run: (*turn).link},
		{keyword: "carousel", run: (*turn).carousel},
		{keyword: "yes", run: (*turn).chose},
		{keyword: "no", run: (*turn).chose},
		{keyword: "human", run: (*turn).escalate},
		{keyword: "agent", run: (*turn).escalate},
		{keyword: "online", run: (*turn).teamOnline},
		{keyword: "widget", run: (*turn).widgetEscalate},
		{keyword: "action", args: true, run: (*turn).runAction},
	}
	// Each carousel card's button is a click the bot understands.
	for _, c := range demoCards() {
		rules = append(rules, rule{keyword: c.Buttons[0].Text, run: (*turn).chose})
	}
	return rules
}

// demoCards are the carousel's cards. Clicking "Choose <title>" sends that
// text (and the card's index); "Details" is a link and sends nothing.
func demoCards() []ultimate.Card {
	card := func(title, desc, slug string) ultimate.Card {
		return ultimate.Card{
			Title:       title,
			Description: desc,
			ImageURL:    "https://example.com/img/" + slug + ".png",
			Buttons: []ultimate.Button{
				{Text: "Choose " + title, Type: "button"},
				{Text: "Details", Type: "link", URL: "https://example.com/plans/" + slug},
			},
		}
	}
	return []ultimate.Card{
		card("Starter", "For small teams getting started.", "starter"),
		card("Pro", "For teams that need more.", "pro"),
	}
}

func (t *turn) echo(string) { t.say(textMessage("You said: " + t.text)) }

func (t *turn) buttons(string) {
	t.say(textMessage("Pick one:", ultimate.Button{Text: "Yes", Type: "button"}, ultimate.Button{Text: "No", Type: "button"}))
}

// link sends two link buttons: one with the url field seen in practice,
// and one exactly as the published Button schema {text, type} has it, with
// no URL at all, which the bridge must show as text.
func (t *turn) link(string) {
	t.say(textMessage("Read the docs:", ultimate.Button{Text: "Open docs", Type: "link", URL: "https://example.com/docs"},
		ultimate.Button{Text: "Help centre", Type: "link"}))
}

func (t *turn) carousel(string) { t.say(message{Type: "carousel", Cards: demoCards()}) }

// chose acknowledges a button click; cardIndex says which carousel card.
func (t *turn) chose(string) {
	text := "You chose: " + strings.TrimSpace(t.text)
	if t.cardIndex != nil {
		text += fmt.Sprintf(" (card %d)", *t.cardIndex)
	}
	t.say(textMessage(text))
}

// escalate hands over to a human. Our answer is synchronous: 2xx means the
// handover happened; otherwise the bot falls back, as a bot with a
// fallback dialogue does.
func (t *turn) escalate(string) {
	d := t.converse(ultimate.EventEscalate, escalateData{PlatformConversationID: t.pcid(), EventType: ultimate.EventEscalate, EscalateTo: EscalateTo})
	if d.OK() {
		t.say(textMessage(EscalatedText))
	} else {
		t.say(textMessage(EscalateFailedText))
	}
}

// teamOnline asks our side whether the team is online and branches on
// {"isOnline": bool}. Anything else (including the template's empty 200)
// counts as "could not check".
func (t *turn) teamOnline(string) {
	d := t.converse(ultimate.EventIsTeamOnline, teamData{EventType: ultimate.EventIsTeamOnline, TeamID: EscalateTo})
	online, err := parseTeamStatus(d)
	switch {
	case err != nil:
		t.s.log.Info("isTeamOnline answer rejected", "pcid", t.pcid(), "reason", err.Error())
		t.say(textMessage(TeamUnknownText))
	case online:
		t.say(textMessage(TeamOnlineText))
	default:
		t.say(textMessage(TeamOfflineText))
	}
}

// widgetEscalate hands the conversation to a human in the AI agent's own
// widget. From then on visitor messages are forwarded as widgetMessage. The
// flag is set before sending because our side may answer escalationFailed
// on the widget API while still handling this webhook; a non-2xx answer
// clears it and the bot falls back.
func (t *turn) widgetEscalate(string) {
	t.s.mu.Lock()
	t.sess.widget = true
	t.s.mu.Unlock()
	d := t.converse(ultimate.EventWidgetEscalate, escalateData{PlatformConversationID: t.pcid(), EventType: ultimate.EventWidgetEscalate, EscalateTo: EscalateTo})
	if !d.OK() {
		t.s.mu.Lock()
		t.sess.widget = false
		t.s.mu.Unlock()
		t.say(textMessage(EscalateFailedText))
	}
}
