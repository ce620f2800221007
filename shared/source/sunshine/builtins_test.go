package sunshine

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func builtin(name string, params ...ultimate.ActionParam) source.ActionRequest {
	return source.ActionRequest{AgentID: "a1", Name: name, Builtin: name, Params: params}
}

func tagsParam(values ...string) ultimate.ActionParam {
	return ultimate.ActionParam{Key: ParamTags, Value: values}
}

func TestAddTags(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		before   map[string]any
		params   []ultimate.ActionParam
		wantTags string
	}{
		{"first tags", nil, nil, []ultimate.ActionParam{tagsParam("refund")}, "refund"},
		{"merged, deduplicated, others kept", nil, map[string]any{"tags": "vip", "lang": "fr", "score": float64(3)},
			[]ultimate.ActionParam{tagsParam("refund, VIP  late")}, "vip refund late"},
		{"several values and params", nil, nil, []ultimate.ActionParam{tagsParam("a", "b"), {Key: "other", Value: []string{"x"}}, tagsParam("c,a")}, "a b c"},
		{"comma separator", map[string]any{"tagSeparator": ","}, map[string]any{"tags": "vip"}, []ultimate.ActionParam{tagsParam("refund late")}, "vip,refund,late"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakeAPI(t)
			f.AddConversation(testConv, testUser)
			if tc.before != nil {
				f.SetMetadata(testConv, tc.before)
			}
			res, err := testAdapter().Builtin(context.Background(), account(t, f.URL(), tc.settings), testConversation(), builtin(BuiltinAddTags, tc.params...))
			if err != nil {
				t.Fatalf("addTags: %v", err)
			}
			sameJSON(t, res, `[{"key":"tags","value":`+mustJSON(tc.wantTags)+`}]`)
			c, _ := f.Conversation(testConv)
			if c.Metadata["tags"] != tc.wantTags {
				t.Errorf("stored tags %v, want %q", c.Metadata["tags"], tc.wantTags)
			}
			for k, v := range tc.before {
				if k != "tags" && c.Metadata[k] != v {
					t.Errorf("metadata %s lost: %v", k, c.Metadata)
				}
			}
		})
	}
}

func TestAddTagsThenEscalate(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	a := testAdapter()
	acct := account(t, f.URL(), nil)
	for _, tag := range []string{"refund", "priority"} {
		if _, err := a.Builtin(context.Background(), acct, testConversation(), builtin(BuiltinAddTags, tagsParam(tag))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Escalate(context.Background(), acct, testConversation(), source.HandoverRequest{}); err != nil {
		t.Fatal(err)
	}
	c, _ := f.Conversation(testConv)
	if c.PassMetadata[MetaTicketTags] != "refund priority" {
		t.Fatalf("handover metadata %v", c.PassMetadata)
	}
}

func TestAddTagsRejects(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	f.SetMetadata(testConv, map[string]any{"blob": strings.Repeat("x", 4080)})
	tests := []struct {
		name   string
		params []ultimate.ActionParam
		status int
		code   string
	}{
		{"no tags parameter", []ultimate.ActionParam{{Key: "tag", Value: []string{"x"}}}, http.StatusBadRequest, "missing_parameter"},
		{"empty tags", []ultimate.ActionParam{tagsParam(" , ")}, http.StatusBadRequest, "invalid_parameter"},
		{"metadata full", []ultimate.ActionParam{tagsParam("one-more-tag-that-does-not-fit")}, http.StatusUnprocessableEntity, "metadata_full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testAdapter().Builtin(context.Background(), account(t, f.URL(), nil), testConversation(), builtin(BuiltinAddTags, tc.params...))
			wantAPIError(t, err, tc.status, tc.code)
		})
	}
	if n := len(f.Calls("UpdateConversation")); n != 0 {
		t.Fatalf("%d metadata writes after refusals", n)
	}
}

func TestUserAndAccountInfo(t *testing.T) {
	f := fakeAPI(t)
	f.AddUser(sunshinetest.User{ID: testUser, ExternalID: "crm-4711", ZendeskID: "30045042291606", BrandID: "9477922990333", Authenticated: true,
		GivenName: "Ann", Surname: "Lee", Email: "ann.lee@example.com", Locale: "fr-CA"})
	f.AddConversation(testConv, testUser)
	a := testAdapter()
	acct := account(t, f.URL(), nil)

	res, err := a.Builtin(context.Background(), acct, testConversation(), builtin(BuiltinGetUserInfo))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, res, `[
		{"key":"name","value":"Ann Lee","sanitize":true},
		{"key":"givenName","value":"Ann","sanitize":true},
		{"key":"surname","value":"Lee","sanitize":true},
		{"key":"email","value":"ann.lee@example.com","sanitize":true},
		{"key":"externalId","value":"crm-4711","sanitize":true},
		{"key":"locale","value":"fr-CA"},
		{"key":"zendeskId","value":"30045042291606","sanitize":true}]`)

	res, err = a.Builtin(context.Background(), acct, testConversation(), builtin(BuiltinGetAccountInfo))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, res, `[
		{"key":"appId","value":"`+testApp+`"},
		{"key":"zendeskId","value":"30045042291606","sanitize":true},
		{"key":"externalId","value":"crm-4711","sanitize":true},
		{"key":"brandId","value":"9477922990333"},
		{"key":"authenticated","value":"true"}]`)

	if got := len(f.Calls("ListParticipants", "GetUser")); got != 4 {
		t.Errorf("%d look-ups, want participants + user twice", got)
	}
}

func TestUserInfoSparseProfile(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser) // an anonymous visitor: only an ID
	res, err := testAdapter().Builtin(context.Background(), account(t, f.URL(), nil), testConversation(), builtin(BuiltinGetUserInfo))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, res, `[]`)
}

func TestBuiltinFailures(t *testing.T) {
	f := fakeAPI(t)
	_, err := testAdapter().Builtin(context.Background(), account(t, f.URL(), nil), testConversation(), builtin("getOrders"))
	wantAPIError(t, err, http.StatusNotFound, "unknown_builtin", "getOrders", BuiltinAddTags)

	_, err = testAdapter().Builtin(context.Background(), account(t, f.URL(), nil), testConversation(), builtin(BuiltinGetUserInfo))
	wantHTTPError(t, err, http.StatusNotFound, "conversation_not_found")

	f.AddConversation(testConv, testUser)
	f.Fail("GetUser", sunshinetest.Fault{Status: 404, Code: "user_not_found", Title: "User not found"})
	_, err = testAdapter().Builtin(context.Background(), account(t, f.URL(), nil), testConversation(), builtin(BuiltinGetAccountInfo))
	wantHTTPError(t, err, http.StatusNotFound, "user_not_found")
}
