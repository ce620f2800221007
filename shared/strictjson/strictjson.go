// Package strictjson decodes configuration that operators write (tenant
// items, platform settings, action specs, team schedules) strictly: a field
// the target type does not know is refused with its full path and the
// nearest known name, and a value of the wrong type is named by its path.
// A misspelt `sanitize` must not silently leave personal data unmasked.
//
// This is for operator input only. Outside input (webhooks, platform
// events) is parsed leniently, as DESIGN §8 says.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Error names the field that is wrong. Path is dotted, with [n] for list
// elements, e.g. http.results[0].sanitise; it is empty for the whole value.
type Error struct {
	Path    string
	Problem string
	// Want and Got are set for a value of the wrong type: the kinds
	// "string", "number", "integer", "boolean", "map" or "list" ("null"
	// for Got only), so a caller can phrase them in its own terms.
	Want, Got string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Problem
	}
	return e.Path + ": " + e.Problem
}

// Under returns err with prefix put before its path (when err is an
// *Error; other errors are returned as they are). A caller that decodes a
// nested map uses it to report the path from its own root.
func Under(prefix string, err error) error {
	e, ok := err.(*Error)
	if !ok || prefix == "" {
		return err
	}
	return &Error{Path: Join(prefix, e.Path), Problem: e.Problem, Want: e.Want, Got: e.Got}
}

// Join appends a path element: a field name after a dot, an index as is.
func Join(path, elem string) string {
	switch {
	case path == "":
		return elem
	case elem == "":
		return path
	case strings.HasPrefix(elem, "["):
		return path + elem
	default:
		return path + "." + elem
	}
}

// Decode decodes one JSON value into v (a pointer) after checking it
// against v's type: every object key must be a field of the struct it
// decodes into (exactly as its json tag spells it; encoding/json would
// also take other cases), and every value must have the field's type. JSON
// null is taken as absent. Empty input is an empty object.
func Decode(raw []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("strictjson: Decode needs a non-nil pointer, got %T", v)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return &Error{Problem: "not valid JSON"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Problem: "not valid JSON: unexpected data after the value"}
	}
	if err := check(tree, rv.Type().Elem(), ""); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		// check accepted it, so this is a value a custom decoder refused.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &Error{Path: te.Field, Problem: "has the wrong type"}
		}
		return &Error{Problem: err.Error()}
	}
	return nil
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// check walks a decoded JSON tree beside the type it will decode into.
func check(node any, t reflect.Type, path string) error {
	if node == nil {
		return nil
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // it has its own rules; Decode reports what it refuses
	}
	switch t.Kind() {
	case reflect.Pointer:
		return check(node, t.Elem(), path)
	case reflect.Struct:
		obj, ok := node.(map[string]any)
		if !ok {
			return typeError(path, "a map", node)
		}
		fields := structFields(t)
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			if !ok {
				return unknown(Join(path, k), k, fields)
			}
			if err := check(obj[k], ft, Join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		obj, ok := node.(map[string]any)
		if !ok {
			return typeError(path, "a map", node)
		}
		if k := t.Key(); k.Kind() != reflect.String && !reflect.PointerTo(k).Implements(textType) {
			return &Error{Path: path, Problem: "has no map form"}
		}
		for _, k := range sortedKeys(obj) {
			if err := check(obj[k], t.Elem(), Join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			if _, ok := node.(string); !ok {
				return typeError(path, "a base64 string", node)
			}
			return nil
		}
		list, ok := node.([]any)
		if !ok {
			return typeError(path, "a list", node)
		}
		if t.Kind() == reflect.Array && len(list) > t.Len() {
			return &Error{Path: path, Problem: fmt.Sprintf("at most %d elements", t.Len())}
		}
		for i, x := range list {
			if err := check(x, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if _, ok := node.(string); !ok {
			return typeError(path, "a string", node)
		}
		return nil
	case reflect.Bool:
		if _, ok := node.(bool); !ok {
			return typeError(path, "a boolean (true or false)", node)
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := node.(json.Number)
		if !ok {
			return typeError(path, "a whole number", node)
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil || i < -1<<(t.Bits()-1) || i > 1<<(t.Bits()-1)-1 {
			return &Error{Path: path, Problem: fmt.Sprintf("must be a whole number, got %s", n)}
		}
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := node.(json.Number)
		if !ok {
			return typeError(path, "a whole number", node)
		}
		u, err := strconv.ParseUint(n.String(), 10, 64)
		if err != nil || (t.Bits() < 64 && u > 1<<t.Bits()-1) {
			return &Error{Path: path, Problem: fmt.Sprintf("must be a whole number from 0, got %s", n)}
		}
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := node.(json.Number)
		if !ok {
			return typeError(path, "a number", node)
		}
		f, err := strconv.ParseFloat(n.String(), t.Bits())
		if err != nil || math.IsInf(f, 0) {
			return &Error{Path: path, Problem: fmt.Sprintf("must be a number, got %s", n)}
		}
		return nil
	default:
		return &Error{Path: path, Problem: "has no JSON form"}
	}
}

func typeError(path, want string, got any) error {
	g := kindOf(got)
	return &Error{Path: path, Problem: "must be " + want + ", got " + article(g), Want: kindWords[want], Got: g}
}

// kindWords maps the phrases of typeError to kinds.
var kindWords = map[string]string{
	"a string": "string", "a base64 string": "string", "a number": "number", "a whole number": "integer",
	"a boolean (true or false)": "boolean", "a map": "map", "a list": "list",
}

func article(kind string) string {
	if kind == "null" {
		return kind
	}
	return "a " + kind
}

// kindOf names a decoded JSON value's kind.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "map"
	case []any:
		return "list"
	default:
		return "null"
	}
}

// structFields maps the JSON names of t's fields to their types, as
// encoding/json sees them: tag names, Go names without a tag, embedded
// structs' fields promoted, "-" and unexported fields left out.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func unknown[V any](path, name string, known map[string]V) error {
	return Unknown(path, name, sortedKeys(known))
}

// Unknown is the error for a field that is not one of known: it suggests
// the nearest known name when one is close, and lists them otherwise.
func Unknown(path, name string, known []string) error {
	if s := Suggest(name, known); s != "" {
		return &Error{Path: path, Problem: "unknown field; did you mean `" + s + "`?"}
	}
	if len(known) == 0 {
		return &Error{Path: path, Problem: "unknown field (this map takes no fields)"}
	}
	return &Error{Path: path, Problem: "unknown field (known: " + strings.Join(known, ", ") + ")"}
}

// Suggest returns the known name nearest to name when it is close enough to
// be a typo (a case difference, or an edit distance of 1, or 2 for names of
// five letters and more, counting a swap of neighbours as one edit), else "".
// Ties go to the alphabetically first name.
func Suggest(name string, known []string) string {
	best, bestD := "", math.MaxInt
	limit := 1
	if len([]rune(name)) >= 5 {
		limit = 2
	}
	low := strings.ToLower(name)
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	for _, k := range sorted {
		if k == name {
			continue
		}
		d := distance(low, strings.ToLower(k))
		if d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// distance is the optimal string alignment distance (Levenshtein with
// adjacent transpositions) between a and b, over runes. Names are short;
// longer inputs are capped so a hostile value costs nothing.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	const maxLen = 64
	if len(ra) > maxLen || len(rb) > maxLen {
		return math.MaxInt
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
