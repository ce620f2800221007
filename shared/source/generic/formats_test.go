package generic

import (
	"testing"

	"github.com/crmbridge/crmbridge/shared/ascii/asciitest"
)

// The format checks that replaced regular expressions, held equal to them
// (shared/ascii says why they were replaced).
var formats = []asciitest.Check{
	{Name: "plainID", Regex: `^[A-Za-z0-9_-]{1,100}$`, Fn: plainID, Max: 100},
}

func TestFormatsMatchTheirPatterns(t *testing.T) { asciitest.Table(t, formats) }

func FuzzFormats(f *testing.F) { asciitest.Fuzz(f, formats) }
