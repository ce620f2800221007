package inbound

import (
	"sort"

	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// SessionParams turns user fields and explicit parameters into the AI
// agent's metaData. With rules, only the listed fields pass, under their keys
// and sanitize flags. Without rules, every user field passes (personal ones
// sanitized by tenant.PersonalField, the one list the handover's masking
// uses too) and every explicit parameter passes as is.
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
			out = append(out, ultimate.MetaItem{Key: k, Value: v, Sanitize: tenant.PersonalField(k)})
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
