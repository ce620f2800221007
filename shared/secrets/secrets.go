// Package secrets caches Secrets Manager values in memory. The warm path of
// every function reads secrets from here and makes no Secrets Manager call;
// a value that cannot be refreshed is served stale for a while, because an
// outage of Secrets Manager should not take chat down with it.
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
	TTL      time.Duration    // how long a value is fresh; jittered down by up to half to spread refreshes
	MaxStale time.Duration    // how long past TTL a value is served when refresh fails
	Now      func() time.Time // clock
	Jitter   func() float64   // [0,1)
}

// Cache is safe for concurrent use.
type Cache struct {
	api  API
	opts Options

	mu    sync.Mutex
	items map[string]*item
}

type item struct {
	mu      sync.Mutex // one refresh per secret at a time
	value   []byte
	fetched time.Time
	fresh   time.Time // refresh after this
	failed  time.Time // last failed refresh
}

// New returns a cache over api. Defaults: TTL 5 min, MaxStale 1 h.
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
	return &Cache{api: api, opts: opts, items: map[string]*item{}}
}

// failBackoff keeps a failing secret from being fetched on every request.
const failBackoff = 5 * time.Second

// Get returns the secret string for name.
func (c *Cache) Get(ctx context.Context, name string) ([]byte, error) {
	c.mu.Lock()
	it, ok := c.items[name]
	if !ok {
		it = &item{}
		c.items[name] = it
	}
	c.mu.Unlock()

	it.mu.Lock()
	defer it.mu.Unlock()
	now := c.opts.Now()
	if it.value != nil && now.Before(it.fresh) {
		return it.value, nil
	}
	stale := it.value != nil && now.Before(it.fetched.Add(c.opts.TTL+c.opts.MaxStale))
	if stale && !it.failed.IsZero() && now.Before(it.failed.Add(failBackoff)) {
		return it.value, nil
	}
	v, err := c.fetch(ctx, name)
	if err != nil {
		if stale && !errors.Is(err, ErrNotFound) {
			it.failed = now
			return it.value, nil
		}
		return nil, err
	}
	ttl := c.opts.TTL - time.Duration(c.opts.Jitter()*float64(c.opts.TTL/2))
	it.value, it.fetched, it.fresh, it.failed = v, now, now.Add(ttl), time.Time{}
	return v, nil
}

// Invalidate drops name so the next Get fetches it (e.g. after a 401 that
// suggests the key was rotated).
func (c *Cache) Invalidate(name string) {
	c.mu.Lock()
	delete(c.items, name)
	c.mu.Unlock()
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
