package tenant

import (
	"testing"

	"github.com/crmbridge/crmbridge/shared/ascii/asciitest"
)

// The format checks that replaced regular expressions, held equal to them
// (shared/ascii says why they were replaced).
var formats = []asciitest.Check{
	// The old pattern, less the dot segments "." and ".." (a path's).
	{Name: "ValidAccount", Regex: `^(?:[A-Za-z0-9_@+=-]|[A-Za-z0-9_@+=-][A-Za-z0-9._@+=-]|\.[A-Za-z0-9_@+=-]|[A-Za-z0-9._@+=-]{3,128})$`, Fn: ValidAccount, Max: 128},
	{Name: "validToken", Regex: `^[A-Za-z0-9_.-]{1,64}$`, Fn: validToken, Max: 64},
}

func TestFormatsMatchTheirPatterns(t *testing.T) { asciitest.Table(t, formats) }

func FuzzFormats(f *testing.F) { asciitest.Fuzz(f, formats) }
