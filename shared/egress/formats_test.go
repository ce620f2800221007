package egress

import (
	"testing"

	"github.com/crmbridge/crmbridge/shared/ascii/asciitest"
)

// The format checks that replaced regular expressions, held equal to them
// (shared/ascii says why they were replaced).
var formats = []asciitest.Check{
	{Name: "dnsLabel", Regex: `^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`, Fn: dnsLabel, Max: 63},
	{Name: "SafeCode", Regex: `^[A-Za-z][A-Za-z0-9_.:-]{0,63}$`, Fn: func(s string) bool { return SafeCode(s) == s && s != "" }, Max: 64},
}

func TestFormatsMatchTheirPatterns(t *testing.T) { asciitest.Table(t, formats) }

func FuzzFormats(f *testing.F) { asciitest.Fuzz(f, formats) }
