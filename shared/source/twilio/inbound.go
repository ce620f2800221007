package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
)

// parseBudget bounds the State and API calls of one Parse: the source
// contract gives Parse no context, and Twilio waits ~15 s for the answer.
const parseBudget = 8 * time.Second

// Parse implements source.Inbound.
func (a *Adapter) Parse(req *apigw.Request, acct *source.Account) (*source.Batch, error) {
	if a.State == nil {
		return nil, misconfigured(errors.New("the Twilio adapter has no State table"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), parseBudget)
	defer cancel()
	switch req.Params["proxy"] {
	case routeStatus:
		return a.parseStatus(ctx, req, acct)
	case routeDesk:
		return a.parseDesk(ctx, req, acct)
	default:
		return a.parseMessage(ctx, req, acct)
	}
}

// Attributes kept on the conversation (for getUserInfo).
const (
	AttrChannel = "twilio.channel"
	AttrCountry = "twilio.country"
	AttrName    = "twilio.name"
)

// Session parameters and user fields of a conversation's start.
const (
	ParamChannel = "channel"
	ParamCountry = "country"
	UserName     = "name" // the WhatsApp profile name: personal, sent with sanitize
)

// Limits of what reaches the AI agent.
const (
	maxText    = 4096
	maxMedia   = 10
	maxName    = 100
	maxMediaCT = 100
)

// inboundMessage is an incoming message's parameters, checked.
type inboundMessage struct {
	sid      string
	ends     ends
	p        url.Values
	keyword  keywordKind
	fromLand string // Twilio's FromCountry
}

func readMessage(req *apigw.Request, acct *source.Account, st *settings) (inboundMessage, error) {
	p, err := Params(req)
	if err != nil {
		return inboundMessage{}, err
	}
	bad := func(field, problem string) error {
		return apigw.Errorf(http.StatusBadRequest, "invalid_message", "%s: %s", field, problem)
	}
	if got := p.Get("AccountSid"); got != acct.Account {
		if got == "" {
			return inboundMessage{}, bad("AccountSid", "required")
		}
		return inboundMessage{}, apigw.Errorf(http.StatusForbidden, "account_mismatch", "AccountSid is not the account of this URL")
	}
	m := inboundMessage{sid: p.Get("MessageSid"), p: p, fromLand: p.Get("FromCountry")}
	if m.sid == "" {
		m.sid = p.Get("SmsMessageSid")
	}
	if !messageSid(m.sid) {
		return inboundMessage{}, bad("MessageSid", "required, SM or MM followed by 32 hex digits")
	}
	if m.ends.Visitor, err = parseAddress(p.Get("From")); err != nil {
		return inboundMessage{}, bad("From", err.Error()+"; other channels are not served")
	}
	if m.ends.Tenant, err = parseAddress(p.Get("To")); err != nil {
		return inboundMessage{}, bad("To", err.Error())
	}
	if m.ends.Tenant.Channel != m.ends.Visitor.Channel {
		return inboundMessage{}, bad("To", "a different channel than From")
	}
	m.keyword = st.keywords.classify(p.Get("OptOutType"), p.Get("Body"), m.ends.Visitor.Channel)
	return m, nil
}

// parseMessage handles an incoming message: opt-out keywords, the held
// conversation (with the desk), else the events for the AI agent.
func (a *Adapter) parseMessage(ctx context.Context, req *apigw.Request, acct *source.Account) (*source.Batch, error) {
	st, err := settingsOf(acct)
	if err != nil {
		return nil, misconfigured(err)
	}
	m, err := readMessage(req, acct, st)
	if err != nil {
		return nil, err
	}
	req.Log.Set("messageSid", m.sid)
	req.Log.Set("channel", m.ends.Visitor.Channel)
	addr, err := a.State.OpenAddress(ctx, Name, acct.Account, m.ends.hash(acct.Account), m.ends.encode(), newConversationID)
	if err != nil {
		return nil, unavailable(err)
	}
	req.Log.Set("conversation", addr.ID)
	batch := &source.Batch{Reply: twiml()}
	conv := acct.Conversation(addr.ID)

	switch {
	case m.keyword == kwStop:
		req.Log.Set("optOut", "stop")
		return batch, a.optOut(ctx, addr, conv, m, batch)
	case m.keyword == kwStart && addr.OptedOut:
		req.Log.Set("optOut", "start")
		if err := a.State.SetOptOut(ctx, addr, false); err != nil {
			return nil, unavailable(err)
		}
		return batch, a.unused(ctx, addr)
	case m.keyword == kwHelp && !st.keywords.forwardHelp:
		req.Log.Set("optOut", "help")
		return batch, a.unused(ctx, addr)
	case addr.OptedOut:
		// Twilio would not deliver an answer; the AI agent is not asked.
		req.Log.Set("outcome", "opted_out")
		return batch, a.unused(ctx, addr)
	}

	c, err := a.State.Conversation(ctx, conv.PCID())
	if err != nil && !errors.Is(err, state.ErrNoConversation) {
		return nil, unavailable(err)
	}
	text, card := composeText(m.p, decodeOptions(addr.Options), st)
	if c != nil && c.Status == state.ConvEscalated {
		req.Log.Set("outcome", "to_desk")
		return batch, a.toDesk(ctx, acct, conv, m.sid, text)
	}
	// A new AI-agent session: a new conversation, one whose start never
	// got through (no conversation item yet), one the AI agent's side ended
	// (a hand-back, endSession), or one idle past the AI agent's session
	// timeout (its parameters would be gone).
	now := a.Now()
	started := addr.Created || c == nil || c.Status == state.ConvEnded || now.Sub(addr.LastIn) > st.idle
	if !addr.Created && now.Sub(addr.LastIn) > noteEvery {
		if err := a.State.NoteVisitor(ctx, addr); err != nil {
			return nil, unavailable(err)
		}
	}
	if started {
		batch.Events = append(batch.Events, startEvent(m, addr.ID))
	}
	if text != "" {
		batch.Events = append(batch.Events, source.Event{ID: m.sid, Kind: source.Message, Conversation: addr.ID, Text: text, CardIndex: card})
		if m.ends.Visitor.Channel == ChannelWhatsApp && st.typing {
			a.typing(ctx, acct, m.sid)
		}
	} else if !started {
		req.Log.Set("outcome", "no_content")
	}
	return batch, nil
}

// startEvent starts the AI agent's session with what the bridge may tell
// it: the channel, the country (not the number) and a WhatsApp profile
// name, which the account's metadata rules (or the default personal-field
// list) mark sanitize.
func startEvent(m inboundMessage, id string) source.Event {
	ev := source.Event{
		ID: m.sid + "#start", Kind: source.Started, Conversation: id,
		Params: map[string]string{ParamChannel: m.ends.Visitor.Channel},
		Attrs:  map[string]string{AttrChannel: m.ends.Visitor.Channel},
	}
	if country := countryOf(m.ends.Visitor.Number, m.fromLand); country != "" {
		ev.Params[ParamCountry] = country
		ev.Attrs[AttrCountry] = country
	}
	if name := cleanName(m.p.Get("ProfileName")); name != "" {
		ev.User = map[string]string{UserName: name}
		ev.Attrs[AttrName] = name
	}
	return ev
}

// unused unmaps a conversation this message opened but did not start (a
// keyword, an opted-out visitor), so the next message that reaches the AI
// agent opens it with a Started event.
func (a *Adapter) unused(ctx context.Context, addr *state.Address) error {
	if !addr.Created {
		return nil
	}
	if err := a.State.CloseAddress(ctx, addr); err != nil {
		return unavailable(err)
	}
	return nil
}

// optOut handles STOP: the visitor is opted out, the conversation closed,
// and the AI agent's session ended (endSession only).
func (a *Adapter) optOut(ctx context.Context, addr *state.Address, conv source.Conversation, m inboundMessage, batch *source.Batch) error {
	if err := a.State.SetOptOut(ctx, addr, true); err != nil {
		return unavailable(err)
	}
	created := addr.Created
	if err := a.State.CloseAddress(ctx, addr); err != nil {
		return unavailable(err)
	}
	if !created {
		batch.Events = append(batch.Events, source.Event{ID: m.sid + "#stop", Kind: source.Ended, Conversation: conv.ID})
	}
	return nil
}

// composeText is the message for the AI agent: the visitor's text (or the
// option it picks), attachments and a shared location, one per line.
func composeText(p url.Values, opts []option, st *settings) (string, *int) {
	var lines []string
	var card *int
	body := strings.TrimSpace(p.Get("Body"))
	if bt := strings.TrimSpace(p.Get("ButtonText")); bt != "" || p.Get("ButtonPayload") != "" {
		if bt == "" {
			bt = body
		}
		body = bt
	}
	if body != "" || p.Get("ButtonPayload") != "" {
		var t string
		t, card = answer(body, p.Get("ButtonPayload"), opts)
		if t = strings.TrimSpace(t); t != "" {
			lines = append(lines, t)
		}
	}
	lines = append(lines, mediaLines(p, st)...)
	if l := locationLine(p); l != "" {
		lines = append(lines, l)
	}
	text := strings.Join(lines, "\n")
	if utf8.RuneCountInString(text) > maxText {
		text = string([]rune(text)[:maxText])
	}
	return text, card
}

// mediaLines name the attachments: "[image/jpeg]", with Twilio's URL when
// the account says its media URLs open without credentials.
func mediaLines(p url.Values, st *settings) []string {
	n, _ := strconv.Atoi(p.Get("NumMedia"))
	n = min(max(n, 0), maxMedia)
	var out []string
	for i := range n {
		ct := strings.TrimSpace(p.Get("MediaContentType" + strconv.Itoa(i)))
		if ct == "" || len(ct) > maxMediaCT || strings.ContainsAny(ct, "[]\n\r") {
			ct = "attachment"
		}
		line := "[" + ct + "]"
		if st.Media == MediaURL {
			if u, err := url.Parse(p.Get("MediaUrl" + strconv.Itoa(i))); err == nil && u.Scheme == "https" && u.Host != "" {
				line += " " + u.String()
			}
		}
		out = append(out, line)
	}
	return out
}

// locationLine is a shared WhatsApp location: "[location] lat,lon Label,
// Address".
func locationLine(p url.Values) string {
	lat, err1 := strconv.ParseFloat(p.Get("Latitude"), 64)
	lon, err2 := strconv.ParseFloat(p.Get("Longitude"), 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return ""
	}
	line := fmt.Sprintf("[location] %.6f,%.6f", lat, lon)
	for _, k := range []string{"Label", "Address"} {
		if v := cleanName(p.Get(k)); v != "" {
			line += " " + v
		}
	}
	return line
}

// cleanName is a display text from the visitor's side, fit for a session
// parameter: printable, one line, bounded.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	return clip(strings.Join(strings.Fields(s), " "), maxName)
}

// typing shows WhatsApp's typing indicator; its failure costs nothing but
// the indicator, so it is logged, not answered.
func (a *Adapter) typing(ctx context.Context, acct *source.Account, sid string) {
	c, err := a.api(acct)
	if err == nil {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = c.typing(tctx, sid)
		cancel()
	}
	if err != nil {
		a.log().WarnContext(ctx, "twilio typing indicator failed", "messageSid", sid, "reason", egress.Reason(err))
	}
}

// unavailable is the answer when the State table could not be reached:
// Twilio (with a retry connection override) or the operator tries again.
func unavailable(err error) error {
	return &apigw.Error{Status: http.StatusServiceUnavailable, Code: "state_unavailable", Message: "could not read or record the conversation; retry later", RetryAfter: 5 * time.Second, Err: err}
}
