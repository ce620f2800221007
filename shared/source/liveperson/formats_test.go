package liveperson

import (
	"testing"

	"github.com/crmbridge/crmbridge/shared/ascii/asciitest"
)

// The format checks that replaced regular expressions, held equal to them
// (shared/ascii says why they were replaced).
var formats = []asciitest.Check{
	{Name: "validBotID", Regex: `^[A-Za-z0-9-]{1,36}$`, Fn: validBotID, Max: 36},
	{Name: "validEnv", Regex: `^[A-Za-z0-9_-]{1,64}$`, Fn: validEnv, Max: 64},
	{Name: "validConvID", Regex: `^[A-Za-z0-9._-]{1,128}$`, Fn: validConvID, Max: 128},
	{Name: "validSequence", Regex: `^[A-Za-z0-9._-]{1,64}$`, Fn: validSequence, Max: 64},
}

func TestFormatsMatchTheirPatterns(t *testing.T) { asciitest.Table(t, formats) }

func FuzzFormats(f *testing.F) { asciitest.Fuzz(f, formats) }
