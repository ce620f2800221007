package dynamotest

import (
	"bytes"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Expressions: the parts of DynamoDB's condition, update, key condition
// and projection grammar the bridge writes (comparisons, IN, AND, OR, NOT,
// parentheses, attribute_exists/attribute_not_exists; SET with
// if_not_exists, + and -; REMOVE), over top-level attributes. The rest of
// the grammar (functions such as begins_with, BETWEEN, ADD, nested paths)
// is refused by name rather than guessed.

type item = map[string]types.AttributeValue

// env resolves #names and :values and remembers which were used: DynamoDB
// refuses a request that provides one it does not use.
type env struct {
	names     map[string]string
	values    map[string]types.AttributeValue
	usedNames map[string]bool
	usedVals  map[string]bool
}

func newEnv(names map[string]string, values map[string]types.AttributeValue) *env {
	return &env{names: names, values: values, usedNames: map[string]bool{}, usedVals: map[string]bool{}}
}

// unused reports placeholders given but never referenced, as DynamoDB does.
func (e *env) unused() error {
	var names, vals []string
	for k := range e.names {
		if !e.usedNames[k] {
			names = append(names, k)
		}
	}
	for k := range e.values {
		if !e.usedVals[k] {
			vals = append(vals, k)
		}
	}
	sort.Strings(names)
	sort.Strings(vals)
	if len(names) > 0 {
		return validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(names, ", "))
	}
	if len(vals) > 0 {
		return validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(vals, ", "))
	}
	return nil
}

// reserved is part of DynamoDB's reserved-word list: names that must be
// written as #placeholders.
var reserved = map[string]bool{
	"STATUS": true, "NAME": true, "DATA": true, "KEY": true, "VALUE": true, "TYPE": true, "TIMESTAMP": true,
	"TTL": true, "DATE": true, "TIME": true, "USER": true, "COUNT": true, "SIZE": true, "ORDER": true,
	"GROUP": true, "TABLE": true, "INDEX": true,
}

// --- tokens

type tok struct {
	kind byte // 'i' identifier, '#' name, ':' value, 'p' punctuation, 0 end
	s    string
}

func lex(src string) ([]tok, error) {
	var out []tok
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':' || isIdent(c):
			j := i + 1
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			kind := byte('i')
			if c == '#' || c == ':' {
				kind = c
				if j == i+1 {
					return nil, validation("Invalid expression: syntax error near %q", src[i:])
				}
			}
			out = append(out, tok{kind, src[i:j]})
			i = j
		case c == '<' && i+1 < len(src) && (src[i+1] == '>' || src[i+1] == '='):
			out = append(out, tok{'p', src[i : i+2]})
			i += 2
		case c == '>' && i+1 < len(src) && src[i+1] == '=':
			out = append(out, tok{'p', ">="})
			i += 2
		case strings.IndexByte("()=<>,+-[].", c) >= 0:
			out = append(out, tok{'p', string(c)})
			i++
		default:
			return nil, validation("Invalid expression: unexpected character %q", string(c))
		}
	}
	return append(out, tok{}), nil
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

type parser struct {
	toks []tok
	pos  int
	env  *env
}

func (p *parser) peek() tok { return p.toks[p.pos] }
func (p *parser) next() tok { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) keyword(kw string) bool {
	t := p.peek()
	if t.kind == 'i' && strings.EqualFold(t.s, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) punct(s string) bool {
	if t := p.peek(); t.kind == 'p' && t.s == s {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(s string) error {
	if !p.punct(s) {
		return validation("Invalid expression: expected %q near %q", s, p.peek().s)
	}
	return nil
}

func (p *parser) end() error {
	if p.peek().kind != 0 {
		return validation("Invalid expression: unexpected %q", p.peek().s)
	}
	return nil
}

// path reads an attribute name. Only top-level attributes are supported.
func (p *parser) path() (string, error) {
	t := p.next()
	var name string
	switch t.kind {
	case '#':
		v, ok := p.env.names[t.s]
		if !ok {
			return "", validation("An expression attribute name used in the document path is not defined; attribute name: %s", t.s)
		}
		p.env.usedNames[t.s] = true
		name = v
	case 'i':
		if reserved[strings.ToUpper(t.s)] {
			return "", validation("Attribute name is a reserved keyword; reserved keyword: %s", t.s)
		}
		name = t.s
	default:
		return "", validation("Invalid expression: expected an attribute name near %q", t.s)
	}
	if pt := p.peek(); pt.kind == 'p' && (pt.s == "." || pt.s == "[") {
		return "", fmt.Errorf("dynamotest: nested document paths are not supported (%s%s...)", name, pt.s)
	}
	return name, nil
}

// --- operands

// operand yields a value from an item, or false when it is absent.
type operand func(it item) (types.AttributeValue, bool)

func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch {
	case t.kind == ':':
		p.pos++
		v, ok := p.env.values[t.s]
		if !ok {
			return nil, validation("An expression attribute value used in expression is not defined; attribute value: %s", t.s)
		}
		p.env.usedVals[t.s] = true
		return func(item) (types.AttributeValue, bool) { return v, true }, nil
	default:
		name, err := p.path()
		if err != nil {
			return nil, err
		}
		return func(it item) (types.AttributeValue, bool) { v, ok := it[name]; return v, ok }, nil
	}
}

// --- conditions

type cond func(it item) bool

func parseCondition(src string, e *env) (cond, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, env: e}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	return c, p.end()
}

func (p *parser) or() (cond, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		x, y := a, b
		a = func(it item) bool { return x(it) || y(it) }
	}
	return a, nil
}

func (p *parser) and() (cond, error) {
	a, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		b, err := p.not()
		if err != nil {
			return nil, err
		}
		x, y := a, b
		a = func(it item) bool { return x(it) && y(it) }
	}
	return a, nil
}

func (p *parser) not() (cond, error) {
	if p.keyword("NOT") {
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(it item) bool { return !c(it) }, nil
	}
	return p.primary()
}

func (p *parser) primary() (cond, error) {
	if p.punct("(") {
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		return c, p.expect(")")
	}
	if t := p.peek(); t.kind == 'i' && p.toks[p.pos+1].s == "(" {
		return p.function()
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	if p.keyword("IN") {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var list []operand
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			list = append(list, o)
			if !p.punct(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return func(it item) bool {
			a, ok := l(it)
			if !ok {
				return false
			}
			for _, o := range list {
				if b, ok := o(it); ok && equal(a, b) {
					return true
				}
			}
			return false
		}, nil
	}
	op := p.next()
	if op.kind != 'p' {
		return nil, validation("Invalid expression: expected a comparator near %q", op.s)
	}
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch op.s {
	case "=":
		return func(it item) bool {
			a, ok1 := l(it)
			b, ok2 := r(it)
			return ok1 && ok2 && equal(a, b)
		}, nil
	case "<>":
		// An absent operand is "not equal" (DynamoDB and moto agree).
		return func(it item) bool {
			a, ok1 := l(it)
			b, ok2 := r(it)
			if !ok1 || !ok2 {
				return ok1 != ok2
			}
			return !equal(a, b)
		}, nil
	case "<", "<=", ">", ">=":
		return func(it item) bool {
			a, ok1 := l(it)
			b, ok2 := r(it)
			if !ok1 || !ok2 {
				return false
			}
			c, ok := compare(a, b)
			if !ok {
				return false // different types never compare
			}
			switch op.s {
			case "<":
				return c < 0
			case "<=":
				return c <= 0
			case ">":
				return c > 0
			}
			return c >= 0
		}, nil
	}
	return nil, validation("Invalid expression: unknown comparator %q", op.s)
}

func (p *parser) function() (cond, error) {
	name := strings.ToLower(p.next().s)
	p.pos++ // (
	if name != "attribute_exists" && name != "attribute_not_exists" {
		return nil, fmt.Errorf("dynamotest: function %s is not supported", name)
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	want := name == "attribute_exists"
	return func(it item) bool { _, ok := it[path]; return ok == want }, nil
}

// --- update expressions

// action is one part of an update: it computes from the item as it was
// before the update and writes into the new one.
type action struct {
	path  string
	apply func(old, out item) error
}

func parseUpdate(src string, e *env) ([]action, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, env: e}
	var acts []action
	seenClause := map[string]bool{}
	for p.peek().kind != 0 {
		t := p.next()
		clause := strings.ToUpper(t.s)
		if t.kind != 'i' || seenClause[clause] {
			return nil, validation("Invalid UpdateExpression: syntax error near %q", t.s)
		}
		seenClause[clause] = true
		for {
			var a action
			switch clause {
			case "SET":
				a, err = p.setAction()
			case "REMOVE":
				var path string
				path, err = p.path()
				a = action{path: path, apply: func(_, out item) error { delete(out, path); return nil }}
			default:
				return nil, fmt.Errorf("dynamotest: update clause %s is not supported", t.s)
			}
			if err != nil {
				return nil, err
			}
			acts = append(acts, a)
			if !p.punct(",") {
				break
			}
		}
	}
	if len(acts) == 0 {
		return nil, validation("Invalid UpdateExpression: empty")
	}
	seen := map[string]bool{}
	for _, a := range acts {
		if seen[a.path] {
			return nil, validation("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", a.path, a.path)
		}
		seen[a.path] = true
	}
	return acts, nil
}

// value is the right-hand side of a SET.
type value func(old item) (types.AttributeValue, error)

func (p *parser) setAction() (action, error) {
	path, err := p.path()
	if err != nil {
		return action{}, err
	}
	if err := p.expect("="); err != nil {
		return action{}, err
	}
	v, err := p.setValue()
	if err != nil {
		return action{}, err
	}
	return action{path: path, apply: func(old, out item) error {
		x, err := v(old)
		if err != nil {
			return err
		}
		out[path] = x
		return nil
	}}, nil
}

func (p *parser) setValue() (value, error) {
	a, err := p.setOperand()
	if err != nil {
		return nil, err
	}
	for {
		var sign int
		switch {
		case p.punct("+"):
			sign = 1
		case p.punct("-"):
			sign = -1
		default:
			return a, nil
		}
		b, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		x := a
		a = func(old item) (types.AttributeValue, error) {
			l, err := x(old)
			if err != nil {
				return nil, err
			}
			r, err := b(old)
			if err != nil {
				return nil, err
			}
			return arith(l, r, sign)
		}
	}
}

func (p *parser) setOperand() (value, error) {
	t := p.peek()
	if t.kind == 'i' && p.toks[p.pos+1].s == "(" {
		fn := strings.ToLower(t.s)
		p.pos += 2
		if fn != "if_not_exists" {
			return nil, fmt.Errorf("dynamotest: update function %s is not supported", fn)
		}
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		def, err := p.setValue()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return func(old item) (types.AttributeValue, error) {
			if v, ok := old[path]; ok {
				return v, nil
			}
			return def(old)
		}, nil
	}
	o, err := p.operand()
	if err != nil {
		return nil, err
	}
	return func(old item) (types.AttributeValue, error) {
		v, ok := o(old)
		if !ok {
			return nil, validation("The provided expression refers to an attribute that does not exist in the item")
		}
		return v, nil
	}, nil
}

// --- key conditions and projections

// keyCond is "partition key = :value", the key condition the bridge
// queries with; a sort key condition is refused.
type keyCond struct {
	hash      string
	hashValue types.AttributeValue
}

func parseKeyCondition(src string, e *env) (*keyCond, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, env: e}
	name, err := p.path()
	if err != nil {
		return nil, err
	}
	if err := p.expect("="); err != nil {
		return nil, validation("Invalid KeyConditionExpression: the partition key needs =")
	}
	vt := p.next()
	v, ok := e.values[vt.s]
	if vt.kind != ':' || !ok {
		return nil, validation("Invalid KeyConditionExpression: the partition key needs a :value")
	}
	e.usedVals[vt.s] = true
	if p.keyword("AND") {
		return nil, fmt.Errorf("dynamotest: sort key conditions are not supported")
	}
	return &keyCond{hash: name, hashValue: v}, p.end()
}

func parseProjection(src string, e *env) ([]string, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, env: e}
	var out []string
	for {
		name, err := p.path()
		if err != nil {
			return nil, err
		}
		out = append(out, name)
		if !p.punct(",") {
			break
		}
	}
	return out, p.end()
}

// --- values

// equal is DynamoDB equality: same type and same value (numbers by value,
// sets regardless of order).
func equal(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		if !ok {
			return false
		}
		c, ok := compare(x, y)
		return ok && c == 0
	case *types.AttributeValueMemberB:
		y, ok := b.(*types.AttributeValueMemberB)
		return ok && bytes.Equal(x.Value, y.Value)
	case *types.AttributeValueMemberBOOL:
		y, ok := b.(*types.AttributeValueMemberBOOL)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberNULL:
		_, ok := b.(*types.AttributeValueMemberNULL)
		return ok
	case *types.AttributeValueMemberL:
		y, ok := b.(*types.AttributeValueMemberL)
		if !ok || len(x.Value) != len(y.Value) {
			return false
		}
		for i := range x.Value {
			if !equal(x.Value[i], y.Value[i]) {
				return false
			}
		}
		return true
	case *types.AttributeValueMemberM:
		y, ok := b.(*types.AttributeValueMemberM)
		if !ok || len(x.Value) != len(y.Value) {
			return false
		}
		for k, v := range x.Value {
			w, ok := y.Value[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// compare orders two scalars of the same type: numbers by value, strings
// and binaries by their bytes.
func compare(a, b types.AttributeValue) (int, bool) {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		if y, ok := b.(*types.AttributeValueMemberS); ok {
			return strings.Compare(x.Value, y.Value), true
		}
	case *types.AttributeValueMemberN:
		if y, ok := b.(*types.AttributeValueMemberN); ok {
			r1, ok1 := new(big.Rat).SetString(x.Value)
			r2, ok2 := new(big.Rat).SetString(y.Value)
			if ok1 && ok2 {
				return r1.Cmp(r2), true
			}
		}
	case *types.AttributeValueMemberB:
		if y, ok := b.(*types.AttributeValueMemberB); ok {
			return bytes.Compare(x.Value, y.Value), true
		}
	}
	return 0, false
}

func arith(a, b types.AttributeValue, sign int) (types.AttributeValue, error) {
	x, ok1 := a.(*types.AttributeValueMemberN)
	y, ok2 := b.(*types.AttributeValueMemberN)
	if !ok1 || !ok2 {
		return nil, validation("An operand in the update expression has an incorrect data type")
	}
	r1, ok1 := new(big.Rat).SetString(x.Value)
	r2, ok2 := new(big.Rat).SetString(y.Value)
	if !ok1 || !ok2 {
		return nil, validation("A value provided cannot be converted into a number")
	}
	if sign < 0 {
		r2.Neg(r2)
	}
	return &types.AttributeValueMemberN{Value: formatNumber(r1.Add(r1, r2))}, nil
}

func formatNumber(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	s := r.FloatString(38)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
