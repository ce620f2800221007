package action

import (
	"testing"

	"github.com/crmbridge/crmbridge/shared/ascii/asciitest"
)

// The format checks that replaced regular expressions, held equal to them
// (shared/ascii says why they were replaced).
var formats = []asciitest.Check{
	{Name: "validKey", Regex: `^[A-Za-z0-9_.-]{1,64}$`, Fn: validKey, Max: 64},
}

func TestFormatsMatchTheirPatterns(t *testing.T) { asciitest.Table(t, formats) }

func FuzzFormats(f *testing.F) { asciitest.Fuzz(f, formats) }
