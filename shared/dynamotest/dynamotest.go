// Package dynamotest is an in-memory DynamoDB for unit tests: the calls
// crmbridge makes (state.DB, the tenant loader's GetItem, provisioning's
// CreateTable and PutItem, the CLI's Scan), with DynamoDB's semantics where
// the bridge depends on them: conditional writes evaluated atomically,
// ReturnValuesOnConditionCheckFailure, all-or-nothing transactions with
// per-item cancellation reasons, sparse secondary indexes, unused or
// undefined expression placeholders refused, and the key and item size
// limits. Like DynamoDB's TTL, it never deletes an expired item by itself
// (Sweep does, when a test wants to see that happen), so the store's own
// expiry checks are what tests exercise.
//
// What it does not implement it refuses with an error naming it, rather
// than guessing. Its tests run one table of calls against it and against
// moto_server, and the state package runs its tests on both.
package dynamotest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// DB holds tables. It is safe for concurrent use; every call is atomic.
type DB struct {
	// Fault, when set, is asked before every call; a non-nil error is
	// returned instead of doing the call (to test the callers' failure
	// paths).
	Fault func(op, table string) error

	mu     sync.Mutex
	tables map[string]*table
}

// New returns an empty DB.
func New() *DB { return &DB{tables: map[string]*table{}} }

type table struct {
	hash, rng string
	types     map[string]types.ScalarAttributeType
	indexes   map[string]index
	ttl       string
	items     map[string]item
}

type index struct{ hash, rng string }

// validation is DynamoDB's ValidationException.
func validation(format string, args ...any) error {
	return &smithy.GenericAPIError{Code: "ValidationException", Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient}
}

func notFound(name string) error {
	return &types.ResourceNotFoundException{Message: aws.String("Requested resource not found: Table: " + name + " not found")}
}

func (db *DB) fault(op string, name *string) error {
	if db.Fault == nil {
		return nil
	}
	return db.Fault(op, aws.ToString(name))
}

func (db *DB) table(name *string) (*table, error) {
	t, ok := db.tables[aws.ToString(name)]
	if !ok {
		return nil, notFound(aws.ToString(name))
	}
	return t, nil
}

// CreateTable creates a table with its key schema and global secondary
// indexes (local ones are refused).
func (db *DB) CreateTable(_ context.Context, in *dynamodb.CreateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	return locked(db, "CreateTable", in.TableName, func() (*dynamodb.CreateTableOutput, error) {
		name := aws.ToString(in.TableName)
		if _, ok := db.tables[name]; ok {
			return nil, &types.ResourceInUseException{Message: aws.String("Table already exists: " + name)}
		}
		if len(in.LocalSecondaryIndexes) > 0 {
			return nil, fmt.Errorf("dynamotest: local secondary indexes are not supported")
		}
		t := &table{types: map[string]types.ScalarAttributeType{}, indexes: map[string]index{}, items: map[string]item{}}
		for _, d := range in.AttributeDefinitions {
			t.types[aws.ToString(d.AttributeName)] = d.AttributeType
		}
		var err error
		if t.hash, t.rng, err = keySchema(in.KeySchema, t.types); err != nil {
			return nil, err
		}
		for _, g := range in.GlobalSecondaryIndexes {
			h, r, err := keySchema(g.KeySchema, t.types)
			if err != nil {
				return nil, err
			}
			t.indexes[aws.ToString(g.IndexName)] = index{hash: h, rng: r}
		}
		db.tables[name] = t
		return &dynamodb.CreateTableOutput{TableDescription: &types.TableDescription{TableName: in.TableName, TableStatus: types.TableStatusActive}}, nil
	})
}

func keySchema(ks []types.KeySchemaElement, defs map[string]types.ScalarAttributeType) (hash, rng string, err error) {
	for _, k := range ks {
		n := aws.ToString(k.AttributeName)
		if _, ok := defs[n]; !ok {
			return "", "", validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions: %s", n)
		}
		if k.KeyType == types.KeyTypeHash {
			hash = n
		} else {
			rng = n
		}
	}
	if hash == "" {
		return "", "", validation("One or more parameter values were invalid: no HASH key")
	}
	return hash, rng, nil
}

// UpdateTimeToLive records the TTL attribute (see Sweep). Enabling it twice
// is refused, as DynamoDB does.
func (db *DB) UpdateTimeToLive(_ context.Context, in *dynamodb.UpdateTimeToLiveInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	return locked(db, "UpdateTimeToLive", in.TableName, func() (*dynamodb.UpdateTimeToLiveOutput, error) {
		t, err := db.table(in.TableName)
		if err != nil {
			return nil, err
		}
		spec := in.TimeToLiveSpecification
		if spec == nil {
			return nil, validation("TimeToLiveSpecification is required")
		}
		if aws.ToBool(spec.Enabled) {
			if t.ttl != "" {
				return nil, validation("TimeToLive is already enabled")
			}
			t.ttl = aws.ToString(spec.AttributeName)
		} else {
			t.ttl = ""
		}
		return &dynamodb.UpdateTimeToLiveOutput{TimeToLiveSpecification: spec}, nil
	})
}

// Sweep deletes the items whose TTL attribute is before now, as DynamoDB's
// TTL process eventually does, and returns how many it deleted.
func (db *DB) Sweep(now time.Time) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	n := 0
	for _, t := range db.tables {
		if t.ttl == "" {
			continue
		}
		for k, it := range t.items {
			if v, ok := it[t.ttl].(*types.AttributeValueMemberN); ok {
				if s, err := strconv.ParseInt(v.Value, 10, 64); err == nil && s < now.Unix() {
					delete(t.items, k)
					n++
				}
			}
		}
	}
	return n
}

// keyOf checks that key holds exactly the table's key attributes, with
// their types and within DynamoDB's size limits, and returns its map key.
func (t *table) keyOf(key item) (string, error) {
	want := 1
	if t.rng != "" {
		want = 2
	}
	if len(key) != want {
		return "", validation("The provided key element does not match the schema")
	}
	var b strings.Builder
	for _, n := range []string{t.hash, t.rng} {
		if n == "" {
			continue
		}
		v, ok := key[n]
		if !ok {
			return "", validation("The provided key element does not match the schema")
		}
		s, err := t.keyValue(n, v)
		if err != nil {
			return "", err
		}
		limit := 2048
		if n == t.rng {
			limit = 1024
		}
		if len(s) > limit {
			return "", validation("One or more parameter values were invalid: Size of %s key has exceeded the maximum size limit of %d bytes", n, limit)
		}
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String(), nil
}

func (t *table) keyValue(name string, v types.AttributeValue) (string, error) {
	var s string
	var typ types.ScalarAttributeType
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		s, typ = x.Value, types.ScalarAttributeTypeS
	case *types.AttributeValueMemberN:
		s, typ = x.Value, types.ScalarAttributeTypeN
	case *types.AttributeValueMemberB:
		s, typ = string(x.Value), types.ScalarAttributeTypeB
	default:
		return "", validation("The provided key element does not match the schema")
	}
	if typ != t.types[name] {
		return "", validation("The provided key element does not match the schema")
	}
	if s == "" {
		return "", validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", name)
	}
	return s, nil
}

func (t *table) keyPart(it item) item {
	k := item{t.hash: it[t.hash]}
	if t.rng != "" {
		k[t.rng] = it[t.rng]
	}
	return k
}

// checkItem applies the limits DynamoDB applies to a stored item: index
// key attributes of the declared type, 400 KB in all.
func (t *table) checkItem(it item) error {
	for _, ix := range t.indexes {
		for _, n := range []string{ix.hash, ix.rng} {
			if v, ok := it[n]; ok && n != "" {
				if _, err := t.keyValue(n, v); err != nil {
					return validation("One or more parameter values were invalid: Type mismatch for Index Key %s", n)
				}
			}
		}
	}
	if ItemSize(it) > 400<<10 {
		return validation("Item size has exceeded the maximum allowed size")
	}
	return nil
}

// ItemSize is an item's size as DynamoDB meters it for its limits and
// capacity units: attribute names and values in bytes, a number about one
// byte per two digits.
func ItemSize(it map[string]types.AttributeValue) int {
	n := 0
	for k, v := range it {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return len(x.Value)/2 + 1
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 1
}

// GetItem reads one item (all reads are strongly consistent).
func (db *DB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return locked(db, "GetItem", in.TableName, func() (*dynamodb.GetItemOutput, error) {
		t, err := db.table(in.TableName)
		if err != nil {
			return nil, err
		}
		if in.ProjectionExpression != nil {
			return nil, fmt.Errorf("dynamotest: GetItem ProjectionExpression is not supported")
		}
		k, err := t.keyOf(in.Key)
		if err != nil {
			return nil, err
		}
		out := &dynamodb.GetItemOutput{}
		if it, ok := t.items[k]; ok {
			out.Item = copyItem(it)
		}
		return out, nil
	})
}

// write is one checked write, prepared before any is applied (a
// transaction applies all or none).
type write struct {
	t      *table
	key    string
	old    item // nil when there is none
	new    item // nil deletes
	cond   cond
	retOld bool // ReturnValuesOnConditionCheckFailure ALL_OLD
}

func (w *write) passes() bool {
	if w.cond == nil {
		return true
	}
	old := w.old
	if old == nil {
		old = item{}
	}
	return w.cond(old)
}

func (w *write) apply() {
	if w.new == nil {
		delete(w.t.items, w.key)
		return
	}
	w.t.items[w.key] = w.new
}

// returned is what ReturnValues asks for: the old item, or the new one.
func (w *write) returned(rv types.ReturnValue) item {
	switch {
	case rv == types.ReturnValueAllOld && w.old != nil:
		return copyItem(w.old)
	case rv == types.ReturnValueAllNew:
		return copyItem(w.new)
	}
	return nil
}

func (w *write) failed() error {
	e := &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	if w.retOld && w.old != nil {
		e.Item = copyItem(w.old)
	}
	return e
}

// spec is one write as the API describes it, whichever call carries it.
type spec struct {
	table  *string
	key    item    // Update, Delete, ConditionCheck
	item   item    // Put
	update *string // Update
	check  bool    // ConditionCheck: test, write nothing
	cond   *string
	names  map[string]string
	values map[string]types.AttributeValue
	ret    types.ReturnValuesOnConditionCheckFailure
}

// prepare checks a write and computes its result without applying it.
func (db *DB) prepare(s spec) (*write, error) {
	t, err := db.table(s.table)
	if err != nil {
		return nil, err
	}
	key := s.key
	if s.item != nil {
		key = t.keyPart(s.item)
	}
	k, err := t.keyOf(key)
	if err != nil {
		return nil, err
	}
	w := &write{t: t, key: k, old: t.items[k], retOld: s.ret == types.ReturnValuesOnConditionCheckFailureAllOld}
	e := newEnv(s.names, s.values)
	var acts []action
	if s.update != nil {
		if acts, err = parseUpdate(*s.update, e); err != nil {
			return nil, err
		}
		for _, a := range acts {
			if a.path == t.hash || a.path == t.rng {
				return nil, validation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", a.path)
			}
		}
	}
	switch {
	case s.cond != nil:
		if w.cond, err = parseCondition(*s.cond, e); err != nil {
			return nil, err
		}
	case s.check:
		return nil, validation("ConditionCheck requires a ConditionExpression")
	case s.update == nil && (len(s.names) > 0 || len(s.values) > 0):
		return nil, validation("ExpressionAttributeNames and ExpressionAttributeValues can only be specified when using expressions")
	}
	if err := e.unused(); err != nil {
		return nil, err
	}
	switch {
	case s.check:
		w.new = w.old
		return w, nil
	case s.item != nil:
		w.new = copyItem(s.item)
	case s.update != nil:
		old := w.old
		if old == nil {
			old = item{}
		}
		next := copyItem(old)
		for n, v := range key {
			next[n] = v
		}
		for _, a := range acts {
			if err := a.apply(old, next); err != nil {
				return nil, err
			}
		}
		w.new = next
	default:
		return w, nil // a delete
	}
	return w, t.checkItem(w.new)
}

// single is every single-item write: the fault hook, then under the lock
// the prepared write, its condition, and the write; out builds the call's
// answer from the attributes ReturnValues asks for.
func single[Out any](db *DB, op string, s spec, rv types.ReturnValue, out func(item) *Out) (*Out, error) {
	switch rv {
	case types.ReturnValueNone, types.ReturnValueAllOld, types.ReturnValueAllNew, "":
	default:
		return nil, fmt.Errorf("dynamotest: ReturnValues %s is not supported", rv)
	}
	return locked(db, op, s.table, func() (*Out, error) {
		w, err := db.prepare(s)
		if err != nil {
			return nil, err
		}
		if !w.passes() {
			return nil, w.failed()
		}
		w.apply()
		return out(w.returned(rv)), nil
	})
}

// locked runs one call: the fault hook, then fn under the lock, which
// makes every call atomic.
func locked[Out any](db *DB, op string, table *string, fn func() (*Out, error)) (*Out, error) {
	if err := db.fault(op, table); err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return fn()
}

// PutItem writes a whole item, optionally under a condition.
func (db *DB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	s := spec{table: in.TableName, item: in.Item, cond: in.ConditionExpression, names: in.ExpressionAttributeNames, values: in.ExpressionAttributeValues, ret: in.ReturnValuesOnConditionCheckFailure}
	return single(db, "PutItem", s, in.ReturnValues, func(a item) *dynamodb.PutItemOutput { return &dynamodb.PutItemOutput{Attributes: a} })
}

// UpdateItem applies an update expression (SET with if_not_exists, + and
// -, list_append; REMOVE; ADD on numbers), creating the item when there is
// none, optionally under a condition.
func (db *DB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if in.UpdateExpression == nil {
		return nil, fmt.Errorf("dynamotest: UpdateItem without an UpdateExpression is not supported")
	}
	s := spec{table: in.TableName, key: in.Key, update: in.UpdateExpression, cond: in.ConditionExpression, names: in.ExpressionAttributeNames, values: in.ExpressionAttributeValues, ret: in.ReturnValuesOnConditionCheckFailure}
	return single(db, "UpdateItem", s, in.ReturnValues, func(a item) *dynamodb.UpdateItemOutput { return &dynamodb.UpdateItemOutput{Attributes: a} })
}

// DeleteItem deletes one item, optionally under a condition.
func (db *DB) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	s := spec{table: in.TableName, key: in.Key, cond: in.ConditionExpression, names: in.ExpressionAttributeNames, values: in.ExpressionAttributeValues, ret: in.ReturnValuesOnConditionCheckFailure}
	return single(db, "DeleteItem", s, in.ReturnValues, func(a item) *dynamodb.DeleteItemOutput { return &dynamodb.DeleteItemOutput{Attributes: a} })
}

// TransactWriteItems checks every item's condition and then applies all
// the writes, or none: a failed condition cancels the transaction with one
// reason per item, in order.
func (db *DB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return locked(db, "TransactWriteItems", nil, func() (*dynamodb.TransactWriteItemsOutput, error) {
		if n := len(in.TransactItems); n == 0 || n > 100 {
			return nil, validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length between 1 and 100")
		}
		writes := make([]*write, len(in.TransactItems))
		seen := map[string]bool{}
		for i, ti := range in.TransactItems {
			var s spec
			switch {
			case ti.Put != nil:
				p := ti.Put
				s = spec{table: p.TableName, item: p.Item, cond: p.ConditionExpression, names: p.ExpressionAttributeNames, values: p.ExpressionAttributeValues, ret: p.ReturnValuesOnConditionCheckFailure}
			case ti.Update != nil:
				u := ti.Update
				s = spec{table: u.TableName, key: u.Key, update: u.UpdateExpression, cond: u.ConditionExpression, names: u.ExpressionAttributeNames, values: u.ExpressionAttributeValues, ret: u.ReturnValuesOnConditionCheckFailure}
			case ti.Delete != nil:
				d := ti.Delete
				s = spec{table: d.TableName, key: d.Key, cond: d.ConditionExpression, names: d.ExpressionAttributeNames, values: d.ExpressionAttributeValues, ret: d.ReturnValuesOnConditionCheckFailure}
			case ti.ConditionCheck != nil:
				c := ti.ConditionCheck
				s = spec{table: c.TableName, key: c.Key, check: true, cond: c.ConditionExpression, names: c.ExpressionAttributeNames, values: c.ExpressionAttributeValues, ret: c.ReturnValuesOnConditionCheckFailure}
			default:
				return nil, validation("TransactItems[%d] has no operation", i)
			}
			w, err := db.prepare(s)
			if err != nil {
				return nil, err
			}
			id := aws.ToString(s.table) + "\x00" + w.key
			if seen[id] {
				return nil, validation("Transaction request cannot include multiple operations on one item")
			}
			seen[id] = true
			writes[i] = w
		}
		reasons := make([]types.CancellationReason, len(writes))
		codes := make([]string, len(writes))
		failed := false
		for i, w := range writes {
			reasons[i] = types.CancellationReason{Code: aws.String("None")}
			codes[i] = "None"
			if !w.passes() {
				failed = true
				codes[i] = "ConditionalCheckFailed"
				reasons[i] = types.CancellationReason{Code: aws.String(codes[i]), Message: aws.String("The conditional request failed")}
				if w.retOld && w.old != nil {
					reasons[i].Item = copyItem(w.old)
				}
			}
		}
		if failed {
			return nil, &types.TransactionCanceledException{
				Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"),
				CancellationReasons: reasons,
			}
		}
		for _, w := range writes {
			w.apply()
		}
		return &dynamodb.TransactWriteItemsOutput{}, nil
	})
}

// Query reads the items of one partition of the table or of a global
// secondary index (whose items are those with both index key attributes),
// ordered by the sort key.
func (db *DB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return locked(db, "Query", in.TableName, func() (*dynamodb.QueryOutput, error) {
		t, err := db.table(in.TableName)
		if err != nil {
			return nil, err
		}
		if in.KeyConditionExpression == nil {
			return nil, validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
		}
		if in.ExclusiveStartKey != nil || in.FilterExpression != nil || in.ProjectionExpression != nil {
			return nil, fmt.Errorf("dynamotest: Query paging, filters and projections are not supported")
		}
		ix := index{hash: t.hash, rng: t.rng}
		if in.IndexName != nil {
			var ok bool
			if ix, ok = t.indexes[aws.ToString(in.IndexName)]; !ok {
				return nil, validation("The table does not have the specified index: %s", aws.ToString(in.IndexName))
			}
			if aws.ToBool(in.ConsistentRead) {
				return nil, validation("Consistent reads are not supported on global secondary indexes")
			}
		}
		e := newEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
		kc, err := parseKeyCondition(*in.KeyConditionExpression, e)
		if err != nil {
			return nil, err
		}
		if err := e.unused(); err != nil {
			return nil, err
		}
		if kc.hash != ix.hash {
			return nil, validation("Query condition missed key schema element: %s", ix.hash)
		}
		var found []item
		for _, it := range t.items {
			h, ok := it[ix.hash]
			if !ok || (ix.rng != "" && it[ix.rng] == nil) || !equal(h, kc.hashValue) {
				continue
			}
			found = append(found, it)
		}
		sort.SliceStable(found, func(i, j int) bool {
			if ix.rng == "" {
				return false
			}
			c, _ := compare(found[i][ix.rng], found[j][ix.rng])
			if in.ScanIndexForward != nil && !*in.ScanIndexForward {
				return c > 0
			}
			return c < 0
		})
		out := &dynamodb.QueryOutput{}
		if in.Limit != nil && int(*in.Limit) < len(found) {
			found = found[:*in.Limit]
			last := found[len(found)-1]
			out.LastEvaluatedKey = t.keyPart(last)
			if ix.hash != t.hash {
				out.LastEvaluatedKey[ix.hash] = last[ix.hash]
				if ix.rng != "" {
					out.LastEvaluatedKey[ix.rng] = last[ix.rng]
				}
			}
		}
		for _, it := range found {
			out.Items = append(out.Items, copyItem(it))
		}
		out.Count = int32(len(out.Items))
		out.ScannedCount = out.Count
		return out, nil
	})
}

// Scan reads every item, optionally projected to some attributes, in key
// order, in one page.
func (db *DB) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return locked(db, "Scan", in.TableName, func() (*dynamodb.ScanOutput, error) {
		t, err := db.table(in.TableName)
		if err != nil {
			return nil, err
		}
		if in.ExclusiveStartKey != nil || in.FilterExpression != nil || in.Limit != nil || in.IndexName != nil {
			return nil, fmt.Errorf("dynamotest: Scan paging, filters and indexes are not supported")
		}
		var proj []string
		if in.ProjectionExpression != nil {
			e := newEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
			if proj, err = parseProjection(*in.ProjectionExpression, e); err != nil {
				return nil, err
			}
			if err := e.unused(); err != nil {
				return nil, err
			}
		}
		keys := make([]string, 0, len(t.items))
		for k := range t.items {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := &dynamodb.ScanOutput{}
		for _, k := range keys {
			it := copyItem(t.items[k])
			if proj != nil {
				p := item{}
				for _, n := range proj {
					if v, ok := it[n]; ok {
						p[n] = v
					}
				}
				it = p
			}
			out.Items = append(out.Items, it)
		}
		out.Count = int32(len(out.Items))
		out.ScannedCount = out.Count
		return out, nil
	})
}

func copyItem(it item) item {
	if it == nil {
		return nil
	}
	out := make(item, len(it))
	for k, v := range it {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v types.AttributeValue) types.AttributeValue {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: x.Value}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: x.Value}
	case *types.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: append([]byte(nil), x.Value...)}
	case *types.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: x.Value}
	case *types.AttributeValueMemberNULL:
		return &types.AttributeValueMemberNULL{Value: x.Value}
	case *types.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(x.Value))
		for i, e := range x.Value {
			l[i] = copyValue(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: copyItem(x.Value)}
	}
	return v // sets: the bridge stores none
}
