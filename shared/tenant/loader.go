package tenant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/lru"
)

// GetItemAPI is the one DynamoDB call the loader makes.
type GetItemAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

var _ GetItemAPI = (*dynamodb.Client)(nil)

// ErrNotFound means there is no such item.
var ErrNotFound = errors.New("not configured")

// ErrInvalidID means a key is not of a form any item can have, so nothing
// was read. Such errors also match ErrNotFound: to a caller the ID is
// simply not configured.
var ErrInvalidID = errors.New("malformed ID")

// IDError names the malformed part of a key, never its value (which may
// be anything an unauthenticated caller sent).
type IDError struct {
	Field string // agentId, source, account or action
	Rule  string
}

func (e *IDError) Error() string {
	return fmt.Sprintf("%s: %s: must be %s", e.Field, ErrInvalidID, e.Rule)
}

// Is makes an IDError both ErrInvalidID and ErrNotFound.
func (e *IDError) Is(target error) bool { return target == ErrInvalidID || target == ErrNotFound }

// Defaults of the loader's bounds.
const (
	DefaultTTL        = time.Minute
	DefaultMissTTL    = 10 * time.Second
	DefaultMaxEntries = 2048
	DefaultMaxBytes   = 8 << 20
	DefaultMaxMisses  = 1024
)

// Loader reads configuration items, parses them once (with Hooks) and
// caches the typed result for TTL: config changes take effect within a
// minute and the warm path makes no DynamoDB call for configuration.
//
// Nothing a caller sends can make it grow: keys of a malformed format are
// refused before any read and never cached; items are kept in an LRU
// bounded in entries and bytes; keys with no item are remembered only for
// MissTTL, in a smaller LRU of their own, so random well-formed IDs evict
// each other and not the configuration in use. Concurrent misses of one key
// share one read.
type Loader struct {
	DB         GetItemAPI
	Table      string
	TTL        time.Duration // found (or invalid) items; default 60 s
	MissTTL    time.Duration // keys without an item; default 10 s
	MaxEntries int           // items held; default 2048
	MaxBytes   int           // their estimated size; default 8 MiB
	MaxMisses  int           // missing keys held; default 1024
	Now        func() time.Time
	Hooks      Hooks

	once    sync.Once
	found   *lru.Cache[itemKey, cached]
	missing *lru.Cache[itemKey, time.Time]
	mu      sync.Mutex
	flights map[itemKey]*flight
	onWait  func() // tests: called when a caller waits for another's read
}

type cached struct {
	val     any
	err     error
	expires time.Time
}

type flight struct {
	done chan struct{}
	val  any
	err  error
}

// missCost is what a remembered miss is taken to cost beyond its key.
const missCost = 96

func (l *Loader) init() {
	l.once.Do(func() {
		l.found = lru.New[itemKey, cached](orDefault(l.MaxEntries, DefaultMaxEntries), orDefault(l.MaxBytes, DefaultMaxBytes))
		n := orDefault(l.MaxMisses, DefaultMaxMisses)
		l.missing = lru.New[itemKey, time.Time](n, n*(missCost+maxKeyLen))
		l.flights = map[itemKey]*flight{}
	})
}

// maxKeyLen bounds pk + sk of a well-formed key.
const maxKeyLen = len("SOURCE#") + maxSourceName + 1 + maxAccount + len("ACTION#") + maxToken

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Source returns the enabled-or-not configuration of a source account.
func (l *Loader) Source(ctx context.Context, source, account string) (*Source, error) {
	if !ValidSourceName(source) {
		return nil, &IDError{Field: "source", Rule: ruleSourceName}
	}
	if !ValidAccount(account) {
		return nil, &IDError{Field: "account", Rule: ruleAccount}
	}
	v, err := l.load(ctx, SourceKey(source, account), ConfigSK, func(it Item) (any, error) {
		return ParseSource(it, l.Hooks.Settings)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Source), nil
}

// Agent returns an agent's configuration.
func (l *Loader) Agent(ctx context.Context, agentID string) (*Agent, error) {
	if !ValidAgentID(agentID) {
		return nil, &IDError{Field: "agentId", Rule: ruleAgentID}
	}
	v, err := l.load(ctx, AgentKey(agentID), ConfigSK, func(it Item) (any, error) {
		return ParseAgent(it, l.Hooks.Teams, l.Hooks.URL)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Agent), nil
}

// Action returns an agent's action by name.
func (l *Loader) Action(ctx context.Context, agentID, name string) (*Action, error) {
	if !ValidAgentID(agentID) {
		return nil, &IDError{Field: "agentId", Rule: ruleAgentID}
	}
	if !ValidActionName(name) {
		return nil, &IDError{Field: "action", Rule: ruleToken}
	}
	v, err := l.load(ctx, AgentKey(agentID), ActionSK(name), func(it Item) (any, error) {
		return ParseAction(it, l.Hooks.Action)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Action), nil
}

// itemKey is an item's key in the caches: a struct, so a lookup builds no
// string.
type itemKey struct{ pk, sk string }

func (k itemKey) size() int { return len(k.pk) + len(k.sk) + 1 }

func (l *Loader) load(ctx context.Context, pk, sk string, parse func(Item) (any, error)) (any, error) {
	l.init()
	key := itemKey{pk, sk}
	now := l.now()
	if c, ok := l.found.Get(key); ok && now.Before(c.expires) {
		return c.val, c.err
	}
	if exp, ok := l.missing.Get(key); ok && now.Before(exp) {
		return nil, notFound(pk, sk)
	}
	l.mu.Lock()
	if f, ok := l.flights[key]; ok {
		l.mu.Unlock()
		if l.onWait != nil {
			l.onWait()
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !isContextError(f.err) || ctx.Err() != nil {
			return f.val, f.err
		}
		// The reader gave up; this caller has not.
		return l.read(ctx, key, pk, sk, parse, now)
	}
	f := &flight{done: make(chan struct{})}
	l.flights[key] = f
	l.mu.Unlock()
	f.val, f.err = l.read(ctx, key, pk, sk, parse, now)
	l.mu.Lock()
	delete(l.flights, key)
	l.mu.Unlock()
	close(f.done)
	return f.val, f.err
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (l *Loader) read(ctx context.Context, key itemKey, pk, sk string, parse func(Item) (any, error), now time.Time) (any, error) {
	out, err := l.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(l.Table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk},
			"sk": &types.AttributeValueMemberS{Value: sk},
		},
	})
	if err != nil {
		// Not cached: a transient failure should not stick for a minute.
		return nil, fmt.Errorf("read %s: %w", Name(pk, sk), err)
	}
	if len(out.Item) == 0 {
		missTTL := l.MissTTL
		if missTTL <= 0 {
			missTTL = DefaultMissTTL
		}
		l.missing.Add(key, now.Add(missTTL), key.size()+missCost)
		return nil, notFound(pk, sk)
	}
	// An invalid item is cached like a valid one: it is the operator's,
	// and re-reading it on every request would not fix it.
	val, err := parse(out.Item)
	ttl := l.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	l.missing.Remove(key)
	l.found.Add(key, cached{val: val, err: err, expires: now.Add(ttl)}, key.size()+itemCost(out.Item))
	return val, err
}

func notFound(pk, sk string) error { return fmt.Errorf("%s: %w", Name(pk, sk), ErrNotFound) }

// itemCost estimates what an item costs in memory once parsed: its
// attributes, and about as much again twice over for the decoded and
// parsed forms, plus fixed overhead.
func itemCost(it Item) int {
	n := 0
	for k, av := range it {
		n += len(k) + attrSize(av)
	}
	return 3*n + 512
}

func attrSize(av types.AttributeValue) int {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value) + 16
	case *types.AttributeValueMemberN:
		return len(v.Value) + 16
	case *types.AttributeValueMemberB:
		return len(v.Value) + 16
	case *types.AttributeValueMemberSS:
		n := 16
		for _, s := range v.Value {
			n += len(s) + 16
		}
		return n
	case *types.AttributeValueMemberM:
		n := 16
		for k, x := range v.Value {
			n += len(k) + attrSize(x)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 16
		for _, x := range v.Value {
			n += attrSize(x)
		}
		return n
	default:
		return 16
	}
}

func (l *Loader) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}
