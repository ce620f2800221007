package sunshine

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Built-in actions this adapter serves.
const (
	BuiltinAddTags        = "addTags"
	BuiltinGetUserInfo    = "getUserInfo"
	BuiltinGetAccountInfo = "getAccountInfo"
)

// ParamTags is addTags' input: one or more values of comma- or
// space-separated tags.
const ParamTags = "tags"

// Builtin implements source.Builtins.
func (a *Adapter) Builtin(ctx context.Context, acct *source.Account, conv source.Conversation, req source.ActionRequest) ([]ultimate.ActionResult, error) {
	c, s, err := a.apiFor(acct)
	if err != nil {
		return nil, err
	}
	switch req.Builtin {
	case BuiltinAddTags:
		return addTags(ctx, c, s, conv, req.Params)
	case BuiltinGetUserInfo:
		u, err := conversationUserRecord(ctx, c, conv)
		if err != nil {
			return nil, err
		}
		return userInfo(u), nil
	case BuiltinGetAccountInfo:
		u, err := conversationUserRecord(ctx, c, conv)
		if err != nil {
			return nil, err
		}
		return accountInfo(c.app, u), nil
	default:
		return nil, apigw.Errorf(http.StatusNotFound, "unknown_builtin",
			"built-in action %q is not served by the sunshine source (it has %s, %s, %s)", clip(req.Builtin), BuiltinAddTags, BuiltinGetUserInfo, BuiltinGetAccountInfo)
	}
}

// addTags merges the given tags into the conversation metadata's tags
// (read, modify, write the whole object) and returns the full list; the
// handover sends them to the ticket.
func addTags(ctx context.Context, c *api, s *Settings, conv source.Conversation, params []ultimate.ActionParam) ([]ultimate.ActionResult, error) {
	var add []string
	found := false
	for _, p := range params {
		if p.Key == ParamTags {
			found = true
			add = mergeTags(add, splitTags(strings.Join(p.Value, ","), s.separator()))
		}
	}
	if !found {
		return nil, apigw.Errorf(http.StatusBadRequest, "missing_parameter", "addTags needs a %q parameter (comma- or space-separated tags)", ParamTags)
	}
	if len(add) == 0 {
		return nil, apigw.Errorf(http.StatusBadRequest, "invalid_parameter", "addTags: parameter %q holds no tags", ParamTags)
	}
	md, err := c.conversationMetadata(ctx, conv.ID)
	if err != nil {
		return nil, err
	}
	tags := mergeTags(metadataTags(md, s.separator()), add)
	joined := strings.Join(tags, s.separator())
	next := maps.Clone(md)
	next[MetadataTags] = joined
	if metadataSize(next) > maxMetadata {
		return nil, apigw.Errorf(http.StatusUnprocessableEntity, "metadata_full",
			"addTags: the conversation's metadata would exceed SunCo's 4 KB limit with %d tags", len(tags))
	}
	if err := c.setConversationMetadata(ctx, conv.ID, next); err != nil {
		return nil, err
	}
	return []ultimate.ActionResult{{Key: "tags", Value: joined}}, nil
}

func conversationUserRecord(ctx context.Context, c *api, conv source.Conversation) (*user, error) {
	id, err := c.conversationUser(ctx, conv.ID)
	if err != nil {
		return nil, err
	}
	return c.getUser(ctx, id)
}

// userInfo is the visitor's SunCo profile. Identifying values are marked
// sanitize so the AI agent masks them in its logs and dashboards.
func userInfo(u *user) []ultimate.ActionResult {
	f := userFields(u)
	out := results(f, map[string]bool{"locale": true}, "name", "givenName", "surname", "email", "externalId", "locale")
	if u.ZendeskID != "" {
		out = append(out, ultimate.ActionResult{Key: "zendeskId", Value: u.ZendeskID, Sanitize: true})
	}
	return out
}

// accountInfo is what SunCo knows of the visitor's "account": the app, and
// the links to other systems (the Zendesk Support user, the tenant's own
// external ID). SunCo has no organisation or company record.
func accountInfo(appID string, u *user) []ultimate.ActionResult {
	f := map[string]string{"appId": appID, "zendeskId": u.ZendeskID, "externalId": u.ExternalID, "brandId": u.BrandID}
	if u.Authenticated != nil {
		f["authenticated"] = strconv.FormatBool(*u.Authenticated)
	}
	return results(f, map[string]bool{"appId": true, "brandId": true, "authenticated": true}, "appId", "zendeskId", "externalId", "brandId", "authenticated")
}

// results lists the non-empty fields in order; every field is sanitized
// unless plain says it is not personal.
func results(f map[string]string, plain map[string]bool, order ...string) []ultimate.ActionResult {
	out := []ultimate.ActionResult{}
	for _, k := range order {
		if v := f[k]; v != "" {
			out = append(out, ultimate.ActionResult{Key: k, Value: v, Sanitize: !plain[k]})
		}
	}
	return out
}
