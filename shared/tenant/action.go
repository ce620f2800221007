package tenant

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// Action kinds.
const (
	ActionBuiltin = "builtin"
	ActionHTTP    = "http"
)

// Action is one named action of an agent. Its kind-specific settings are
// decoded and validated by the action package.
type Action struct {
	AgentID string
	Name    string
	Kind    string          // builtin | http
	Builtin string          // for kind builtin: which one
	HTTP    json.RawMessage // for kind http: the call-out definition
}

// actionKeyField names the wrong key attribute of a would-be action item.
func actionKeyField(pk string) string {
	if strings.HasPrefix(pk, "AGENT#") {
		return "sk"
	}
	return "pk"
}

var actionSpec = map[string]fieldSpec{
	"pk": {"S", true}, "sk": {"S", true},
	"kind": {"S", true}, "builtin": {"S", false}, "http": {"M", false}, "description": {"S", false},
}

// ParseAction decodes and validates an action item; check validates the
// kind-specific part.
func ParseAction(it Item, check func(*Action) error) (*Action, error) {
	pk, sk, kind := KeysOf(it)
	name := Name(pk, sk)
	if kind != KindAction {
		return nil, &Error{Item: name, Field: actionKeyField(pk), Problem: "an action item has pk AGENT#{agentId} and sk ACTION#{name}"}
	}
	if err := checkFields(name, it, actionSpec); err != nil {
		return nil, err
	}
	var raw struct {
		Kind    string         `dynamodbav:"kind"`
		Builtin string         `dynamodbav:"builtin"`
		HTTP    map[string]any `dynamodbav:"http"`
	}
	if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
		return nil, &Error{Item: name, Problem: "cannot decode: " + err.Error()}
	}
	a := &Action{
		AgentID: strings.TrimPrefix(pk, "AGENT#"),
		Name:    strings.TrimPrefix(sk, "ACTION#"),
		Kind:    raw.Kind,
		Builtin: raw.Builtin,
	}
	if !ValidAgentID(a.AgentID) {
		return nil, &Error{Item: name, Field: "pk", Problem: "agent ID must be letters, digits, _ and - (max 64)"}
	}
	if !fieldRE.MatchString(a.Name) {
		return nil, &Error{Item: name, Field: "sk", Problem: "action name must be letters, digits, _ . - (max 64)"}
	}
	switch a.Kind {
	case ActionBuiltin:
		if a.Builtin == "" {
			return nil, &Error{Item: name, Field: "builtin", Problem: "required for kind builtin"}
		}
	case ActionHTTP:
		if raw.HTTP == nil {
			return nil, &Error{Item: name, Field: "http", Problem: "required for kind http"}
		}
		b, err := json.Marshal(raw.HTTP)
		if err != nil {
			return nil, &Error{Item: name, Field: "http", Problem: "cannot encode: " + err.Error()}
		}
		a.HTTP = b
	default:
		return nil, &Error{Item: name, Field: "kind", Problem: "must be builtin or http"}
	}
	if check != nil {
		if err := check(a); err != nil {
			return nil, &Error{Item: name, Problem: err.Error()}
		}
	}
	return a, nil
}
