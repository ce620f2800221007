// Package awscount counts the AWS calls of every SDK client built from an
// instrumented configuration, by service and operation, and DynamoDB's
// read and write units, for `make bench`'s cost per message. It asks
// DynamoDB for each call's consumed capacity (ReturnConsumedCapacity
// TOTAL, on a copy of the caller's input) and, where the answer cannot
// carry it, applies DynamoDB's pricing rules itself:
//
//   - a write whose condition failed consumes write units for the item's
//     size (1 per KB, at least 1): the item the failure returned
//     (ReturnValuesOnConditionCheckFailure), else 1;
//   - a transaction consumes twice the units of its items; emulators
//     that report the plain units (DynamoDB Local does) are doubled,
//     and a cancelled transaction is charged 2 units per item.
//
// DynamoDB's own figures need an emulator that computes them from item
// sizes: DynamoDB Local does, moto_server answers fixed numbers.
//
// A counter made with NewScoped also keeps the counts apart by scope, a
// name its Scope gives each call from the call's context and input
// (cmd/bench: the function and event source that made it), so counts of
// concurrent work are told apart exactly rather than subtracted.
package awscount

import (
	"context"
	"errors"
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
)

// EmptyReceive is how an SQS ReceiveMessage that returned no message is
// counted: the event source mapping's idle polling, billed per queue and
// month whatever the traffic, not per message.
const EmptyReceive = "SQS.ReceiveMessage(empty)"

// Counter accumulates counts; safe for concurrent use.
type Counter struct {
	scope Scope
	mu    sync.Mutex
	now   Counts
	by    map[string]*Counts
}

// Counts is a snapshot: calls by "Service.Operation", DynamoDB read and
// write units, and the messages SQS receives returned.
type Counts struct {
	Calls    map[string]int
	RRU, WRU float64
	// Received is the number of messages the non-empty ReceiveMessage
	// calls returned: with Calls["SQS.ReceiveMessage"], the records per
	// batch an event source mapping's poller delivered.
	Received int
}

// Scope names the part of a system a call belongs to, from the call's
// context and its input (the SDK's *…Input); "" for none. It runs on the
// caller's goroutine, concurrently.
type Scope func(ctx context.Context, params any) string

// New returns an empty counter.
func New() *Counter { return NewScoped(nil) }

// NewScoped returns an empty counter that also counts by scope (nil: every
// call in scope "").
func NewScoped(scope Scope) *Counter {
	return &Counter{scope: scope, now: Counts{Calls: map[string]int{}}, by: map[string]*Counts{}}
}

// Instrument makes every client built from cfg count into c.
func (c *Counter) Instrument(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("awscount.capacity", askCapacity), middleware.After); err != nil {
			return err
		}
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("awscount.count", c.count), middleware.Before)
	})
}

// Snapshot returns the counts so far.
func (c *Counter) Snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now.clone()
}

// Scopes returns the counts so far by scope, each scope's alone; their sum
// is Snapshot.
func (c *Counter) Scopes() map[string]Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Counts, len(c.by))
	for k, v := range c.by {
		out[k] = v.clone()
	}
	return out
}

func (s Counts) clone() Counts {
	s.Calls = maps.Clone(s.Calls)
	if s.Calls == nil {
		s.Calls = map[string]int{}
	}
	return s
}

// Sub is what happened between prev and s.
func (s Counts) Sub(prev Counts) Counts {
	out := Counts{Calls: map[string]int{}, RRU: s.RRU - prev.RRU, WRU: s.WRU - prev.WRU, Received: s.Received - prev.Received}
	for k, v := range s.Calls {
		if d := v - prev.Calls[k]; d != 0 {
			out.Calls[k] = d
		}
	}
	return out
}

// Add is s and o together.
func (s Counts) Add(o Counts) Counts {
	out := Counts{Calls: maps.Clone(s.Calls), RRU: s.RRU + o.RRU, WRU: s.WRU + o.WRU, Received: s.Received + o.Received}
	if out.Calls == nil {
		out.Calls = map[string]int{}
	}
	for k, v := range o.Calls {
		out.Calls[k] += v
	}
	return out
}

// SubScopes is what happened in each scope between prev and s; scopes
// with nothing are left out.
func SubScopes(s, prev map[string]Counts) map[string]Counts {
	out := map[string]Counts{}
	for k, v := range s {
		d := v.Sub(prev[k])
		if len(d.Calls) > 0 || d.RRU != 0 || d.WRU != 0 || d.Received != 0 {
			out[k] = d
		}
	}
	return out
}

// Service is the number of calls to one service (its SDK service ID, e.g.
// "DynamoDB", "Secrets Manager", "SQS").
func (s Counts) Service(id string) int {
	n := 0
	for k, v := range s.Calls {
		if strings.HasPrefix(k, id+".") {
			n += v
		}
	}
	return n
}

// String lists the calls, sorted.
func (s Counts) String() string {
	keys := make([]string, 0, len(s.Calls))
	for k := range s.Calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "×" + strconv.Itoa(s.Calls[k]))
	}
	return b.String()
}

func (c *Counter) count(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleInitialize(ctx, in)
	op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
	received := 0
	if r, ok := out.Result.(*sqs.ReceiveMessageOutput); ok && err == nil {
		received = len(r.Messages)
		if received == 0 {
			op = EmptyReceive // a poller's idle long poll: no message's cost
		}
	}
	rru, wru := units(in.Parameters, out.Result, err)
	scope := ""
	if c.scope != nil {
		scope = c.scope(ctx, in.Parameters)
	}
	c.mu.Lock()
	by := c.by[scope]
	if by == nil {
		by = &Counts{Calls: map[string]int{}}
		c.by[scope] = by
	}
	for _, n := range []*Counts{&c.now, by} {
		n.Calls[op]++
		n.RRU += rru
		n.WRU += wru
		n.Received += received
	}
	c.mu.Unlock()
	return out, md, err
}

// askCapacity asks DynamoDB for the consumed capacity, on a copy of the
// input so the caller's is left as it was.
func askCapacity(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	total := types.ReturnConsumedCapacityTotal
	switch p := in.Parameters.(type) {
	case *dynamodb.GetItemInput:
		cp := *p
		cp.ReturnConsumedCapacity = total
		in.Parameters = &cp
	case *dynamodb.PutItemInput:
		cp := *p
		cp.ReturnConsumedCapacity = total
		in.Parameters = &cp
	case *dynamodb.UpdateItemInput:
		cp := *p
		cp.ReturnConsumedCapacity = total
		in.Parameters = &cp
	case *dynamodb.DeleteItemInput:
		cp := *p
		cp.ReturnConsumedCapacity = total
		in.Parameters = &cp
	case *dynamodb.QueryInput:
		cp := *p
		cp.ReturnConsumedCapacity = total
		in.Parameters = &cp
	case *dynamodb.ScanInput:
		cp := *p
		cp.ReturnConsumedCapacity = total
		in.Parameters = &cp
	case *dynamodb.TransactWriteItemsInput:
		cp := *p
		cp.ReturnConsumedCapacity = total
		in.Parameters = &cp
	}
	return next.HandleInitialize(ctx, in)
}

// units are a call's read and write units (see the package comment).
func units(params, result any, err error) (rru, wru float64) {
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		var tce *types.TransactionCanceledException
		switch {
		case errors.As(err, &ccf):
			return 0, math.Max(1, math.Ceil(float64(ItemSize(ccf.Item))/1024))
		case errors.As(err, &tce):
			if p, ok := params.(*dynamodb.TransactWriteItemsInput); ok {
				return 0, 2 * float64(len(p.TransactItems))
			}
		}
		return 0, 0
	}
	sum := func(cs ...types.ConsumedCapacity) float64 {
		t := 0.0
		for _, c := range cs {
			t += aws.ToFloat64(c.CapacityUnits)
		}
		return t
	}
	one := func(c *types.ConsumedCapacity) float64 {
		if c == nil {
			return 0
		}
		return sum(*c)
	}
	switch r := result.(type) {
	case *dynamodb.GetItemOutput:
		return one(r.ConsumedCapacity), 0
	case *dynamodb.QueryOutput:
		return one(r.ConsumedCapacity), 0
	case *dynamodb.ScanOutput:
		return one(r.ConsumedCapacity), 0
	case *dynamodb.PutItemOutput:
		return 0, one(r.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		return 0, one(r.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		return 0, one(r.ConsumedCapacity)
	case *dynamodb.TransactWriteItemsOutput:
		w := sum(r.ConsumedCapacity...)
		if p, ok := params.(*dynamodb.TransactWriteItemsInput); ok && w < 2*float64(len(p.TransactItems)) {
			w *= 2 // the emulator reported plain units
		}
		return 0, w
	}
	return 0, 0
}

// ItemSize is DynamoDB's size of an item in bytes: each attribute's name
// plus its value (strings and binaries their length, numbers about one
// byte per two digits plus one, booleans and nulls one byte, maps and
// lists 3 bytes plus their elements).
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch t := v.(type) {
	case *types.AttributeValueMemberS:
		return len(t.Value)
	case *types.AttributeValueMemberN:
		return (len(strings.TrimLeft(t.Value, "-+0"))+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(t.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range t.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + ItemSize(t.Value)
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range t.Value {
			n += 1 + valueSize(e)
		}
		return n
	}
	return 0
}
