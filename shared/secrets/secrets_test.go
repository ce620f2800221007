package secrets

import (
	"context"
	"errors"
	"strconv"
	"strings"
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

func TestParsedParsesOncePerValue(t *testing.T) {
	f := &fakeSM{values: map[string]string{"a": "1"}}
	c := &clock{t: time.Unix(1000, 0)}
	cache := newCache(f, c)
	ctx := context.Background()
	parses := 0
	parse := func(raw []byte) (any, error) {
		parses++
		if string(raw) == "bad" {
			return nil, errors.New("not a secret of the right shape")
		}
		return "parsed " + string(raw), nil
	}
	for range 3 {
		v, err := cache.Parsed(ctx, "a", parse)
		if err != nil || v != "parsed 1" {
			t.Fatalf("Parsed = %v, %v", v, err)
		}
	}
	if parses != 1 || f.calls != 1 {
		t.Fatalf("parses %d, calls %d; want 1, 1", parses, f.calls)
	}
	// A refreshed value is parsed again.
	f.values["a"] = "2"
	c.t = c.t.Add(61 * time.Second)
	if v, _ := cache.Parsed(ctx, "a", parse); v != "parsed 2" || parses != 2 {
		t.Fatalf("after refresh: %v, parses %d", v, parses)
	}
	// Stale while Secrets Manager fails: the parsed value is served, not re-parsed.
	f.err = errors.New("throttled")
	c.t = c.t.Add(61 * time.Second)
	if v, err := cache.Parsed(ctx, "a", parse); err != nil || v != "parsed 2" || parses != 2 {
		t.Fatalf("stale: %v, %v, parses %d", v, err, parses)
	}
	f.err = nil
	// A parse error is returned and not kept.
	f.values["a"] = "bad"
	c.t = c.t.Add(61 * time.Second)
	for range 2 {
		if _, err := cache.Parsed(ctx, "a", parse); err == nil {
			t.Fatal("parse error lost")
		}
	}
	if parses != 4 {
		t.Fatalf("parses %d, want 4 (errors are not cached)", parses)
	}
	if _, err := cache.Parsed(ctx, "missing", parse); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	f := &fakeSM{values: map[string]string{}}
	for i := range 10 {
		f.values[string(rune('a'+i))] = strings.Repeat("x", 100)
	}
	c := &clock{t: time.Unix(1000, 0)}
	cache := New(f, Options{TTL: time.Minute, Now: c.now, Jitter: func() float64 { return 0 }, MaxEntries: 3})
	for i := range 10 {
		if _, err := cache.Get(ctx, string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if cache.items.Len() != 3 {
		t.Fatalf("entries %d, want 3", cache.items.Len())
	}
	f.calls = 0
	_, _ = cache.Get(ctx, "j") // recent: held
	_, _ = cache.Get(ctx, "a") // evicted: fetched again
	if f.calls != 1 {
		t.Fatalf("calls %d, want 1", f.calls)
	}

	one := cost("a", []byte(strings.Repeat("x", 100)))
	cache = New(f, Options{TTL: time.Minute, Now: c.now, Jitter: func() float64 { return 0 }, MaxBytes: 2 * one})
	for i := range 10 {
		_, _ = cache.Get(ctx, string(rune('a'+i)))
	}
	if cache.items.Len() != 2 || cache.items.Bytes() > 2*one {
		t.Fatalf("entries %d bytes %d, want 2 within %d", cache.items.Len(), cache.items.Bytes(), 2*one)
	}
	// Unknown names do not pile up either.
	for i := range 1000 {
		_, _ = cache.Get(ctx, "missing-"+strconv.Itoa(i))
	}
	if cache.items.Bytes() > 2*one {
		t.Fatalf("%d bytes held after misses, bound %d", cache.items.Bytes(), 2*one)
	}
}

func TestAllowRefusesBeforeAnyCall(t *testing.T) {
	f := &fakeSM{values: map[string]string{"crmbridge/agents/x": "1", "prod/db": "2"}}
	c := &clock{t: time.Unix(1000, 0)}
	cache := New(f, Options{Now: c.now, Allow: func(name string) error {
		if !strings.HasPrefix(name, "crmbridge/") {
			return errors.New("not a bridge secret")
		}
		return nil
	}})
	if _, err := cache.Get(context.Background(), "prod/db"); err == nil || !strings.Contains(err.Error(), "not a bridge secret") {
		t.Fatalf("Get(prod/db) = %v", err)
	}
	if _, err := cache.Parsed(context.Background(), "prod/db", func(b []byte) (any, error) { return b, nil }); err == nil {
		t.Fatal("Parsed(prod/db) allowed")
	}
	if f.calls != 0 || cache.items.Len() != 0 {
		t.Fatalf("refused names cost %d calls, %d entries", f.calls, cache.items.Len())
	}
	if v, err := cache.Get(context.Background(), "crmbridge/agents/x"); err != nil || string(v) != "1" {
		t.Fatalf("allowed name: %q %v", v, err)
	}
}
