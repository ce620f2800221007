package secrets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

type fakeSM struct {
	calls  int
	values map[string]string
	err    error
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.values[*in.SecretId]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("nope")}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newCache(f *fakeSM, c *clock) *Cache {
	return New(f, Options{TTL: time.Minute, MaxStale: 10 * time.Minute, Now: c.now, Jitter: func() float64 { return 0 }})
}

func TestCacheServesFromMemoryUntilTTL(t *testing.T) {
	f := &fakeSM{values: map[string]string{"a": "1"}}
	c := &clock{t: time.Unix(1000, 0)}
	cache := newCache(f, c)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		v, err := cache.Get(ctx, "a")
		if err != nil || string(v) != "1" {
			t.Fatalf("Get = %q, %v", v, err)
		}
	}
	if f.calls != 1 {
		t.Fatalf("calls = %d, want 1", f.calls)
	}
	f.values["a"] = "2"
	c.t = c.t.Add(61 * time.Second)
	v, _ := cache.Get(ctx, "a")
	if string(v) != "2" || f.calls != 2 {
		t.Fatalf("after TTL: %q calls=%d", v, f.calls)
	}
}

func TestCacheServesStaleOnFailureThenGivesUp(t *testing.T) {
	f := &fakeSM{values: map[string]string{"a": "1"}}
	c := &clock{t: time.Unix(1000, 0)}
	cache := newCache(f, c)
	ctx := context.Background()
	if _, err := cache.Get(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	f.err = errors.New("throttled")
	c.t = c.t.Add(2 * time.Minute)
	v, err := cache.Get(ctx, "a")
	if err != nil || string(v) != "1" {
		t.Fatalf("stale Get = %q, %v", v, err)
	}
	calls := f.calls
	c.t = c.t.Add(time.Second) // within failure backoff: no new call
	if _, err := cache.Get(ctx, "a"); err != nil || f.calls != calls {
		t.Fatalf("expected backoff without call, calls %d->%d err %v", calls, f.calls, err)
	}
	c.t = c.t.Add(20 * time.Minute) // past TTL+MaxStale
	if _, err := cache.Get(ctx, "a"); err == nil {
		t.Fatal("expected error once stale window is over")
	}
}

func TestCacheNotFoundAndInvalidate(t *testing.T) {
	f := &fakeSM{values: map[string]string{"a": "1"}}
	c := &clock{t: time.Unix(1000, 0)}
	cache := newCache(f, c)
	ctx := context.Background()
	if _, err := cache.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	_, _ = cache.Get(ctx, "a")
	f.values["a"] = "rotated"
	cache.Invalidate("a")
	v, _ := cache.Get(ctx, "a")
	if string(v) != "rotated" {
		t.Fatalf("after Invalidate = %q", v)
	}
}
