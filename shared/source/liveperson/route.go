package liveperson

import (
	"net/http"
	"strings"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ascii"
)

// op is one of the Custom Endpoint operations.
type op int

const (
	opEnvironments op = iota + 1
	opState
	opConversation // PUT: create the conversation
	opEvents       // POST: a consumer or conversation event
)

// target is a parsed Custom Endpoint path.
type target struct {
	op     op
	botID  string
	env    string
	convID string
}

// APIVersion is the Custom Endpoint API version in the paths.
const APIVersion = "v1"

// LivePerson conversation IDs are UUIDs; the stricter format keeps the ID
// safe in our keys and in Public API paths.
func validConvID(s string) bool { return ascii.Token(s, 128, "._-") }

// Route implements source.Router: it answers paths
// and methods that are not part of the Custom Endpoint API before the
// account is even looked up.
func (a *Adapter) Route(req *apigw.Request) error {
	_, err := parsePath(req.Method, req.Params["proxy"])
	return err
}

func notFound(code, format string, args ...any) error {
	return apigw.Errorf(http.StatusNotFound, code, format, args...)
}

// parsePath reads the sub-path below /sources/liveperson/{accountId}/.
func parsePath(method, proxy string) (target, error) {
	p := strings.TrimSuffix(strings.TrimPrefix(proxy, "/"), "/")
	if p == "" {
		return target{}, notFound("route_not_found", "LivePerson calls %s/bots/{botId}/environments... below this URL", APIVersion)
	}
	seg := strings.Split(p, "/")
	if seg[0] != APIVersion {
		return target{}, notFound("unknown_api_version", "only Custom Endpoint API %s is served", APIVersion)
	}
	if len(seg) < 4 || seg[1] != "bots" || seg[3] != "environments" {
		return target{}, notFound("route_not_found", "no Custom Endpoint route %s", p)
	}
	t := target{botID: seg[2]}
	if !validBotID(t.botID) {
		return target{}, notFound("unknown_bot", "botId must be 1-36 letters, digits and -")
	}
	var allowed string
	switch {
	case len(seg) == 4:
		t.op, allowed = opEnvironments, http.MethodGet
	case len(seg) == 6 && seg[5] == "state":
		t.op, allowed = opState, http.MethodGet
	case len(seg) == 7 && seg[5] == "conversations":
		t.op, allowed = opConversation, http.MethodPut
	case len(seg) == 8 && seg[5] == "conversations" && seg[7] == "events":
		t.op, allowed = opEvents, http.MethodPost
	default:
		return target{}, notFound("route_not_found", "no Custom Endpoint route %s", p)
	}
	if len(seg) > 4 {
		t.env = seg[4]
		if !validEnv(t.env) {
			return target{}, notFound("unknown_environment", "environment must be letters, digits, _ and -")
		}
	}
	if len(seg) > 6 {
		t.convID = seg[6]
		if !validConvID(t.convID) {
			return target{}, apigw.Errorf(http.StatusBadRequest, "invalid_conversation_id", "convId must be 1-128 letters, digits, . _ and -")
		}
	}
	if method != allowed {
		return target{}, &apigw.Error{
			Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: method + " is not allowed here; use " + allowed,
			Headers: map[string]string{"Allow": allowed},
		}
	}
	return t, nil
}
