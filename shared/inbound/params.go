package inbound

import (
	"sort"
	"strings"

	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// personal lists user fields treated as personal data when an account has no
// metadata rules: they are passed to the AI agent marked sanitize. Names are
// compared lowercase without _ and -.
var personal = map[string]bool{
	"name": true, "firstname": true, "lastname": true, "fullname": true, "displayname": true,
	"givenname": true, "surname": true, "email": true, "phone": true, "phonenumber": true,
	"mobile": true, "address": true, "street": true, "ip": true, "ipaddress": true,
	"id": true, "userid": true, "externalid": true, "customerid": true, "username": true,
	"birthdate": true, "dob": true,
}

func isPersonal(field string) bool {
	f := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(field))
	return personal[f]
}

// SessionParams turns user fields and explicit parameters into the AI
// agent's metaData. With rules, only the listed fields pass, under their keys
// and sanitize flags. Without rules, every user field passes (personal ones
// sanitized) and every explicit parameter passes as is.
func SessionParams(rules []tenant.MetaRule, user, params map[string]string) []ultimate.MetaItem {
	var out []ultimate.MetaItem
	if len(rules) > 0 {
		for _, r := range rules {
			v, ok := user[r.Field]
			if !ok {
				v, ok = params[r.Field]
			}
			if !ok || v == "" {
				continue
			}
			k := r.Key
			if k == "" {
				k = r.Field
			}
			out = append(out, ultimate.MetaItem{Key: k, Value: v, Sanitize: r.Sanitize})
		}
		return out
	}
	for k, v := range user {
		if v != "" {
			out = append(out, ultimate.MetaItem{Key: k, Value: v, Sanitize: isPersonal(k)})
		}
	}
	for k, v := range params {
		if _, dup := user[k]; !dup && v != "" {
			out = append(out, ultimate.MetaItem{Key: k, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
