package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/cdp"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
)

// screenshots go to the repo's .build/, where make test leaves its output.
var screenshotDir = filepath.Join("..", "..", ".build")

// TestPlaygroundInChromium opens the playground in headless Chromium and
// plays the demo tenant's visitor and desk with real clicks and key
// presses. Every wait is on the page's DOM reaching a state (a mutation
// observer in the page), bounded only to turn a hang into a failure.
func TestPlaygroundInChromium(t *testing.T) {
	path, err := cdp.Find()
	if err != nil {
		t.Skipf("skipped: %v. `make test` installs Debian's chromium package when it is missing; it could not here", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Minute)
	defer cancel()
	b, err := cdp.Launch(ctx, cdp.Options{Path: path, UserDataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.NewPage(ctx, 1440, 900)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	br := &browser{t: t, ctx: ctx, p: p}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("buttons, links and carousel", func(t *testing.T) {
		conv := br.start(t)
		br.wait("a live feed", `document.getElementById("live").dataset.state === "live"`)

		br.say("carousel")
		br.wait("the carousel", `document.querySelectorAll('.ccard').length === 2`)
		br.click("Choose Pro", `document.querySelector('.ccard[data-card="1"] .qr[data-text="Choose Pro"]')`)
		br.wait("the answer to the card click", botSays("You chose: Choose Pro (card 1)"))

		br.say("link")
		br.wait("the link button", `document.querySelector('.msg.bot a.qr.link[href="https://example.com/docs"]')`)
		br.wait("a link without URL, as text", botSays("Help centre"))

		br.say("action lookupOrder orderId=123")
		br.wait("the action's results", `document.getElementById("count-actions").textContent === "1" && document.getElementById("panel-actions").textContent.includes("orderStatus")`)
		br.wait("the bot's report", botSays("Action lookupOrder returned"))

		// The case: send "buttons", click one, see the answer.
		br.say("buttons")
		br.wait("the buttons", `document.querySelector('.msg.bot .qr[data-text="Yes"]')`)
		br.click("Yes", `[...document.querySelectorAll('.msg.bot .qr[data-text="Yes"]')].pop()`)
		br.wait("the answer to the click", botSays("You chose: Yes"))
		br.wait("the click as a delivered visitor message", `[...document.querySelectorAll('.msg.visitor')].some(m => m.textContent.includes("Yes") && m.dataset.outcome === "ok")`)
		br.wait("the desk's inbox", `document.getElementById("count-inbox").textContent === "7"`)

		// The AI agent got the clicks as the generic contract's clicks:
		// the button's text, and the card's index for a carousel button.
		var yes, pro *ultimate.ChatEvent
		for _, r := range chats(pcid(conv)) {
			if r.Chat != nil && r.Chat.Text == "Yes" {
				yes = r.Chat
			}
			if r.Chat != nil && r.Chat.Text == "Choose Pro" {
				pro = r.Chat
			}
		}
		if yes == nil || yes.CardIndex != nil {
			t.Errorf("the AI agent got %+v for the Yes click, want text Yes without cardIndex", yes)
		}
		if pro == nil || pro.CardIndex == nil || *pro.CardIndex != 1 {
			t.Errorf("the AI agent got %+v for the card click, want text Choose Pro with cardIndex 1", pro)
		}
		br.shot("playground.png")
	})

	t.Run("widget escalation: the desk joins and writes", func(t *testing.T) {
		conv := br.start(t)
		br.say("widget")
		br.wait("the desk's widget controls", `!document.getElementById("desk-widget").hidden && !document.getElementById("widget-join").hidden`)
		br.wait("the visitor told", systemSays("Finding a support agent"))

		br.click("Send queue update", `document.getElementById("queue-send")`)
		br.wait("the queue position shown to the visitor", systemSays("You're number 2 in the queue"))
		br.click("Join chat", `document.getElementById("agent-join")`)
		br.wait("the join shown to the visitor", systemSays("Sam joined the chat"))
		br.wait("the header names the agent", `document.getElementById("who-name").textContent === "Sam"`)
		br.wait("the desk's composer", `!document.getElementById("widget-live").hidden`)

		br.click("the desk's reply box", `document.getElementById("desk-text")`)
		br.typeEnter("Hi, I'm Sam from support. How can I help?")
		br.wait("the agent's message in the visitor's chat", `[...document.querySelectorAll('#messages .msg.human .bubble')].some(b => b.textContent === "Hi, I'm Sam from support. How can I help?")`)
		br.say("My parcel has not arrived")
		br.wait("the visitor's message at the desk", `[...document.querySelectorAll('#desk-thread .from-visitor .bubble')].some(b => b.textContent === "My parcel has not arrived")`)
		br.shot("playground-desk.png")

		br.click("Leave chat", `document.getElementById("agent-leave")`)
		br.wait("the hand-back shown to the visitor", systemSays("Sam left the chat"))
		br.wait("the desk back to idle", `!document.getElementById("desk-empty").hidden`)

		var events []string
		for _, r := range chats(pcid(conv)) {
			if r.Widget != nil {
				events = append(events, r.Widget.EventType)
			}
		}
		if want := []string{ultimate.WidgetQueueUpdate, ultimate.WidgetSuccess, ultimate.WidgetMessage, ultimate.WidgetAgentDisconnect}; strings.Join(events, " ") != strings.Join(want, " ") {
			t.Errorf("the AI agent's widget API got %v, want %v", events, want)
		}
	})

	t.Run("escalation and hand-back", func(t *testing.T) {
		br.start(t)
		br.say("human")
		br.wait("the handover at the desk", `!document.getElementById("desk-escalated").hidden && document.getElementById("conv-state").dataset.state === "escalated"`)
		br.wait("the bot's last word", botSays(ultimatetest.EscalatedText))
		br.say("is anyone there?")
		br.wait("the message held from the AI agent", `[...document.querySelectorAll('.msg.visitor')].some(m => m.textContent.includes("is anyone there?") && m.dataset.outcome === "held")`)
		br.click("Hand back", `document.getElementById("hand-back")`)
		br.wait("the hand-back shown to the visitor", systemSays("handed you back to the assistant"))
		br.wait("the conversation active again", `document.getElementById("conv-state").dataset.state !== "escalated" && !document.getElementById("desk-empty").hidden`)
		br.say("hello again")
		br.wait("the AI agent answers again", botSays("You said: hello again"))
	})

	t.Run("desk outage: a dead letter", func(t *testing.T) {
		conv := br.start(t)
		br.click("the outage switch", `document.querySelector("label.switch .track")`)
		br.wait("the outage in the view", `document.getElementById("outage").checked && document.getElementById("live").dataset.state === "live"`)
		// The switch's state comes back through the feed only after the
		// server stored it, so the next callback already fails.
		br.waitServer(conv)
		br.say("this answer will not arrive")
		br.click("the Dead letters tab", `document.querySelector('.tab[data-tab="dead"]')`)
		// The bridge retries the reply for the demo account's maximum age
		// (delivery.maxAgeSeconds, 60) before it keeps the dead letter.
		br.wait("the message delivered", `[...document.querySelectorAll('.msg.visitor')].some(m => m.textContent.includes("this answer will not arrive") && m.dataset.outcome === "ok")`)
		br.waitUpTo("the dead letter", `document.getElementById("count-dead").textContent === "1" && document.getElementById("panel-dead").textContent.includes("did not reach the desk") && /[2-9][0-9]* deliveries tried/.test(document.getElementById("panel-dead").textContent)`, 3*time.Minute)
		br.wait("its replay command", `document.querySelector("#panel-dead .cmd code").textContent.includes("deadletters replay")`)
		br.shot("playground-deadletter.png")
		br.click("the outage switch", `document.querySelector("label.switch .track")`)
		br.wait("the outage over", `!document.getElementById("outage").checked`)
	})

	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("the page had errors:\n%s", strings.Join(errs, "\n"))
	}
}

type browser struct {
	t   *testing.T
	ctx context.Context
	p   *cdp.Page
}

// start opens a new conversation for subtest t and waits for the bot's
// welcome (the page starts it with conversation.started).
func (b *browser) start(t *testing.T) string {
	b.t = t
	conv := newConv("pg")
	b.open(conv)
	b.wait("the welcome", botSays(ultimatetest.WelcomeText))
	return conv
}

// open shows a conversation: the first time by loading the page, then by
// changing its #c= (the page's own "new conversation" path).
func (b *browser) open(conv string) {
	b.t.Helper()
	url := stack.API + localstack.PlaygroundPath + "#c=" + conv
	var loaded bool
	_ = b.p.Eval(b.ctx, `!!document.getElementById("messages")`, &loaded)
	if !loaded {
		if err := b.p.Navigate(b.ctx, url); err != nil {
			b.t.Fatal(err)
		}
	} else if err := b.p.Eval(b.ctx, `location.hash = "#c=" + `+jsString(conv), nil); err != nil {
		b.t.Fatal(err)
	}
	b.wait("the conversation "+conv, `document.getElementById("pcid").textContent === `+jsString("generic:demo:"+conv))
}

// wait bounds a failure at 45 s; success ends at the DOM change.
func (b *browser) wait(what, cond string) {
	b.t.Helper()
	b.waitUpTo(what, cond, 45*time.Second)
}

// waitUpTo is wait with another bound on failure.
func (b *browser) waitUpTo(what, cond string, bound time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, bound)
	defer cancel()
	if err := b.p.WaitFor(ctx, cond, nil); err != nil {
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// waitServer reads the conversation's view from the API: the page's
// checkbox follows the view, so this only confirms the server's side.
func (b *browser) waitServer(conv string) {
	b.t.Helper()
	var v struct {
		DeskOutage bool `json:"deskOutage"`
	}
	var raw string
	if err := b.p.Eval(b.ctx, `fetch("api/view?conversation=`+conv+`").then(r => r.text())`, &raw); err != nil {
		b.t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil || !v.DeskOutage {
		b.t.Fatalf("the server's view has deskOutage=%v (%v): %s", v.DeskOutage, err, raw)
	}
}

func (b *browser) click(what, el string) {
	b.t.Helper()
	if err := b.p.Click(b.ctx, el); err != nil {
		b.t.Fatalf("click %s: %v", what, err)
	}
}

// say types into the visitor's composer and presses Enter.
func (b *browser) say(text string) {
	b.t.Helper()
	b.click("the message box", `document.getElementById("text")`)
	b.typeEnter(text)
	b.wait("the visitor's message "+text, `[...document.querySelectorAll('.msg.visitor .bubble')].some(e => e.textContent === `+jsString(text)+`)`)
}

func (b *browser) typeEnter(text string) {
	b.t.Helper()
	if err := b.p.Type(b.ctx, text); err != nil {
		b.t.Fatal(err)
	}
	if err := b.p.PressEnter(b.ctx); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := b.p.Screenshot(b.ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(screenshotDir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	b.t.Logf("screenshot: %s (%d bytes)", abs, len(png))
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

func botSays(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.bot')].some(e => e.textContent.includes(%s))`, jsString(text))
}

func systemSays(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#messages .system')].some(e => e.textContent.includes(%s))`, jsString(text))
}
