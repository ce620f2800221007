package source

import (
	"errors"
	"testing"
)

func TestCredentialsParsedOncePerValue(t *testing.T) {
	calls := 0
	c := NewCredentials(func(raw []byte) (string, error) {
		calls++
		if string(raw) == "bad" || len(raw) == 0 {
			return "", errors.New("bad credentials")
		}
		return "parsed:" + string(raw), nil
	})
	v1 := []byte("key-1")
	rotated := []byte("key-2")
	bad := []byte("bad")
	for _, step := range []struct {
		name  string
		raw   []byte
		want  string
		err   bool
		calls int // parses so far
	}{
		{"first read parses", v1, "parsed:key-1", false, 1},
		{"the same value again is remembered", v1, "parsed:key-1", false, 1},
		{"a copy of the value is another value", []byte("key-1"), "parsed:key-1", false, 2},
		{"a rotated secret parses again", rotated, "parsed:key-2", false, 3},
		{"the old value is still remembered", v1, "parsed:key-1", false, 3},
		{"a failure is returned", bad, "", true, 4},
		{"and not remembered", bad, "", true, 5},
		{"no credentials reach the parser", nil, "", true, 6},
	} {
		got, err := c.Of(&Account{Credentials: step.raw})
		if got != step.want || (err != nil) != step.err || calls != step.calls {
			t.Fatalf("%s: got %q, %v after %d parses; want %q, error %v, %d parses", step.name, got, err, calls, step.want, step.err, step.calls)
		}
	}
}

func TestCredentialsBounded(t *testing.T) {
	c := NewCredentials(func(raw []byte) (int, error) { return len(raw), nil })
	for range 3 * credEntries {
		if _, err := c.Parse(make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.cache.Len(); n > credEntries {
		t.Fatalf("%d values kept, bound %d", n, credEntries)
	}
}
