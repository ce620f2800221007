package tenant

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/crmbridge/crmbridge/shared/strictjson"
)

// Action kinds.
const (
	ActionBuiltin = "builtin"
	ActionHTTP    = "http"
)

// Action is one named action of an agent.
type Action struct {
	AgentID     string
	Name        string
	Kind        string // builtin | http
	Builtin     string // for kind builtin: which one
	Description string
	// Spec is the parsed kind-specific definition: what Hooks.Action
	// returned (for kind http without a hook, the raw http map as a
	// json.RawMessage).
	Spec any
}

type actionAttrs struct {
	PK          string                     `json:"pk"`
	SK          string                     `json:"sk"`
	Kind        *string                    `json:"kind"`
	Builtin     string                     `json:"builtin"`
	HTTP        map[string]json.RawMessage `json:"http"`
	Description string                     `json:"description"`
}

// ParseAction decodes and validates an action item; parse, when set,
// parses and checks the kind-specific part (the http map, or the builtin's
// name).
func ParseAction(it Item, parse func(a *Action, http json.RawMessage) (any, error)) (*Action, error) {
	pk, sk, kind := KeysOf(it)
	name := Name(pk, sk)
	if kind != KindAction {
		return nil, &Error{Item: name, Field: keyField(pk, "AGENT#"), Problem: "an action item has pk AGENT#{agentId} and sk ACTION#{name}"}
	}
	var raw actionAttrs
	if err := decodeItem(name, it, &raw); err != nil {
		return nil, err
	}
	a := &Action{
		AgentID:     strings.TrimPrefix(pk, "AGENT#"),
		Name:        strings.TrimPrefix(sk, "ACTION#"),
		Builtin:     raw.Builtin,
		Description: raw.Description,
	}
	if !ValidAgentID(a.AgentID) {
		return nil, &Error{Item: name, Field: "pk", Problem: "agent ID must be " + ruleAgentID}
	}
	if !ValidActionName(a.Name) {
		return nil, &Error{Item: name, Field: "sk", Problem: "action name must be " + ruleToken}
	}
	if err := required(name, "kind", raw.Kind); err != nil {
		return nil, err
	}
	a.Kind = *raw.Kind
	var httpRaw json.RawMessage
	switch a.Kind {
	case ActionBuiltin:
		if a.Builtin == "" {
			return nil, &Error{Item: name, Field: "builtin", Problem: "required for kind builtin"}
		}
		if raw.HTTP != nil {
			return nil, &Error{Item: name, Field: "http", Problem: "only for kind http"}
		}
	case ActionHTTP:
		if raw.HTTP == nil {
			return nil, &Error{Item: name, Field: "http", Problem: "required for kind http"}
		}
		if a.Builtin != "" {
			return nil, &Error{Item: name, Field: "builtin", Problem: "only for kind builtin"}
		}
		b, err := json.Marshal(raw.HTTP)
		if err != nil {
			return nil, &Error{Item: name, Field: "http", Problem: "cannot encode: " + err.Error()}
		}
		httpRaw = b
		a.Spec = httpRaw
	default:
		return nil, &Error{Item: name, Field: "kind", Problem: "must be builtin or http"}
	}
	if parse != nil {
		v, err := parse(a, httpRaw)
		if err != nil {
			// The hook names fields from the item's root (http.url, ...).
			var se *strictjson.Error
			if errors.As(err, &se) {
				return nil, itemError(name, "", err)
			}
			return nil, &Error{Item: name, Problem: err.Error()}
		}
		a.Spec = v
	}
	return a, nil
}
