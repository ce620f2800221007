package liveperson

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Built-in actions served through LivePerson.
const (
	// BuiltinGetUserInfo answers the user fields LivePerson sent as
	// engagement attributes when the conversation was created.
	BuiltinGetUserInfo = "getUserInfo"
	// BuiltinAddTags writes the tags as a private note (agents and managers
	// only): LivePerson conversations have no tags.
	BuiltinAddTags = "addTags"
)

const (
	maxTags   = 50
	maxTagLen = 100
)

// Builtin implements source.Builtins.
func (a *Adapter) Builtin(ctx context.Context, acct *source.Account, conv source.Conversation, req source.ActionRequest) ([]ultimate.ActionResult, error) {
	switch req.Builtin {
	case BuiltinGetUserInfo:
		// LivePerson sends the SDES only once, at PUT conversation; the
		// inbound handler kept them as the conversation's attributes, and
		// the action handler passes them in req.Attrs.
		return userInfo(req.Attrs), nil
	case BuiltinAddTags:
		tags := tagsOf(req.Params)
		if len(tags) == 0 {
			return nil, apigw.Errorf(http.StatusBadRequest, "invalid_action", "%s: no tags given (pass them in a tags parameter)", req.Name)
		}
		c, err := a.api(acct)
		if err != nil {
			return nil, err
		}
		note := privateText{Text: "Tags: " + strings.Join(tags, ", "), MessageAudience: AudienceAgents}
		if _, err := c.command(ctx, conv.ID, "messages", map[string]any{"messages": []any{note}}); err != nil {
			return nil, err
		}
		return []ultimate.ActionResult{}, nil
	default:
		return nil, fmt.Errorf("built-in action %q: %w (LivePerson serves %s and %s)", req.Builtin, source.ErrUnsupported, BuiltinGetUserInfo, BuiltinAddTags)
	}
}

// userInfo answers the SDES-derived attributes, personal ones marked for
// sanitizing. No attributes (engagement attributes not enabled in the bot)
// is an empty answer, not an error.
func userInfo(attrs map[string]string) []ultimate.ActionResult {
	out := []ultimate.ActionResult{}
	for k, v := range attrs {
		field, ok := strings.CutPrefix(k, AttrPrefix)
		if !ok || field == "" || v == "" {
			continue
		}
		out = append(out, ultimate.ActionResult{Key: field, Value: v, Sanitize: personalFields[field]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// tagsOf reads the tags parameter (or tag); without one, every parameter
// value is a tag. Values may hold comma-separated lists.
func tagsOf(params []ultimate.ActionParam) []string {
	var values []string
	for _, p := range params {
		if k := strings.ToLower(p.Key); k == "tags" || k == "tag" {
			values = append(values, p.Value...)
		}
	}
	if values == nil {
		for _, p := range params {
			values = append(values, p.Value...)
		}
	}
	seen := map[string]bool{}
	var tags []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" || seen[t] || !usable(t) {
				continue
			}
			if utf8.RuneCountInString(t) > maxTagLen {
				t = truncate(t, maxTagLen)
			}
			seen[t] = true
			tags = append(tags, t)
			if len(tags) == maxTags {
				return tags
			}
		}
	}
	return tags
}
