package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestBounds(t *testing.T) {
	tests := []struct {
		name       string
		entries    int
		bytes      int
		adds       []int // sizes of keys 0, 1, 2...
		touch      []int // keys read after the adds, in order
		want       []int // keys still held
		wantBytes  int
		extraAddAt int // -1: none
	}{
		{name: "entry bound evicts oldest", entries: 2, bytes: 100, adds: []int{1, 1, 1}, want: []int{1, 2}, wantBytes: 2},
		{name: "byte bound evicts oldest", entries: 10, bytes: 10, adds: []int{4, 4, 4}, want: []int{1, 2}, wantBytes: 8},
		{name: "a read keeps a key", entries: 2, bytes: 100, adds: []int{1, 1}, touch: []int{0}, want: []int{0, 2}, wantBytes: 2, extraAddAt: 2},
		{name: "too big alone is not stored", entries: 10, bytes: 10, adds: []int{3, 11}, want: []int{0}, wantBytes: 3},
		{name: "zero bounds mean one", entries: 0, bytes: 0, adds: []int{1, 1}, want: []int{1}, wantBytes: 1},
		{name: "zero size counts one byte", entries: 10, bytes: 2, adds: []int{0, 0, 0}, want: []int{1, 2}, wantBytes: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[int, string](tt.entries, tt.bytes)
			for k, size := range tt.adds {
				c.Add(k, fmt.Sprint(k), size)
			}
			for _, k := range tt.touch {
				if _, ok := c.Get(k); !ok {
					t.Fatalf("key %d gone before the extra add", k)
				}
			}
			if tt.extraAddAt > 0 {
				c.Add(tt.extraAddAt, "x", 1)
			}
			held := map[int]bool{}
			for k := range 20 {
				if _, ok := c.Get(k); ok {
					held[k] = true
				}
			}
			if len(held) != len(tt.want) {
				t.Fatalf("held %v, want %v", held, tt.want)
			}
			for _, k := range tt.want {
				if !held[k] {
					t.Fatalf("held %v, want %v", held, tt.want)
				}
			}
			if c.Len() != len(tt.want) || c.Bytes() != tt.wantBytes {
				t.Fatalf("Len %d Bytes %d, want %d %d", c.Len(), c.Bytes(), len(tt.want), tt.wantBytes)
			}
		})
	}
}

func TestReplaceAndRemove(t *testing.T) {
	c := New[string, int](10, 100)
	c.Add("a", 1, 10)
	c.Add("a", 2, 30)
	if v, ok := c.Get("a"); !ok || v != 2 || c.Bytes() != 30 || c.Len() != 1 {
		t.Fatalf("after replace: %d %v bytes %d len %d", v, ok, c.Bytes(), c.Len())
	}
	c.Add("a", 3, 1000) // too big: the old value goes too, nothing stale stays
	if _, ok := c.Get("a"); ok || c.Bytes() != 0 {
		t.Fatalf("oversized replacement kept a value (bytes %d)", c.Bytes())
	}
	c.Add("b", 1, 5)
	c.Remove("b")
	c.Remove("missing")
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Fatalf("Len %d Bytes %d", c.Len(), c.Bytes())
	}
}

func TestConcurrent(t *testing.T) {
	c := New[int, int](64, 1<<20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				c.Add(g*1000+i, i, 8)
				c.Get(i)
			}
		}()
	}
	wg.Wait()
	if c.Len() != 64 || c.Bytes() != 64*8 {
		t.Fatalf("Len %d Bytes %d", c.Len(), c.Bytes())
	}
}
