package source

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// FuzzParsePCID checks that ParsePCID never panics, fails only with
// ErrBadPCID, and that what it parses is valid and round-trips: PCID()
// gives back the input, and parsing that gives the same conversation.
// Seeds are in testdata/fuzz/FuzzParsePCID.
func FuzzParsePCID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParsePCID(s)
		if err != nil {
			if !errors.Is(err, ErrBadPCID) || c != (Conversation{}) {
				t.Fatalf("ParsePCID(%q) = %+v, %v", s, c, err)
			}
			return
		}
		if !tenant.ValidSourceName(c.Source) || !tenant.ValidAccount(c.Account) || ids.Conversation("id", c.ID) != nil {
			t.Fatalf("ParsePCID(%q) accepted %+v", s, c)
		}
		if strings.Contains(c.Source, ":") || strings.Contains(c.Account, ":") {
			t.Fatalf("colon in source or account: %+v", c)
		}
		if c.PCID() != s {
			t.Fatalf("PCID() = %q, want %q", c.PCID(), s)
		}
		again, err := ParsePCID(c.PCID())
		if err != nil || again != c {
			t.Fatalf("re-parse %q = %+v, %v; want %+v", c.PCID(), again, err, c)
		}
	})
}
