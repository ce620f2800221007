package tenant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// countingDB answers every read with "no item" and only counts, so the
// test measures the loader's memory, not the fake's.
type countingDB struct{ reads atomic.Int64 }

func (db *countingDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	db.reads.Add(1)
	return &dynamodb.GetItemOutput{}, nil
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestLoaderMemoryIsBounded: 10,000 distinct unknown IDs from an
// unauthenticated caller cost 0 DynamoDB reads when malformed and keep the
// heap's growth to a few MB either way. (Before the bounds, every lookup
// stayed cached: 10,000 4-KB botIds kept 94 MB and cost 10,000 DynamoDB reads.)
func TestLoaderMemoryIsBounded(t *testing.T) {
	db := &countingDB{}
	l := &Loader{DB: db, Table: "Tenants", Now: (&fakeClock{t: time.Unix(1_700_000_000, 0)}).now}
	ctx := context.Background()
	if _, err := l.Agent(ctx, randomHex(24)); !errors.Is(err, ErrNotFound) { // initialise the caches
		t.Fatal(err)
	}
	db.reads.Store(0)
	before := heapInUse()

	const n = 10_000
	for i := range n {
		// 4 KB of hex: the shape of a botId, far too long.
		id := randomHex(4096)
		var err error
		switch i % 4 {
		case 0:
			_, err = l.Agent(ctx, id)
		case 1:
			_, err = l.Action(ctx, randomHex(24), id)
		case 2:
			_, err = l.Source(ctx, "generic", id+":x")
		case 3:
			_, err = l.Source(ctx, id, "acme")
		}
		if !errors.Is(err, ErrInvalidID) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("malformed ID: %v", err)
		}
		if strings.Contains(err.Error(), id[:64]) {
			t.Fatal("the error echoes the caller's value")
		}
	}
	if r := db.reads.Load(); r != 0 {
		t.Fatalf("%d DynamoDB reads for malformed IDs, want 0", r)
	}
	malformed := int64(heapInUse()) - int64(before)

	for range n {
		if _, err := l.Agent(ctx, randomHex(24)); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidID) {
			t.Fatalf("well-formed unknown ID: %v", err)
		}
	}
	if r := db.reads.Load(); r != n {
		t.Fatalf("%d reads for %d well-formed unknown IDs", r, n)
	}
	total := int64(heapInUse()) - int64(before)
	t.Logf("heap growth after %d malformed IDs: %d KB; after %d more well-formed unknown ones: %d KB (misses held: %d)",
		n, malformed/1024, n, total/1024, l.missing.Len())
	const limit = 4 << 20
	if malformed > limit || total > limit {
		t.Fatalf("heap grew %d / %d bytes, want under %d", malformed, total, limit)
	}
	if l.missing.Len() > DefaultMaxMisses || l.found.Len() != 0 {
		t.Fatalf("misses held %d (max %d), found %d", l.missing.Len(), DefaultMaxMisses, l.found.Len())
	}
}

func TestLoaderRefusesMalformedKeys(t *testing.T) {
	db := newFakeDB(t)
	l := newLoader(db, &fakeClock{t: time.Unix(1_700_000_000, 0)})
	ctx := context.Background()
	const agent = "618a30beee4e8e87d2f94015"
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"agent id too short", func() error { _, err := l.Agent(ctx, "a1"); return err }, "agentId"},
		{"agent id upper case", func() error { _, err := l.Agent(ctx, strings.ToUpper(agent)); return err }, "agentId"},
		{"agent id with a NUL", func() error { _, err := l.Agent(ctx, agent[:23]+"\x00"); return err }, "agentId"},
		{"action of a bad agent", func() error { _, err := l.Action(ctx, "x", "lookupOrder"); return err }, "agentId"},
		{"action name with a space", func() error { _, err := l.Action(ctx, agent, "look up"); return err }, "action"},
		{"action name too long", func() error { _, err := l.Action(ctx, agent, strings.Repeat("a", 65)); return err }, "action"},
		{"source name upper case", func() error { _, err := l.Source(ctx, "Generic", "acme"); return err }, "source"},
		{"account with a colon", func() error { _, err := l.Source(ctx, "generic", "a:b"); return err }, "account"},
		{"account with a hash", func() error { _, err := l.Source(ctx, "generic", "a#CONFIG"); return err }, "account"},
		{"empty account", func() error { _, err := l.Source(ctx, "generic", ""); return err }, "account"},
		{"account with CR LF", func() error { _, err := l.Source(ctx, "generic", "a\r\nb"); return err }, "account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 {
				err := tt.call()
				var ie *IDError
				if !errors.As(err, &ie) || ie.Field != tt.field || !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrInvalidID) {
					t.Fatalf("err %v, want an IDError on %s", err, tt.field)
				}
			}
		})
	}
	if len(db.calls) != 0 || l.found != nil && (l.found.Len() != 0 || l.missing.Len() != 0) {
		t.Fatalf("malformed keys were read or cached: reads %v", db.calls)
	}
}

func TestLoaderBounds(t *testing.T) {
	ctx := context.Background()
	t.Run("misses are capped and short-lived", func(t *testing.T) {
		db := &countingDB{}
		c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		l := &Loader{DB: db, Table: "T", Now: c.now, MaxMisses: 3, MissTTL: 5 * time.Second}
		ids := []string{randomHex(24), randomHex(24), randomHex(24), randomHex(24)}
		for _, id := range ids {
			_, _ = l.Agent(ctx, id)
		}
		if l.missing.Len() != 3 {
			t.Fatalf("misses held %d, want 3", l.missing.Len())
		}
		_, _ = l.Agent(ctx, ids[3]) // held
		_, _ = l.Agent(ctx, ids[0]) // evicted: read again
		if r := db.reads.Load(); r != 5 {
			t.Fatalf("%d reads, want 5", r)
		}
		c.t = c.t.Add(5 * time.Second)
		_, _ = l.Agent(ctx, ids[3])
		if r := db.reads.Load(); r != 6 {
			t.Fatalf("%d reads after the miss TTL, want 6", r)
		}
	})
	t.Run("items are capped in entries and bytes", func(t *testing.T) {
		var items []string
		for i := range 5 {
			id := strings.Repeat(string(rune('a'+i)), 24)
			items = append(items, strings.ReplaceAll(agentItem, "618a30beee4e8e87d2f94015", id))
		}
		db := newFakeDB(t, items...)
		l := &Loader{DB: db, Table: "T", MaxEntries: 3}
		for i := range 5 {
			if _, err := l.Agent(ctx, strings.Repeat(string(rune('a'+i)), 24)); err != nil {
				t.Fatal(err)
			}
		}
		if l.found.Len() != 3 {
			t.Fatalf("items held %d, want 3", l.found.Len())
		}
		cost := l.found.Bytes() / 3
		l2 := &Loader{DB: db, Table: "T", MaxBytes: 2*cost + cost/2}
		for i := range 5 {
			_, _ = l2.Agent(ctx, strings.Repeat(string(rune('a'+i)), 24))
		}
		if l2.found.Len() != 2 || l2.found.Bytes() > 2*cost+cost/2 {
			t.Fatalf("items held %d (%d bytes), want 2 within %d", l2.found.Len(), l2.found.Bytes(), 2*cost+cost/2)
		}
	})
	t.Run("a found item replaces a remembered miss", func(t *testing.T) {
		db := newFakeDB(t)
		c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		l := newLoader(db, c)
		const id = "618a30beee4e8e87d2f94015"
		_, _ = l.Agent(ctx, id)
		db.items["AGENT#"+id+"/CONFIG"] = item(t, agentItem)
		c.t = c.t.Add(DefaultMissTTL)
		if _, err := l.Agent(ctx, id); err != nil {
			t.Fatal(err)
		}
		if l.missing.Len() != 0 || l.found.Len() != 1 {
			t.Fatalf("misses %d found %d", l.missing.Len(), l.found.Len())
		}
	})
}

// blockingDB holds every read until released.
type blockingDB struct {
	entered chan struct{}
	release chan struct{}
	reads   atomic.Int64
	err     error
}

func (db *blockingDB) GetItem(ctx context.Context, _ *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	db.reads.Add(1)
	db.entered <- struct{}{}
	<-db.release
	if db.err != nil {
		return nil, db.err
	}
	return &dynamodb.GetItemOutput{}, nil
}

// Concurrent misses of one key share one read; a read error reaches every
// waiter and is not cached.
func TestLoaderSingleFlight(t *testing.T) {
	for _, fail := range []bool{false, true} {
		db := &blockingDB{entered: make(chan struct{}, 1), release: make(chan struct{})}
		if fail {
			db.err = errors.New("throttled")
		}
		l := &Loader{DB: db, Table: "T"}
		const waiters = 15
		var waiting sync.WaitGroup
		waiting.Add(waiters)
		l.onWait = waiting.Done
		const id = "618a30beee4e8e87d2f94015"
		errs := make(chan error, waiters+1)
		go func() { _, err := l.Agent(context.Background(), id); errs <- err }()
		<-db.entered
		for range waiters {
			go func() { _, err := l.Agent(context.Background(), id); errs <- err }()
		}
		waiting.Wait()
		close(db.release)
		for range waiters + 1 {
			err := <-errs
			if fail && (err == nil || !strings.Contains(err.Error(), "throttled")) || !fail && !errors.Is(err, ErrNotFound) {
				t.Fatalf("fail=%v: err %v", fail, err)
			}
		}
		if r := db.reads.Load(); r != 1 {
			t.Fatalf("fail=%v: %d reads, want 1", fail, r)
		}
		if fail {
			db.entered = make(chan struct{}, 1)
			db.release = make(chan struct{})
			close(db.release)
			_, _ = l.Agent(context.Background(), id)
			if r := db.reads.Load(); r != 2 {
				t.Fatalf("a failed read was cached: %d reads", r)
			}
		}
	}
}

// A caller whose context ends stops waiting for another caller's read.
func TestLoaderWaiterContext(t *testing.T) {
	db := &blockingDB{entered: make(chan struct{}, 1), release: make(chan struct{})}
	l := &Loader{DB: db, Table: "T"}
	const id = "618a30beee4e8e87d2f94015"
	done := make(chan error, 1)
	go func() { _, err := l.Agent(context.Background(), id); done <- err }()
	<-db.entered
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan struct{})
	l.onWait = func() { close(waiting) }
	got := make(chan error, 1)
	go func() { _, err := l.Agent(ctx, id); got <- err }()
	<-waiting
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter: %v", err)
	}
	close(db.release)
	if err := <-done; !errors.Is(err, ErrNotFound) {
		t.Fatalf("reader: %v", err)
	}
}
