package ids

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/apigw"
)

func TestRules(t *testing.T) {
	cases := []struct {
		rule func(field, v string) error
		name string
		v    string
		ok   bool
	}{
		{Source, "source", "generic", true},
		{Source, "source", "Generic", false},
		{Source, "source", "a/b", false},
		{Account, "account", "acme.eu-1@x", true},
		{Account, "account", "a:b", false},
		{Account, "account", strings.Repeat("a", 129), false},
		{Agent, "botId", "64f1c0ffee0ddba11ad0be57", true},
		{Agent, "botId", "../x", false},
		{Agent, "botId", "", false},
		{Action, "name", "lookupOrder", true},
		{Action, "name", "a/b", false},
		{Conversation, "c", "c-1 with spaces: and colons", true},
		{Conversation, "c", "Ünïcödé", true},
		{Conversation, "c", strings.Repeat("c", MaxConversation), true},
		{Conversation, "c", strings.Repeat("c", MaxConversation+1), false},
		{Conversation, "c", "", false},
		{Conversation, "c", "a\r\nb", false},
		{Conversation, "c", "a\x00b", false},
		{Conversation, "c", "a\u2028b", false},
		{Conversation, "c", "\xff", false},
		{Conversation, "c", "..", false}, // a dot segment in a platform API path
		{Conversation, "c", ".", false},
		{Conversation, "c", "...", true},
		{Account, "account", "..", false},
		{Event, "id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", true},
		{Event, "id", "conv#text#12", true},
		{Event, "id", strings.Repeat("i", MaxEvent+1), false},
		{Event, "id", "a b", false},
		{Event, "id", "é", false},
		{Event, "id", "", false},
		{Label, "teamId", "", true},
		{Label, "teamId", "Support team", true},
		{Label, "teamId", "a\tb", false},
		{Label, "teamId", strings.Repeat("t", MaxLabel+1), false},
	}
	for _, tc := range cases {
		err := tc.rule(tc.name, tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: %v, want ok=%v", tc.name, short(tc.v), err, tc.ok)
			continue
		}
		if err != nil {
			e := apigw.AsError(err)
			if e.Status != 400 || e.Code != "invalid_id" || !strings.HasPrefix(e.Message, tc.name+": ") {
				t.Errorf("%s %q: %d %s %q", tc.name, short(tc.v), e.Status, e.Code, e.Message)
			}
			if len(tc.v) > 3 && strings.Contains(e.Message, tc.v) {
				t.Errorf("the error repeats the value: %q", e.Message)
			}
		}
	}
}

func TestPCID(t *testing.T) {
	src, acct, conv, err := PCID("p", "generic:acme:c:1")
	if err != nil || src != "generic" || acct != "acme" || conv != "c:1" {
		t.Fatalf("%q %q %q %v", src, acct, conv, err)
	}
	for _, bad := range []string{"", "generic", "generic:acme", "generic:acme:", "Generic:acme:c", "generic:a b:c", "generic:acme:a\nb", "generic:acme:" + strings.Repeat("c", 201)} {
		if _, _, _, err := PCID("platformConversationId", bad); err == nil || !strings.HasPrefix(apigw.AsError(err).Message, "platformConversationId: ") {
			t.Errorf("%q: %v", short(bad), err)
		}
	}
}

// FuzzPCID: PCID never panics, answers a 400 naming the field or parts
// that each pass their own rule and join back to the input. Seeds are in
// testdata/fuzz/FuzzPCID.
func FuzzPCID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		src, acct, conv, err := PCID("f", s)
		if err != nil {
			if e := apigw.AsError(err); e.Status != 400 || !strings.HasPrefix(e.Message, "f: ") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if Source("s", src) != nil || Account("a", acct) != nil || Conversation("c", conv) != nil {
			t.Fatalf("%q split into parts that break the rules", s)
		}
		if src+":"+acct+":"+conv != s || len(s) > MaxPCID || !utf8.ValidString(s) {
			t.Fatalf("%q does not round-trip", s)
		}
		for _, r := range conv {
			if !unicode.IsPrint(r) {
				t.Fatalf("%q: a control character passed", s)
			}
		}
	})
}

func short(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}
