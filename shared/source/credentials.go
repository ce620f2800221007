package source

import (
	"sync"
	"unsafe"

	"github.com/crmbridge/crmbridge/shared/lru"
)

// Credentials parses an adapter's platform credentials once per value: the
// secrets cache hands every request of an account the same bytes until the
// secret changes, and decoding them (JSON, base64 keys) on each request was
// a measurable part of a warm request. Values are remembered by identity
// (the bytes' address and length, which the entry keeps alive, so no other
// value can take that address while it is remembered), in a bounded cache;
// a failed parse is not remembered. Safe for concurrent use.
type Credentials[T any] struct {
	parse func([]byte) (T, error)
	once  sync.Once // the cache is made on first use: adapters are package variables, and start-up stays light
	cache *lru.Cache[credKey, T]
}

type credKey struct {
	p *byte
	n int
}

// credEntries bounds the parsed credentials kept per adapter: accounts in
// use at once, with room for rotations.
const credEntries = 512

// NewCredentials returns a Credentials for one adapter's parse function.
func NewCredentials[T any](parse func([]byte) (T, error)) *Credentials[T] {
	return &Credentials[T]{parse: parse}
}

// Of returns acct's credentials, parsed.
func (c *Credentials[T]) Of(acct *Account) (T, error) {
	return c.Parse(acct.Credentials)
}

// Parse returns raw parsed.
func (c *Credentials[T]) Parse(raw []byte) (T, error) {
	if len(raw) == 0 {
		return c.parse(raw) // its error names what is missing
	}
	c.once.Do(func() { c.cache = lru.New[credKey, T](credEntries, credEntries) })
	k := credKey{unsafe.SliceData(raw), len(raw)}
	if v, ok := c.cache.Get(k); ok {
		return v, nil
	}
	v, err := c.parse(raw)
	if err == nil {
		c.cache.Add(k, v, 1)
	}
	return v, err
}
