package tenant

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

// attrType names the DynamoDB type of av.
func attrType(av types.AttributeValue) string {
	switch av.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	case *types.AttributeValueMemberB:
		return "B"
	default:
		return "?"
	}
}

var typeWords = map[string]string{"S": "a string", "N": "a number", "BOOL": "a boolean", "M": "a map", "L": "a list"}

// fieldSpec says which attributes an item may carry and which it must.
type fieldSpec struct {
	typ      string
	required bool
}

// checkFields verifies attribute types and presence before decoding, so the
// error names the field rather than a Go type.
func checkFields(name string, it Item, spec map[string]fieldSpec) error {
	for f, s := range spec {
		av, ok := it[f]
		if !ok || attrType(av) == "NULL" {
			if s.required {
				return &Error{Item: name, Field: f, Problem: "required"}
			}
			continue
		}
		if t := attrType(av); t != s.typ {
			return &Error{Item: name, Field: f, Problem: fmt.Sprintf("must be %s (DynamoDB type %s), got %s", typeWords[s.typ], s.typ, t)}
		}
		if s.required && s.typ == "S" {
			if v, _ := str(av); strings.TrimSpace(v) == "" {
				return &Error{Item: name, Field: f, Problem: "required, must not be empty"}
			}
		}
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

// checkNested applies checkFields to the maps inside attribute f (a map, or a
// list of maps), so a wrong type deep in an item is named, e.g.
// metadata[1].sanitize, instead of surfacing as a decoder message.
func checkNested(name string, it Item, f string, spec map[string]fieldSpec) error {
	var maps []types.AttributeValue
	var fields []string
	switch v := it[f].(type) {
	case *types.AttributeValueMemberM:
		maps, fields = []types.AttributeValue{v}, []string{f}
	case *types.AttributeValueMemberL:
		for i, x := range v.Value {
			maps, fields = append(maps, x), append(fields, fmt.Sprintf("%s[%d]", f, i))
		}
	}
	for i, av := range maps {
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			return &Error{Item: name, Field: fields[i], Problem: fmt.Sprintf("must be a map (DynamoDB type M), got %s", attrType(av))}
		}
		if err := checkFields(name, m.Value, spec); err != nil {
			err.(*Error).Field = fields[i] + "." + err.(*Error).Field
			return err
		}
	}
	return nil
}

var metaRuleSpec = map[string]fieldSpec{"field": {"S", false}, "key": {"S", false}, "sanitize": {"BOOL", false}}

var schemeSpec = map[string]fieldSpec{"scheme": {"S", false}, "header": {"S", false}, "prefix": {"S", false}, "encoding": {"S", false}, "param": {"S", false}}

var sourceSpec = map[string]fieldSpec{
	"pk": {"S", true}, "sk": {"S", true},
	"agentId": {"S", true}, "enabled": {"BOOL", true},
	"credentialsSecret": {"S", false}, "settings": {"M", false},
	"metadata": {"L", false}, "displayName": {"S", false},
}

// ParseSource decodes and validates a source account item. check, when set,
// validates the adapter-specific settings (it knows the adapters; this package
// does not).
func ParseSource(it Item, check func(source string, settings json.RawMessage) error) (*Source, error) {
	pk, sk, kind := KeysOf(it)
	name := Name(pk, sk)
	if kind != KindSource {
		return nil, &Error{Item: name, Field: keyField(pk, "SOURCE#"), Problem: "a source item has pk SOURCE#{source}#{account} and sk CONFIG"}
	}
	if err := checkFields(name, it, sourceSpec); err != nil {
		return nil, err
	}
	if err := checkNested(name, it, "metadata", metaRuleSpec); err != nil {
		return nil, err
	}
	parts := strings.SplitN(strings.TrimPrefix(pk, "SOURCE#"), "#", 2)
	if len(parts) != 2 || !ValidSourceName(parts[0]) {
		return nil, &Error{Item: name, Field: "pk", Problem: "source name must be lowercase letters, digits and -"}
	}
	if !ValidAccount(parts[1]) {
		return nil, &Error{Item: name, Field: "pk", Problem: "account must be 1-128 of letters, digits and . _ @ + = - (no colon)"}
	}
	var raw struct {
		AgentID           string         `dynamodbav:"agentId"`
		Enabled           bool           `dynamodbav:"enabled"`
		CredentialsSecret string         `dynamodbav:"credentialsSecret"`
		Settings          map[string]any `dynamodbav:"settings"`
		Metadata          []MetaRule     `dynamodbav:"metadata"`
		DisplayName       string         `dynamodbav:"displayName"`
	}
	if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
		return nil, &Error{Item: name, Problem: "cannot decode: " + err.Error()}
	}
	s := &Source{
		Source: parts[0], Account: parts[1], AgentID: raw.AgentID, Enabled: raw.Enabled,
		CredentialsSecret: raw.CredentialsSecret, Metadata: raw.Metadata, DisplayName: raw.DisplayName,
	}
	if !ValidAgentID(s.AgentID) {
		return nil, &Error{Item: name, Field: "agentId", Problem: "letters, digits, _ and - (max 64)"}
	}
	if s.CredentialsSecret != "" && !secretRE.MatchString(s.CredentialsSecret) {
		return nil, &Error{Item: name, Field: "credentialsSecret", Problem: "not a valid secret name"}
	}
	if err := validateMetadata(name, s.Metadata); err != nil {
		return nil, err
	}
	if raw.Settings == nil {
		raw.Settings = map[string]any{}
	}
	b, err := json.Marshal(raw.Settings)
	if err != nil {
		return nil, &Error{Item: name, Field: "settings", Problem: "cannot encode: " + err.Error()}
	}
	s.Settings = b
	if check != nil {
		if err := check(s.Source, s.Settings); err != nil {
			return nil, &Error{Item: name, Field: "settings", Problem: err.Error()}
		}
	}
	return s, nil
}

var agentSpec = map[string]fieldSpec{
	"pk": {"S", true}, "sk": {"S", true},
	"secret": {"S", true}, "baseUrl": {"S", false},
	"webhookAuth": {"M", true}, "teams": {"M", false}, "displayName": {"S", false},
}

// ParseAgent decodes and validates an agent item. checkTeams, when set,
// validates the teams configuration; checkURL checks baseUrl in the
// bridge's mode (egress.Client.CheckURL; nil is the deployed, strict check).
func ParseAgent(it Item, checkTeams func(json.RawMessage) error, checkURL func(string) error) (*Agent, error) {
	pk, sk, kind := KeysOf(it)
	name := Name(pk, sk)
	if kind != KindAgent {
		return nil, &Error{Item: name, Field: keyField(pk, "AGENT#"), Problem: "an agent item has pk AGENT#{agentId} and sk CONFIG"}
	}
	if err := checkFields(name, it, agentSpec); err != nil {
		return nil, err
	}
	if err := checkNested(name, it, "webhookAuth", schemeSpec); err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(pk, "AGENT#")
	if !ValidAgentID(id) {
		return nil, &Error{Item: name, Field: "pk", Problem: "agent ID must be letters, digits, _ and - (max 64)"}
	}
	var raw struct {
		Secret      string             `dynamodbav:"secret"`
		BaseURL     string             `dynamodbav:"baseUrl"`
		WebhookAuth webhookauth.Scheme `dynamodbav:"webhookAuth"`
		Teams       map[string]any     `dynamodbav:"teams"`
	}
	if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
		return nil, &Error{Item: name, Problem: "cannot decode: " + err.Error()}
	}
	a := &Agent{AgentID: id, Secret: raw.Secret, BaseURL: strings.TrimRight(raw.BaseURL, "/"), WebhookAuth: raw.WebhookAuth}
	if !secretRE.MatchString(a.Secret) {
		return nil, &Error{Item: name, Field: "secret", Problem: "not a valid secret name"}
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
		a.Teams = b
		if checkTeams != nil {
			if err := checkTeams(b); err != nil {
				return nil, &Error{Item: name, Field: "teams", Problem: err.Error()}
			}
		}
	}
	return a, nil
}
