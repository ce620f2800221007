package liveperson

import (
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
)

func TestParsePath(t *testing.T) {
	bot := "v1/bots/" + testBotID + "/environments"
	conv := bot + "/draft/conversations/" + testConv
	tests := []struct {
		method, proxy string
		want          target
		code          string
		status        int
	}{
		{"GET", bot, target{op: opEnvironments, botID: testBotID}, "", 0},
		{"GET", bot + "/", target{op: opEnvironments, botID: testBotID}, "", 0},
		{"GET", bot + "/draft/state", target{op: opState, botID: testBotID, env: "draft"}, "", 0},
		{"PUT", conv, target{op: opConversation, botID: testBotID, env: "draft", convID: testConv}, "", 0},
		{"POST", conv + "/events", target{op: opEvents, botID: testBotID, env: "draft", convID: testConv}, "", 0},
		{"POST", bot, target{}, "method_not_allowed", 405},
		{"GET", conv, target{}, "method_not_allowed", 405},
		{"PUT", conv + "/events", target{}, "method_not_allowed", 405},
		{"GET", "", target{}, "route_not_found", 404},
		{"GET", "v2/bots/" + testBotID + "/environments", target{}, "unknown_api_version", 404},
		{"GET", "v1/bots/" + testBotID, target{}, "route_not_found", 404},
		{"GET", bot + "/draft/status", target{}, "route_not_found", 404},
		{"POST", conv + "/events/extra", target{}, "route_not_found", 404},
		{"GET", "v1/bots/not_a_bot!/environments", target{}, "unknown_bot", 404},
		{"GET", "v1/bots/0123456789012345678901234567890123456/environments", target{}, "unknown_bot", 404},
		{"GET", bot + "/dr%61ft/state", target{}, "unknown_environment", 404},
		{"PUT", bot + "/draft/conversations/a:b", target{}, "invalid_conversation_id", 400},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.proxy, func(t *testing.T) {
			got, err := parsePath(tc.method, tc.proxy)
			c, status := code(t, err)
			if c != tc.code || status != tc.status {
				t.Fatalf("error %q/%d, want %q/%d", c, status, tc.code, tc.status)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRouteHookAnswersBeforeTheTenantLookup(t *testing.T) {
	a := newAdapter()
	req := &apigw.Request{Method: "DELETE", Params: map[string]string{"proxy": "v1/bots/" + testBotID + "/environments"}}
	err := a.Route(req)
	c, status := code(t, err)
	if c != "method_not_allowed" || status != 405 || err.(*apigw.Error).Headers["Allow"] != "GET" {
		t.Fatalf("got %v", err)
	}
}
