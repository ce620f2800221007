package tenant

import "strings"

// personalFields are user fields treated as personal data when an account
// has no metadata rules. Names are compared lowercase without _ and -.
var personalFields = map[string]bool{
	"name": true, "firstname": true, "lastname": true, "fullname": true, "displayname": true,
	"givenname": true, "surname": true, "email": true, "phone": true, "phonenumber": true,
	"mobile": true, "address": true, "street": true, "ip": true, "ipaddress": true,
	"id": true, "userid": true, "externalid": true, "customerid": true, "username": true,
	"birthdate": true, "dob": true,
}

// PersonalField reports whether a user field without a metadata rule is
// personal data.
func PersonalField(field string) bool {
	return personalFields[strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(field))]
}

// SanitizedParam reports whether the session parameter key was passed to
// the AI agent marked sanitize: by the account's metadata rule for it, or,
// for an account without rules, when it names a personal field. A key no
// rule names on an account with rules is treated as sanitized: the bridge
// did not pass it, so nothing says it may be shown.
func (s *Source) SanitizedParam(key string) bool {
	if len(s.Metadata) == 0 {
		return PersonalField(key)
	}
	for _, r := range s.Metadata {
		k := r.Key
		if k == "" {
			k = r.Field
		}
		if k == key {
			return r.Sanitize
		}
	}
	return true
}
