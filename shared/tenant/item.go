package tenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/strictjson"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// Item is a raw Tenants table item.
type Item = map[string]types.AttributeValue

// Kind of a Tenants item, decided by its keys.
type Kind int

const (
	KindUnknown Kind = iota
	KindSource
	KindAgent
	KindAction
)

// KeysOf returns an item's pk and sk and what kind of item it is.
func KeysOf(it Item) (pk, sk string, kind Kind) {
	pk, _ = str(it["pk"])
	sk, _ = str(it["sk"])
	switch {
	case strings.HasPrefix(pk, "SOURCE#") && sk == ConfigSK:
		kind = KindSource
	case strings.HasPrefix(pk, "AGENT#") && sk == ConfigSK:
		kind = KindAgent
	case strings.HasPrefix(pk, "AGENT#") && strings.HasPrefix(sk, "ACTION#"):
		kind = KindAction
	}
	return pk, sk, kind
}

// Name is how errors refer to an item.
func Name(pk, sk string) string { return pk + "/" + sk }

func str(av types.AttributeValue) (string, bool) {
	s, ok := av.(*types.AttributeValueMemberS)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// Hooks parse the parts of items that other packages own, returning the
// typed value the item then carries (and the loader caches): an adapter's
// settings, an agent's teams, an action's kind-specific definition. Each
// error names the field under the part (strictjson errors keep their path).
type Hooks struct {
	Settings func(source string, raw json.RawMessage) (any, error) // → Source.Settings
	Teams    func(raw json.RawMessage) (any, error)                // → Agent.Teams
	Action   func(a *Action, http json.RawMessage) (any, error)    // → Action.Spec; http is nil for builtins
	// URL checks item URLs in the bridge's mode (egress.Client.CheckURL);
	// nil is the deployed, strict check.
	URL func(string) error
}

// Parse decodes and validates any kind of item: a *Source, *Agent or
// *Action. The CLI validates files with it.
func (h Hooks) Parse(it Item) (any, error) {
	pk, sk, kind := KeysOf(it)
	switch kind {
	case KindSource:
		return ParseSource(it, h.Settings)
	case KindAgent:
		return ParseAgent(it, h.Teams, h.URL)
	case KindAction:
		return ParseAction(it, h.Action)
	default:
		return nil, &Error{Item: Name(pk, sk), Problem: "unknown kind: pk must start with SOURCE# or AGENT#, sk must be CONFIG or ACTION#{name}"}
	}
}

// decodeItem decodes an item strictly into v (a struct with json tags
// naming every attribute the item may have): an unknown attribute, at any
// depth, is refused with its path and the nearest known name.
func decodeItem(name string, it Item, v any) error {
	tree := make(map[string]any, len(it))
	for k, av := range it {
		x, err := attrJSON(av)
		if err != nil {
			return &Error{Item: name, Field: k, Problem: err.Error()}
		}
		tree[k] = x
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return &Error{Item: name, Problem: "cannot encode: " + err.Error()}
	}
	if err := strictjson.Decode(b, v); err != nil {
		return itemError(name, "", err)
	}
	return nil
}

// itemError turns a strict decoding error (or a hook's) into an *Error on
// field (a prefix for the error's own path).
func itemError(name, field string, err error) error {
	var se *strictjson.Error
	if !errors.As(err, &se) {
		return &Error{Item: name, Field: field, Problem: err.Error()}
	}
	problem := se.Problem
	if se.Want != "" {
		// Items are written as DynamoDB JSON; name its types.
		problem = fmt.Sprintf("must be %s (DynamoDB type %s), got %s", kindWord[se.Want], ddbType[se.Want], ddbType[se.Got])
	}
	return &Error{Item: name, Field: strictjson.Join(field, se.Path), Problem: problem}
}

var (
	kindWord = map[string]string{"string": "a string", "number": "a number", "integer": "a whole number", "boolean": "a boolean", "map": "a map", "list": "a list"}
	ddbType  = map[string]string{"string": "S", "number": "N", "integer": "N", "boolean": "BOOL", "map": "M", "list": "L", "null": "NULL"}
)

// attrJSON turns an attribute into the JSON value it stands for.
func attrJSON(av types.AttributeValue) (any, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value, nil
	case *types.AttributeValueMemberN:
		return jsonNumber(v.Value)
	case *types.AttributeValueMemberBOOL:
		return v.Value, nil
	case *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(v.Value))
		for k, x := range v.Value {
			j, err := attrJSON(x)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = j
		}
		return m, nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, x := range v.Value {
			j, err := attrJSON(x)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = j
		}
		return l, nil
	case *types.AttributeValueMemberSS:
		l := make([]any, len(v.Value))
		for i, s := range v.Value {
			l[i] = s
		}
		return l, nil
	default:
		return nil, errors.New("unsupported DynamoDB type (use S, N, BOOL, M, L or NULL)")
	}
}

// jsonNumber writes a DynamoDB number the way JSON can hold it: DynamoDB
// also takes "+1", "1." and ".5".
func jsonNumber(s string) (json.Number, error) {
	if !numberRE().MatchString(s) {
		return "", fmt.Errorf("type N: %q is not a number", s)
	}
	if json.Valid([]byte(s)) {
		return json.Number(s), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", fmt.Errorf("type N: %q is out of range", s)
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// required reports a missing or empty string attribute.
func required(name, field string, v *string) error {
	if v == nil {
		return &Error{Item: name, Field: field, Problem: "required"}
	}
	if strings.TrimSpace(*v) == "" {
		return &Error{Item: name, Field: field, Problem: "required, must not be empty"}
	}
	return nil
}

// keyField names the key attribute that is wrong: pk when it lacks the
// expected prefix, otherwise sk.
func keyField(pk, prefix string) string {
	if strings.HasPrefix(pk, prefix) {
		return "sk"
	}
	return "pk"
}

// sourceAttrs are the attributes a source account item may have.
type sourceAttrs struct {
	PK                string                     `json:"pk"`
	SK                string                     `json:"sk"`
	AgentID           *string                    `json:"agentId"`
	Enabled           *bool                      `json:"enabled"`
	CredentialsSecret string                     `json:"credentialsSecret"`
	Settings          map[string]json.RawMessage `json:"settings"`
	Metadata          []MetaRule                 `json:"metadata"`
	DisplayName       string                     `json:"displayName"`
	Delivery          *Delivery                  `json:"delivery"`
	Fallback          *Fallback                  `json:"fallback"`
	Transcript        *Transcript                `json:"transcript"`
}

// ParseSource decodes and validates a source account item. settings, when
// set, parses the adapter-specific settings (it knows the adapters; this
// package does not).
func ParseSource(it Item, settings func(source string, raw json.RawMessage) (any, error)) (*Source, error) {
	pk, sk, kind := KeysOf(it)
	name := Name(pk, sk)
	if kind != KindSource {
		return nil, &Error{Item: name, Field: keyField(pk, "SOURCE#"), Problem: "a source item has pk SOURCE#{source}#{account} and sk CONFIG"}
	}
	var raw sourceAttrs
	if err := decodeItem(name, it, &raw); err != nil {
		return nil, err
	}
	src, acct, ok := strings.Cut(strings.TrimPrefix(pk, "SOURCE#"), "#")
	if !ok || !ValidSourceName(src) {
		return nil, &Error{Item: name, Field: "pk", Problem: "source name must be " + ruleSourceName}
	}
	if !ValidAccount(acct) {
		return nil, &Error{Item: name, Field: "pk", Problem: "account must be " + ruleAccount}
	}
	if err := required(name, "agentId", raw.AgentID); err != nil {
		return nil, err
	}
	if raw.Enabled == nil {
		return nil, &Error{Item: name, Field: "enabled", Problem: "required (true or false)"}
	}
	s := &Source{
		Source: src, Account: acct, AgentID: *raw.AgentID, Enabled: *raw.Enabled,
		CredentialsSecret: raw.CredentialsSecret, Metadata: raw.Metadata, DisplayName: raw.DisplayName,
	}
	if !ValidAgentID(s.AgentID) {
		return nil, &Error{Item: name, Field: "agentId", Problem: ruleAgentID}
	}
	if want := SourceSecretName(src, acct); s.CredentialsSecret != "" && s.CredentialsSecret != want {
		return nil, &Error{Item: name, Field: "credentialsSecret", Problem: fmt.Sprintf("must be %q: an account may only use its own secret", want)}
	}
	if err := validateMetadata(name, s.Metadata); err != nil {
		return nil, err
	}
	if err := s.setDelivery(name, raw.Delivery, raw.Fallback, raw.Transcript); err != nil {
		return nil, err
	}
	b := []byte("{}")
	if raw.Settings != nil {
		var err error
		if b, err = json.Marshal(raw.Settings); err != nil {
			return nil, &Error{Item: name, Field: "settings", Problem: "cannot encode: " + err.Error()}
		}
	}
	s.Settings = json.RawMessage(b)
	if settings != nil {
		v, err := settings(s.Source, b)
		if err != nil {
			return nil, itemError(name, "settings", err)
		}
		s.Settings = v
	}
	return s, nil
}

// Agent is one AI agent's configuration.
type Agent struct {
	AgentID     string
	Secret      string             // always AgentSecretName(AgentID)
	BaseURL     string             // empty means the deployment default
	WebhookAuth webhookauth.Scheme // how its webhook calls to us are verified
	DisplayName string
	// Teams is the parsed teams map: what Hooks.Teams returned, nil when
	// the item has none (a json.RawMessage when the parser had no hook).
	Teams any
}

type agentAttrs struct {
	PK          string                     `json:"pk"`
	SK          string                     `json:"sk"`
	Secret      string                     `json:"secret"`
	BaseURL     string                     `json:"baseUrl"`
	WebhookAuth *webhookauth.Scheme        `json:"webhookAuth"`
	Teams       map[string]json.RawMessage `json:"teams"`
	DisplayName string                     `json:"displayName"`
}

// ParseAgent decodes and validates an agent item. teams, when set, parses
// the teams configuration.
func ParseAgent(it Item, teams func(json.RawMessage) (any, error), checkURL func(string) error) (*Agent, error) {
	pk, sk, kind := KeysOf(it)
	name := Name(pk, sk)
	if kind != KindAgent {
		return nil, &Error{Item: name, Field: keyField(pk, "AGENT#"), Problem: "an agent item has pk AGENT#{agentId} and sk CONFIG"}
	}
	var raw agentAttrs
	if err := decodeItem(name, it, &raw); err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(pk, "AGENT#")
	if !ValidAgentID(id) {
		return nil, &Error{Item: name, Field: "pk", Problem: "agent ID must be " + ruleAgentID}
	}
	if raw.WebhookAuth == nil {
		return nil, &Error{Item: name, Field: "webhookAuth", Problem: "required (a map with scheme: header, hmac-sha256, token or none)"}
	}
	a := &Agent{AgentID: id, Secret: AgentSecretName(id), BaseURL: strings.TrimRight(raw.BaseURL, "/"),
		WebhookAuth: *raw.WebhookAuth, DisplayName: raw.DisplayName}
	if raw.Secret != "" && raw.Secret != a.Secret {
		return nil, &Error{Item: name, Field: "secret", Problem: fmt.Sprintf("must be %q (or left out): an agent may only use its own secret", a.Secret)}
	}
	if err := validateBaseURL(name, a.BaseURL, checkURL); err != nil {
		return nil, err
	}
	if err := a.WebhookAuth.Validate(); err != nil {
		return nil, &Error{Item: name, Field: "webhookAuth", Problem: err.Error()}
	}
	a.WebhookAuth = a.WebhookAuth.WithDefaults()
	if raw.Teams != nil {
		b, err := json.Marshal(raw.Teams)
		if err != nil {
			return nil, &Error{Item: name, Field: "teams", Problem: "cannot encode: " + err.Error()}
		}
		a.Teams = json.RawMessage(b)
		if teams != nil {
			v, err := teams(b)
			if err != nil {
				return nil, itemError(name, "teams", err)
			}
			a.Teams = v
		}
	}
	return a, nil
}
