// Package lru is a least-recently-used cache bounded in entries and in
// bytes. The tenant loader and the secrets cache keep what they read in it,
// so nothing a caller sends can make a process's memory grow without bound.
package lru

import (
	"container/list"
	"sync"
)

// Cache holds at most MaxEntries values whose sizes add up to at most
// MaxBytes; adding past either bound evicts the least recently used. Sizes
// are what the caller says a value costs (an estimate is fine: the bound is
// there to stop growth, not to account exactly). Safe for concurrent use.
type Cache[K comparable, V any] struct {
	maxEntries int
	maxBytes   int

	mu    sync.Mutex
	ll    *list.List // front: most recently used
	items map[K]*list.Element
	bytes int
}

type entry[K comparable, V any] struct {
	key  K
	val  V
	size int
}

// New returns a cache with the given bounds; a bound <= 0 is taken as 1
// entry or 1 byte, so a misconfiguration cannot mean "unbounded".
func New[K comparable, V any](maxEntries, maxBytes int) *Cache[K, V] {
	return &Cache[K, V]{maxEntries: max(maxEntries, 1), maxBytes: max(maxBytes, 1), ll: list.New(), items: map[K]*list.Element{}}
}

// Get returns the value for k and marks it recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*entry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// Add stores v under k with its size, replacing an older value, and evicts
// until both bounds hold again. A value larger than MaxBytes on its own is
// not stored at all.
func (c *Cache[K, V]) Add(k K, v V, size int) {
	size = max(size, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.removeElement(el)
	}
	if size > c.maxBytes {
		return
	}
	c.items[k] = c.ll.PushFront(&entry[K, V]{key: k, val: v, size: size})
	c.bytes += size
	for c.ll.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.removeElement(c.ll.Back())
	}
}

// Remove drops k.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.removeElement(el)
	}
}

// Len is the number of values held.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// Bytes is the sum of the held values' sizes.
func (c *Cache[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *Cache[K, V]) removeElement(el *list.Element) {
	e := c.ll.Remove(el).(*entry[K, V])
	delete(c.items, e.key)
	c.bytes -= e.size
}
