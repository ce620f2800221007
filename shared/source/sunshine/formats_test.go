package sunshine

import (
	"testing"

	"github.com/crmbridge/crmbridge/shared/ascii/asciitest"
)

// The format checks that replaced regular expressions, held equal to them
// (shared/ascii says why they were replaced).
var formats = []asciitest.Check{
	{Name: "validID", Regex: `^[A-Za-z0-9_-]{1,64}$`, Fn: validID, Max: 64},
	{Name: "validTarget", Regex: `^[A-Za-z0-9_:.-]{1,128}$`, Fn: validTarget, Max: 128},
	{Name: "validSeparator", Regex: `^[ ,;|]{1,3}$`, Fn: validSeparator, Max: 3},
}

func TestFormatsMatchTheirPatterns(t *testing.T) { asciitest.Table(t, formats) }

func FuzzFormats(f *testing.F) { asciitest.Fuzz(f, formats) }
