package liveperson

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// How a button click maps back to the AI agent's button text and cardIndex.
//
// A LivePerson publishText button publishes its text as the consumer's next
// message; the AI agent wants the button's own text and, for a carousel, the
// card's index. We mark clicks two ways, and decode either:
//
//   - click metadata: an ExternalId "crmbridge:c=<cardIndex>;t=<text>" (c only
//     on carousel cards, t URL-escaped). Whether LivePerson hands this to the
//     Custom Endpoint (in context.lpEvent.metadata) is not documented.
//   - the published text: carousel buttons publish "<text> (<n>/<N>)", card n
//     of N (1-based), unless the account turns carouselClickSuffix off.
//
// A visitor who types "Help (2/3)" is read as a click on card 2's "Help"; that
// is the price of working without the metadata, and it is harmless when no
// such carousel is open.

const (
	clickPrefix    = "crmbridge:"
	maxPublishText = 256 // json-pollock publishText.text maxLength
	maxCards       = 100
	maxExternalID  = 256
)

// suffixRE is compiled on first use so that no function pays for it at
// start-up.
var suffixRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(.*\S) \(([1-9][0-9]?)/([1-9][0-9]?)\)$`)
})

// clickID is the ExternalId for a button; card < 0 means not a carousel.
func clickID(card int, text string) string {
	id := clickPrefix
	if card >= 0 {
		id += "c=" + strconv.Itoa(card) + ";"
	}
	t := "t=" + url.QueryEscape(text)
	if len(id)+len(t) <= maxExternalID {
		id += t
	}
	return strings.TrimSuffix(id, ";")
}

// publishText is what a button publishes: its text, and for a carousel card
// the " (n/N)" marker; cut to LivePerson's 256 characters.
func publishText(text string, card, cards int, suffix bool) string {
	if card < 0 || !suffix {
		return truncate(text, maxPublishText)
	}
	mark := " (" + strconv.Itoa(card+1) + "/" + strconv.Itoa(cards) + ")"
	return truncate(strings.TrimSpace(text), maxPublishText-utf8.RuneCountInString(mark)) + mark
}

// click is a decoded button click.
type click struct {
	text string
	card *int
}

// decodeClick reads a published text and the event's ExternalId metadata.
// ok is false when neither marks a click of ours.
func decodeClick(published string, ids []string) (click, bool) {
	for _, id := range ids {
		rest, found := strings.CutPrefix(id, clickPrefix)
		if !found {
			continue
		}
		c := click{}
		for _, kv := range strings.Split(rest, ";") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "c":
				if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < maxCards {
					c.card = &n
				}
			case "t":
				if t, err := url.QueryUnescape(v); err == nil {
					c.text = t
				}
			}
		}
		if c.text == "" {
			c.text = stripSuffix(published)
		}
		if c.text != "" {
			return c, true
		}
	}
	if m := suffixRE().FindStringSubmatch(published); m != nil {
		n, _ := strconv.Atoi(m[2])
		total, _ := strconv.Atoi(m[3])
		if n <= total {
			n--
			return click{text: m[1], card: &n}, true
		}
	}
	return click{}, false
}

func stripSuffix(s string) string {
	if m := suffixRE().FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

// externalIDs collects the ids of ExternalId items in a metadata array,
// ignoring anything else in it.
func externalIDs(raw json.RawMessage) []string {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		var m struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		if json.Unmarshal(it, &m) == nil && m.Type == "ExternalId" && m.ID != "" {
			out = append(out, m.ID)
		}
	}
	return out
}

// findButtonClick looks through rich content for a button's click: the
// publishText text and the click metadata. Depth and node counts are bounded
// so hostile content cannot make us work hard.
func findButtonClick(raw json.RawMessage) (text string, ids []string) {
	budget := 500
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		budget--
		if budget < 0 || depth > 8 {
			return false
		}
		switch x := v.(type) {
		case map[string]any:
			if c, ok := x["click"].(map[string]any); ok {
				if t := publishAction(c["actions"]); t != "" {
					text = t
					if b, err := json.Marshal(c["metadata"]); err == nil {
						ids = externalIDs(b)
					}
					return true
				}
			}
			for _, k := range []string{"elements", "replies", "quickReplies", "content"} {
				if child, ok := x[k]; ok && walk(child, depth+1) {
					return true
				}
			}
		case []any:
			for _, child := range x {
				if walk(child, depth+1) {
					return true
				}
			}
		}
		return false
	}
	var v any
	if json.Unmarshal(raw, &v) == nil {
		walk(v, 0)
	}
	return text, ids
}

func publishAction(actions any) string {
	list, _ := actions.([]any)
	for _, a := range list {
		m, _ := a.(map[string]any)
		if m["type"] == "publishText" {
			if t, ok := m["text"].(string); ok {
				return t
			}
		}
	}
	return ""
}

// truncate cuts s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
