package twilio

import "github.com/crmbridge/crmbridge/shared/ascii"

// The formats of Twilio's identifiers and numbers, checked with loops
// rather than regular expressions (shared/ascii says why: each counted
// repeat such as {32} was unrolled at every function's start).

// validSid reports whether s is one of Twilio's SIDs of the given two-letter
// prefix: prefix then 32 lowercase hex digits (^AC[0-9a-f]{32}$ and so on).
func validSid(s, prefix string) bool {
	return len(s) == 34 && s[:2] == prefix && ascii.LowerHex(s[2:], 32)
}

// messageSid is an SMS or MMS message's SID: ^(SM|MM)[0-9a-f]{32}$.
func messageSid(s string) bool { return validSid(s, "SM") || validSid(s, "MM") }

// validErrorCode is Twilio's numeric error code: ^[0-9]{1,6}$.
func validErrorCode(s string) bool { return ascii.Digits(s, 1, 6) }

// validSendingKey is the bridge's own key of a sent message in a status
// callback's query: ^[mr][0-9a-f]{24}$.
func validSendingKey(s string) bool {
	return len(s) == 25 && (s[0] == 'm' || s[0] == 'r') && ascii.LowerHex(s[1:], 24)
}

// e164 is an E.164 number: ^\+[1-9][0-9]{6,14}$.
func e164(s string) bool {
	return len(s) >= 2 && s[0] == '+' && s[1] >= '1' && s[1] <= '9' && ascii.Digits(s[2:], 6, 14)
}

// shortCode is an SMS short code: ^[0-9]{3,8}$.
func shortCode(s string) bool { return ascii.Digits(s, 3, 8) }

// countryCode is an ISO 3166 alpha-2 code as Twilio sends it: ^[A-Z]{2}$.
func countryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
