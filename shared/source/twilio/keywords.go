package twilio

import (
	"fmt"
	"strings"
	"unicode"
)

// Opt-out: Twilio's handling comes first. Twilio answers the opt-out
// keywords itself (its default handling, or the account's Advanced Opt-Out
// with its own keywords and languages), blocks messages to a visitor who
// opted out (error 21610), and with Advanced Opt-Out tells the webhook in
// OptOutType (STOP, START, HELP). The bridge follows that:
//
//   - OptOutType, when present, decides;
//   - without it, an SMS whose whole text is a keyword of the lists below
//     (Twilio's defaults and common translations, plus the account's own)
//     counts as one. WhatsApp has no keyword handling at Twilio, so there
//     only OptOutType counts.
//
// STOP opts the visitor out: the bridge sends nothing more to them, ends the
// AI agent's session (endSession, nothing else: the AI agent is not told
// why) and forwards none of their messages until they opt back in. START
// opts back in when they had opted out (otherwise, "Yes" is an answer and
// goes to the AI agent). HELP is Twilio's to answer unless the account
// forwards it. No keyword is ever passed to the AI agent as text.

type keywordKind int

const (
	kwNone keywordKind = iota
	kwStop
	kwStart
	kwHelp
)

var (
	defaultStop = []string{
		"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
		"ARRET", "ARRÊT", "ALTO", "PARAR", "DETENER", "BAJA", "STOPP", "BASTA", "SAIR", "AFMELDEN", "ABMELDEN",
	}
	defaultStart = []string{"START", "UNSTOP", "YES", "INICIAR", "COMMENCER", "ANMELDEN", "AANMELDEN"}
	defaultHelp  = []string{"HELP", "INFO", "AIDE", "AYUDA", "HILFE", "AIUTO", "AJUDA", "HULP"}
)

type keywordSet struct {
	words       map[string]keywordKind
	forwardHelp bool
}

func newKeywords(o OptOutSettings) (keywordSet, error) {
	ks := keywordSet{words: map[string]keywordKind{}, forwardHelp: o.ForwardHelp}
	groups := []struct {
		field   string
		kind    keywordKind
		builtin []string
		extra   []string
	}{
		{"optOut.stop", kwStop, defaultStop, o.Stop},
		{"optOut.start", kwStart, defaultStart, o.Start},
		{"optOut.help", kwHelp, defaultHelp, o.Help},
	}
	for _, g := range groups {
		for _, w := range g.builtin {
			ks.words[keywordKey(w)] = g.kind
		}
	}
	for _, g := range groups {
		if len(g.extra) > maxKeywords {
			return ks, fmt.Errorf("%s: at most %d keywords", g.field, maxKeywords)
		}
		for i, w := range g.extra {
			k := keywordKey(w)
			if k == "" || len(k) > 32 || strings.ContainsFunc(k, unicode.IsSpace) {
				return ks, fmt.Errorf("%s[%d]: one word of at most 32 characters", g.field, i)
			}
			if prev, ok := ks.words[k]; ok && prev != g.kind {
				return ks, fmt.Errorf("%s[%d]: %q is already a keyword of another kind", g.field, i, w)
			}
			ks.words[k] = g.kind
		}
	}
	return ks, nil
}

// keywordKey is a keyword as compared: upper case, without surrounding
// punctuation and space.
func keywordKey(s string) string {
	return strings.ToUpper(strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) }))
}

// classify reads Twilio's verdict (OptOutType), or else the keyword lists
// for an SMS.
func (ks keywordSet) classify(optOutType, body, channel string) keywordKind {
	switch strings.ToUpper(strings.TrimSpace(optOutType)) {
	case "STOP":
		return kwStop
	case "START":
		return kwStart
	case "HELP":
		return kwHelp
	}
	if channel != ChannelSMS {
		return kwNone
	}
	k := keywordKey(body)
	if k == "" || len(k) > 32 {
		return kwNone
	}
	return ks.words[k]
}
