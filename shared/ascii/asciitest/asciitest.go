// Package asciitest holds hand-written format checks equal to the regular
// expressions they replaced (shared/ascii says why they were replaced): the
// packages that replaced one keep the old pattern in a test, run the edge
// cases of Inputs through both in a table test, and fuzz both with Equal.
package asciitest

import (
	"regexp"
	"strings"
	"testing"
)

// Check is one hand-written format check and the pattern it replaced.
type Check struct {
	Name  string
	Regex string
	Fn    func(string) bool
	// Max is the longest input the pattern accepts (the edge cases go
	// beyond it).
	Max int
	// Seeds are more inputs for the table and the fuzzer: matches of a
	// format with a fixed prefix, say, which the generic edge cases never
	// are.
	Seeds []string
}

// Inputs are the edge cases of a format: the empty string, every single
// byte, and runs of each length around max of a letter, a digit and
// the punctuation the formats use, first and last byte varied.
func Inputs(max int) []string {
	out := []string{""}
	for c := range 256 {
		out = append(out, string([]byte{byte(c)}))
	}
	for _, n := range []int{2, 3, 4, max - 2, max - 1, max, max + 1, max + 2} {
		if n < 2 {
			continue
		}
		for _, fill := range []byte{'a', 'Z', '7'} {
			for _, end := range []byte{'a', '-', '_', '.', ':', ' ', '@', '\n', 0x80} {
				run := strings.Repeat(string(fill), n-1)
				out = append(out, string(end)+run, run+string(end))
			}
		}
	}
	return out
}

// Table runs Inputs through every check and its pattern.
func Table(t *testing.T, checks []Check) {
	t.Helper()
	for _, c := range checks {
		re := regexp.MustCompile(c.Regex)
		for _, s := range append(Inputs(c.Max), c.Seeds...) {
			if got, want := c.Fn(s), re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, %s says %v", c.Name, s, got, c.Regex, want)
			}
		}
	}
}

// Fuzz holds every check equal to its pattern on the fuzzer's inputs.
func Fuzz(f *testing.F, checks []Check) {
	res := make([]*regexp.Regexp, len(checks))
	for i, c := range checks {
		res[i] = regexp.MustCompile(c.Regex)
		for _, s := range append(Inputs(c.Max)[257:], c.Seeds...) { // the runs; the single bytes are the fuzzer's to find
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, c := range checks {
			if got, want := c.Fn(s), res[i].MatchString(s); got != want {
				t.Fatalf("%s(%q) = %v, %s says %v", c.Name, s, got, c.Regex, want)
			}
		}
	})
}
