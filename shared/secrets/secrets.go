// Package secrets caches Secrets Manager values in memory, with their
// parsed form. The warm path of every function reads secrets from here and
// makes no Secrets Manager call and no JSON parse; a value that cannot be
// refreshed is served stale for a while, because an outage of Secrets
// Manager should not take chat down with it. The cache is bounded in
// entries and bytes (least recently used values go first).
package secrets

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/crmbridge/crmbridge/shared/lru"
)

// API is the one Secrets Manager call the cache makes.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// ErrNotFound means the secret does not exist.
var ErrNotFound = errors.New("secret not found")

// Options tune the cache.
type Options struct {
	TTL        time.Duration // how long a value is fresh; jittered down by up to half to spread refreshes
	MaxStale   time.Duration // how long past TTL a value is served when refresh fails
	MaxEntries int           // secrets held; default 512
	MaxBytes   int           // their estimated size (value and parsed form); default 4 MiB
	// Allow, when set, refuses names before any call: the functions pass
	// the tenant's naming rules, so no path can read a secret outside them.
	Allow  func(name string) error
	Now    func() time.Time // clock
	Jitter func() float64   // [0,1)
}

// Cache is safe for concurrent use.
type Cache struct {
	api  API
	opts Options

	mu    sync.Mutex // creating items
	items *lru.Cache[string, *item]
}

type item struct {
	mu      sync.Mutex // one refresh per secret at a time
	value   []byte
	gen     uint64 // counts fetched values
	fetched time.Time
	fresh   time.Time // refresh after this
	failed  time.Time // last failed refresh

	parsed    any
	parsedGen uint64 // gen of the value parsed was made from; 0: none
}

// Defaults of the bounds.
const (
	DefaultMaxEntries = 512
	DefaultMaxBytes   = 4 << 20
)

// New returns a cache over api. Defaults: TTL 5 min, MaxStale 1 h, and the
// bounds above.
func New(api API, opts Options) *Cache {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.MaxStale <= 0 {
		opts.MaxStale = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	return &Cache{api: api, opts: opts, items: lru.New[string, *item](opts.MaxEntries, opts.MaxBytes)}
}

// failBackoff keeps a failing secret from being fetched on every request.
const failBackoff = 5 * time.Second

// Get returns the secret string for name.
func (c *Cache) Get(ctx context.Context, name string) ([]byte, error) {
	it, err := c.current(ctx, name)
	if err != nil {
		return nil, err
	}
	defer it.mu.Unlock()
	return it.value, nil
}

// Parsed returns parse's result for the current value of name, parsing
// only when the value changed since the last parse. A name has one meaning
// (its kind is in the name), so callers pass the same parse for a name.
// Parse errors are returned and not cached.
func (c *Cache) Parsed(ctx context.Context, name string, parse func([]byte) (any, error)) (any, error) {
	it, err := c.current(ctx, name)
	if err != nil {
		return nil, err
	}
	defer it.mu.Unlock()
	if it.parsedGen == it.gen {
		return it.parsed, nil
	}
	v, err := parse(it.value)
	if err != nil {
		return nil, err
	}
	it.parsed, it.parsedGen = v, it.gen
	return v, nil
}

// entry returns the item for name, creating it.
func (c *Cache) entry(name string) *item {
	if it, ok := c.items.Get(name); ok {
		return it
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items.Get(name); ok {
		return it
	}
	it := &item{}
	c.items.Add(name, it, cost(name, nil))
	return it
}

// cost estimates what an item holds: the value and about as much again for
// its parsed form, plus overhead.
func cost(name string, value []byte) int { return len(name) + 2*len(value) + 256 }

// current returns name's item, locked, with a value that is fresh, or
// stale within MaxStale while refreshing fails.
func (c *Cache) current(ctx context.Context, name string) (*item, error) {
	if c.opts.Allow != nil {
		if err := c.opts.Allow(name); err != nil {
			return nil, fmt.Errorf("secret refused: %w", err)
		}
	}
	it := c.entry(name)
	it.mu.Lock()
	now := c.opts.Now()
	if it.value != nil && now.Before(it.fresh) {
		return it, nil
	}
	stale := it.value != nil && now.Before(it.fetched.Add(c.opts.TTL+c.opts.MaxStale))
	if stale && !it.failed.IsZero() && now.Before(it.failed.Add(failBackoff)) {
		return it, nil
	}
	v, err := c.fetch(ctx, name)
	if err != nil {
		if stale && !errors.Is(err, ErrNotFound) {
			it.failed = now
			return it, nil
		}
		it.mu.Unlock()
		return nil, err
	}
	ttl := c.opts.TTL - time.Duration(c.opts.Jitter()*float64(c.opts.TTL/2))
	it.value, it.fetched, it.fresh, it.failed = v, now, now.Add(ttl), time.Time{}
	it.gen++
	c.items.Add(name, it, cost(name, v)) // its size changed
	return it, nil
}

// Invalidate drops name so the next Get fetches it (e.g. after a 401 that
// suggests the key was rotated).
func (c *Cache) Invalidate(name string) {
	c.items.Remove(name)
}

func (c *Cache) fetch(ctx context.Context, name string) ([]byte, error) {
	out, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("secret %q: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("get secret %q: %w", name, err)
	}
	switch {
	case out.SecretString != nil:
		return []byte(*out.SecretString), nil
	case out.SecretBinary != nil:
		return out.SecretBinary, nil
	default:
		return nil, fmt.Errorf("secret %q has no value", name)
	}
}
