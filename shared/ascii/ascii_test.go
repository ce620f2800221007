package ascii

import (
	"regexp"
	"strings"
	"testing"
)

// shapes are the patterns the bridge used to compile, with the arguments
// that replace them (the call sites' own tests cover their exact use).
var shapes = []struct {
	re    string
	check func(string) bool
}{
	{`^[A-Za-z0-9_-]{1,100}$`, func(s string) bool { return Token(s, 100, "_-") }},
	{`^[A-Za-z0-9_-]{1,64}$`, func(s string) bool { return Token(s, 64, "_-") }},
	{`^[A-Za-z0-9_:.-]{1,128}$`, func(s string) bool { return Token(s, 128, "_:.-") }},
	{`^[A-Za-z0-9-]{1,36}$`, func(s string) bool { return Token(s, 36, "-") }},
	{`^[A-Za-z0-9._-]{1,128}$`, func(s string) bool { return Token(s, 128, "._-") }},
	{`^[A-Za-z0-9._-]{1,64}$`, func(s string) bool { return Token(s, 64, "._-") }},
	{`^[A-Za-z0-9._@+=-]{1,128}$`, func(s string) bool { return Token(s, 128, "._@+=-") }},
	{`^[ ,;|]{1,3}$`, func(s string) bool { return Of(s, 3, " ,;|") }},
	{`^[a-z]{1,5}$`, func(s string) bool { return Of(s, 5, "abcdefghijklmnopqrstuvwxyz") }},
}

func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want []bool // per shape
	}{
		{"", []bool{false, false, false, false, false, false, false, false, false}},
		{"a", []bool{true, true, true, true, true, true, true, false, true}},
		{"A-9_", []bool{true, true, true, false, true, true, true, false, false}},
		{"a.b:c", []bool{false, false, true, false, false, false, false, false, false}},
		{" ,;", []bool{false, false, false, false, false, false, false, true, false}},
		{" ,;|", []bool{false, false, false, false, false, false, false, false, false}},
		{strings.Repeat("x", 36), []bool{true, true, true, true, true, true, true, false, false}},
		{strings.Repeat("x", 37), []bool{true, true, true, false, true, true, true, false, false}},
		{strings.Repeat("x", 65), []bool{true, false, true, false, true, false, true, false, false}},
		{strings.Repeat("x", 129), []bool{false, false, false, false, false, false, false, false, false}},
		{"abc\n", []bool{false, false, false, false, false, false, false, false, false}},
		{"é", []bool{false, false, false, false, false, false, false, false, false}},
		{"a@b=c+d", []bool{false, false, false, false, false, false, true, false, false}},
	} {
		for i, sh := range shapes {
			if got := sh.check(tc.s); got != tc.want[i] {
				t.Errorf("%q against %s: %v, want %v", tc.s, sh.re, got, tc.want[i])
			}
		}
	}
}

func TestCharacterClasses(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		letter := regexp.MustCompile(`^[A-Za-z]$`).MatchString(string([]byte{b}))
		digit := regexp.MustCompile(`^[0-9]$`).MatchString(string([]byte{b}))
		if Letter(b) != letter || Digit(b) != digit || Alnum(b) != (letter || digit) {
			t.Errorf("byte %#x: Letter %v Digit %v Alnum %v", b, Letter(b), Digit(b), Alnum(b))
		}
	}
}

// FuzzShapes holds every shape equal to the regular expression it replaced.
func FuzzShapes(f *testing.F) {
	for _, s := range []string{"", "a", "A-9_", "a.b:c", " ,;", strings.Repeat("x", 64), strings.Repeat("y", 65), strings.Repeat("z", 128) + "!", "ab\x00", "\xff"} {
		f.Add(s)
	}
	res := make([]*regexp.Regexp, len(shapes))
	for i, sh := range shapes {
		res[i] = regexp.MustCompile(sh.re)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, sh := range shapes {
			if got, want := sh.check(s), res[i].MatchString(s); got != want {
				t.Fatalf("%q against %s: %v, the regexp says %v", s, sh.re, got, want)
			}
		}
	})
}

func TestDigitsAndHex(t *testing.T) {
	digits := regexp.MustCompile(`^[0-9]{3,8}$`)
	hex := regexp.MustCompile(`^[0-9a-f]{4}$`)
	for _, s := range []string{"", "12", "123", "12345678", "123456789", "12a", "0000", "abcd", "ABCD", "abcg", "abc", "abcde", "12 4", "\xff123"} {
		if got, want := Digits(s, 3, 8), digits.MatchString(s); got != want {
			t.Errorf("Digits(%q, 3, 8) = %v, want %v", s, got, want)
		}
		if got, want := LowerHex(s, 4), hex.MatchString(s); got != want {
			t.Errorf("LowerHex(%q, 4) = %v, want %v", s, got, want)
		}
	}
}

func BenchmarkToken(b *testing.B) {
	s := "5f1c0ffee0ddba11ad0be011-abc_def"
	b.ReportAllocs()
	for b.Loop() {
		if !Token(s, 64, "_-") {
			b.Fatal("no match")
		}
	}
}
