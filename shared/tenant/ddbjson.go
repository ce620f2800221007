package tenant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DecodeItemJSON reads an item in DynamoDB JSON ({"pk":{"S":"..."}}), the
// format `aws dynamodb put-item --item file://...` takes, so the same files
// serve the CLI and the AWS CLI.
func DecodeItemJSON(b []byte) (Item, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a DynamoDB JSON item: %w", err)
	}
	if raw == nil {
		return nil, fmt.Errorf("not a DynamoDB JSON item: want an object, got null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("not a DynamoDB JSON item: unexpected data after the object")
	}
	it := make(Item, len(raw))
	for k, v := range raw {
		av, err := decodeAV(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		it[k] = av
	}
	return it, nil
}

// numberRE is the decimal number syntax DynamoDB takes for N values,
// compiled on first use so that no function pays for it at start-up.
var numberRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
})

func decodeAV(b json.RawMessage) (types.AttributeValue, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 1 {
		return nil, fmt.Errorf(`must be an object with one type key such as {"S": "..."}`)
	}
	for t, v := range m {
		// json.Unmarshal leaves a Go value alone on null, which would turn
		// {"S": null} into an empty string; DynamoDB refuses it.
		if t != "NULL" && string(bytes.TrimSpace(v)) == "null" {
			return nil, fmt.Errorf("%s must not be null", t)
		}
		switch t {
		case "S":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				//lint:ignore ST1005 the message starts with a DynamoDB type name
				return nil, fmt.Errorf("S must hold a string")
			}
			return &types.AttributeValueMemberS{Value: s}, nil
		case "N":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				//lint:ignore ST1005 the message starts with a DynamoDB type name
				return nil, fmt.Errorf("N must hold a number as a string")
			}
			// strconv.ParseFloat would also take NaN, Inf, hex and
			// underscores, which DynamoDB refuses.
			if !numberRE().MatchString(s) {
				//lint:ignore ST1005 the message starts with a DynamoDB type name
				return nil, fmt.Errorf("N %q is not a number", s)
			}
			return &types.AttributeValueMemberN{Value: s}, nil
		case "BOOL":
			var x bool
			if err := json.Unmarshal(v, &x); err != nil {
				return nil, fmt.Errorf("BOOL must hold true or false")
			}
			return &types.AttributeValueMemberBOOL{Value: x}, nil
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: true}, nil
		case "M":
			var mm map[string]json.RawMessage
			if err := json.Unmarshal(v, &mm); err != nil {
				//lint:ignore ST1005 the message starts with a DynamoDB type name
				return nil, fmt.Errorf("M must hold an object")
			}
			out := make(map[string]types.AttributeValue, len(mm))
			for k, x := range mm {
				av, err := decodeAV(x)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				out[k] = av
			}
			return &types.AttributeValueMemberM{Value: out}, nil
		case "L":
			var l []json.RawMessage
			if err := json.Unmarshal(v, &l); err != nil {
				//lint:ignore ST1005 the message starts with a DynamoDB type name
				return nil, fmt.Errorf("L must hold an array")
			}
			out := make([]types.AttributeValue, 0, len(l))
			for i, x := range l {
				av, err := decodeAV(x)
				if err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
				out = append(out, av)
			}
			return &types.AttributeValueMemberL{Value: out}, nil
		case "SS":
			var ss []string
			if err := json.Unmarshal(v, &ss); err != nil {
				return nil, fmt.Errorf("SS must hold an array of strings")
			}
			return &types.AttributeValueMemberSS{Value: ss}, nil
		default:
			return nil, fmt.Errorf("unsupported DynamoDB type %q", t)
		}
	}
	return nil, fmt.Errorf("empty attribute")
}

// EncodeItemJSON writes an item as indented DynamoDB JSON with sorted keys.
func EncodeItemJSON(it Item) ([]byte, error) {
	v, err := encodeMap(it)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(v, "", "  ")
}

type orderedMap struct {
	keys []string
	vals map[string]any
}

func (o orderedMap) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func encodeMap(m map[string]types.AttributeValue) (orderedMap, error) {
	o := orderedMap{vals: map[string]any{}}
	for k := range m {
		o.keys = append(o.keys, k)
	}
	sort.Strings(o.keys)
	for _, k := range o.keys {
		v, err := encodeAV(m[k])
		if err != nil {
			return o, fmt.Errorf("%s: %w", k, err)
		}
		o.vals[k] = v
	}
	return o, nil
}

func encodeAV(av types.AttributeValue) (any, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return map[string]string{"S": v.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]string{"N": v.Value}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]bool{"BOOL": v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]bool{"NULL": true}, nil
	case *types.AttributeValueMemberSS:
		return map[string][]string{"SS": v.Value}, nil
	case *types.AttributeValueMemberM:
		m, err := encodeMap(v.Value)
		return map[string]any{"M": m}, err
	case *types.AttributeValueMemberL:
		out := make([]any, 0, len(v.Value))
		for _, x := range v.Value {
			e, err := encodeAV(x)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return map[string]any{"L": out}, nil
	default:
		return nil, fmt.Errorf("unsupported attribute type %T", av)
	}
}
