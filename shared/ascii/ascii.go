// Package ascii checks the shapes of short ASCII tokens — IDs, settings,
// codes: letters, digits and a few punctuation bytes, of bounded length.
//
// It exists instead of regular expressions like ^[A-Za-z0-9_-]{1,64}$:
// Go's regexp compiles a counted repeat by unrolling it, so each such
// pattern compiled at package init cost every function tens to hundreds of
// KB and up to 0.3 ms of its cold start (issue 12). These loops do the same
// check with no set-up and no allocation. Their tests hold them equal to
// the regular expressions they replaced.
package ascii

// Letter reports whether c is an ASCII letter.
func Letter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Digit reports whether c is an ASCII digit.
func Digit(c byte) bool { return c >= '0' && c <= '9' }

// Alnum reports whether c is an ASCII letter or digit.
func Alnum(c byte) bool { return Letter(c) || Digit(c) }

// Token reports whether s is 1 to max bytes, each an ASCII letter, a digit
// or one of the bytes of punct: ^[A-Za-z0-9<punct>]{1,max}$.
func Token(s string, max int, punct string) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !Alnum(s[i]) && !in(s[i], punct) {
			return false
		}
	}
	return true
}

// Of reports whether s is 1 to max bytes, each one of the bytes of set:
// ^[<set>]{1,max}$.
func Of(s string, max int, set string) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !in(s[i], set) {
			return false
		}
	}
	return true
}

func in(c byte, set string) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return true
		}
	}
	return false
}

// Digits reports whether s is min to max ASCII digits: ^[0-9]{min,max}$.
func Digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !Digit(s[i]) {
			return false
		}
	}
	return true
}

// LowerHex reports whether s is exactly n lowercase hex digits:
// ^[0-9a-f]{n}$.
func LowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !Digit(c) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
