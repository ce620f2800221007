package twilio

import (
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/ascii/asciitest"
)

// The format checks that replaced regular expressions, held equal to them
// (shared/ascii says why they were replaced). Seeds give the prefixed
// formats matches and near misses the generic edge cases never are.
var formats = func() []asciitest.Check {
	hex32 := "0123456789abcdef0123456789abcdef"
	sids := func(prefix string) []string {
		return []string{prefix + hex32, prefix + strings.ToUpper(hex32), prefix + hex32[:31], prefix + hex32 + "0", prefix + hex32[:31] + "g", "x" + prefix[1:] + hex32, prefix}
	}
	sidCheck := func(prefix string) asciitest.Check {
		return asciitest.Check{Name: "validSid " + prefix, Regex: `^` + prefix + `[0-9a-f]{32}$`, Fn: func(s string) bool { return validSid(s, prefix) }, Max: 34, Seeds: sids(prefix)}
	}
	return []asciitest.Check{
		sidCheck("AC"), sidCheck("MG"), sidCheck("HX"), sidCheck("SK"),
		{Name: "messageSid", Regex: `^(SM|MM)[0-9a-f]{32}$`, Fn: messageSid, Max: 34, Seeds: append(sids("SM"), append(sids("MM"), "SS"+hex32, "MS"+hex32)...)},
		{Name: "validErrorCode", Regex: `^[0-9]{1,6}$`, Fn: validErrorCode, Max: 6, Seeds: []string{"0", "30007", "123456", "1234567", "12a"}},
		{Name: "validSendingKey", Regex: `^[mr][0-9a-f]{24}$`, Fn: validSendingKey, Max: 25, Seeds: []string{"m" + hex32[:24], "r" + hex32[:24], "x" + hex32[:24], "m" + hex32[:23], "m" + hex32[:25], "M" + hex32[:24], "m" + hex32[:23] + "G"}},
		{Name: "e164", Regex: `^\+[1-9][0-9]{6,14}$`, Fn: e164, Max: 16, Seeds: []string{"+1234567", "+123456", "+441234567890", "+123456789012345", "+1234567890123456", "+0123456789", "1234567890", "+12345a7890", "+", "++1234567"}},
		{Name: "shortCode", Regex: `^[0-9]{3,8}$`, Fn: shortCode, Max: 8, Seeds: []string{"12", "123", "12345678", "123456789", "12 45"}},
		{Name: "countryCode", Regex: `^[A-Z]{2}$`, Fn: countryCode, Max: 2, Seeds: []string{"US", "us", "U", "USA", "U1", "[A"}},
	}
}()

func TestFormatsMatchTheirPatterns(t *testing.T) { asciitest.Table(t, formats) }

func FuzzFormats(f *testing.F) { asciitest.Fuzz(f, formats) }
