package tenant

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestDecodeItemJSON(t *testing.T) {
	got := item(t, `{
	  "s": {"S": "text"}, "n": {"N": "-12.5e3"}, "b": {"BOOL": false}, "nul": {"NULL": true},
	  "ss": {"SS": ["a", "b"]},
	  "m": {"M": {"inner": {"S": "x"}, "deep": {"M": {"n": {"N": "1"}}}}},
	  "l": {"L": [{"S": "one"}, {"N": "2"}, {"L": []}, {"M": {}}]}
	}`)
	want := Item{
		"s":   &types.AttributeValueMemberS{Value: "text"},
		"n":   &types.AttributeValueMemberN{Value: "-12.5e3"},
		"b":   &types.AttributeValueMemberBOOL{Value: false},
		"nul": &types.AttributeValueMemberNULL{Value: true},
		"ss":  &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"inner": &types.AttributeValueMemberS{Value: "x"},
			"deep":  &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "1"}}},
		}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "one"}, &types.AttributeValueMemberN{Value: "2"},
			&types.AttributeValueMemberL{Value: []types.AttributeValue{}}, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}

	// Round trip through the encoder, twice: the same item, the same bytes.
	enc, err := EncodeItemJSON(got)
	if err != nil {
		t.Fatal(err)
	}
	back := item(t, string(enc))
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip changed the item:\n%s", enc)
	}
	enc2, err := EncodeItemJSON(back)
	if err != nil || string(enc2) != string(enc) {
		t.Fatalf("encoding is not stable:\n%s\n%s", enc, enc2)
	}
}

func TestEncodeItemJSONFormat(t *testing.T) {
	it := Item{
		"sk": &types.AttributeValueMemberS{Value: "CONFIG"},
		"pk": &types.AttributeValueMemberS{Value: "AGENT#a"},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"z": &types.AttributeValueMemberBOOL{Value: true}, "a": &types.AttributeValueMemberNULL{Value: true},
		}},
	}
	got, err := EncodeItemJSON(it)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "m": {
    "M": {
      "a": {
        "NULL": true
      },
      "z": {
        "BOOL": true
      }
    }
  },
  "pk": {
    "S": "AGENT#a"
  },
  "sk": {
    "S": "CONFIG"
  }
}`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEncodeItemJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		it   Item
		want string
	}{
		{name: "binary", it: Item{"blob": &types.AttributeValueMemberB{Value: []byte{1}}}, want: "blob: unsupported attribute type *types.AttributeValueMemberB"},
		{name: "number set in a map", it: Item{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"ns": &types.AttributeValueMemberNS{Value: []string{"1"}}}}}, want: "m: ns: unsupported attribute type *types.AttributeValueMemberNS"},
		{name: "binary in a list", it: Item{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberBS{}}}}, want: "l: unsupported attribute type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EncodeItemJSON(tt.it)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeItemJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "not JSON", in: `{"pk":`, want: "not a DynamoDB JSON item"},
		{name: "an array", in: `[]`, want: "not a DynamoDB JSON item"},
		{name: "null", in: `null`, want: "not a DynamoDB JSON item"},
		{name: "empty", in: ``, want: "not a DynamoDB JSON item"},
		{name: "trailing data", in: `{"pk":{"S":"a"}} {"sk":{"S":"b"}}`, want: "not a DynamoDB JSON item: unexpected data after the object"},
		{name: "plain value", in: `{"pk":"AGENT#a"}`, want: `attribute pk: must be an object with one type key such as {"S": "..."}`},
		{name: "two type keys", in: `{"pk":{"S":"a","N":"1"}}`, want: "attribute pk: must be an object with one type key"},
		{name: "no type key", in: `{"pk":{}}`, want: "attribute pk: must be an object with one type key"},
		{name: "unknown type", in: `{"pk":{"X":"a"}}`, want: `attribute pk: unsupported DynamoDB type "X"`},
		{name: "lower-case type", in: `{"pk":{"s":"a"}}`, want: `attribute pk: unsupported DynamoDB type "s"`},
		{name: "S a number", in: `{"pk":{"S":1}}`, want: "attribute pk: S must hold a string"},
		{name: "S null", in: `{"pk":{"S":null}}`, want: "attribute pk: S must not be null"},
		{name: "N a JSON number", in: `{"n":{"N":1}}`, want: "attribute n: N must hold a number as a string"},
		{name: "N not a number", in: `{"n":{"N":"one"}}`, want: `attribute n: N "one" is not a number`},
		{name: "N NaN", in: `{"n":{"N":"NaN"}}`, want: `N "NaN" is not a number`},
		{name: "N Inf", in: `{"n":{"N":"Inf"}}`, want: `N "Inf" is not a number`},
		{name: "N hex", in: `{"n":{"N":"0x10"}}`, want: `N "0x10" is not a number`},
		{name: "N underscore", in: `{"n":{"N":"1_000"}}`, want: `N "1_000" is not a number`},
		{name: "N empty", in: `{"n":{"N":""}}`, want: `N "" is not a number`},
		{name: "BOOL a string", in: `{"b":{"BOOL":"true"}}`, want: "attribute b: BOOL must hold true or false"},
		{name: "BOOL null", in: `{"b":{"BOOL":null}}`, want: "attribute b: BOOL must not be null"},
		{name: "M an array", in: `{"m":{"M":[]}}`, want: "attribute m: M must hold an object"},
		{name: "nested error", in: `{"m":{"M":{"inner":{"S":1}}}}`, want: "attribute m: inner: S must hold a string"},
		{name: "L an object", in: `{"l":{"L":{}}}`, want: "attribute l: L must hold an array"},
		{name: "error in a list", in: `{"l":{"L":[{"S":"a"},{"BOOL":1}]}}`, want: "attribute l: [1]: BOOL must hold true or false"},
		{name: "SS of numbers", in: `{"ss":{"SS":[1]}}`, want: "attribute ss: SS must hold an array of strings"},
		{name: "SS null", in: `{"ss":{"SS":null}}`, want: "attribute ss: SS must not be null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := DecodeItemJSON([]byte(tt.in))
			if err == nil {
				t.Fatalf("accepted: %#v", it)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %q, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeItemJSONNumbers(t *testing.T) {
	for _, n := range []string{"0", "-1", "+1", "1.5", "1.", ".5", "1e10", "1E-10", "-0.0e+3", "12345678901234567890123456789012345678"} {
		if _, err := DecodeItemJSON([]byte(`{"n":{"N":"` + n + `"}}`)); err != nil {
			t.Errorf("N %q: %v", n, err)
		}
	}
}
