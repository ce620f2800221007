package egress

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Target is a loopback server for this package's tests and the attack
// suite (package egress_test): it counts the connections it accepts,
// whatever speaks on them (a TLS hello to this plain-HTTP server is one),
// and keeps every request it reads.
type Target struct {
	*httptest.Server
	conns atomic.Int32
	mu    sync.Mutex
	reqs  []string // method, URI, headers and body of each request
}

// NewTarget starts a Target whose handler h (nil: 200, empty) answers
// after the request is recorded; h still reads the whole body.
func NewTarget(t *testing.T, h http.HandlerFunc) *Target {
	t.Helper()
	tg := &Target{}
	tg.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var sb strings.Builder
		sb.WriteString(r.Method + " " + r.URL.RequestURI() + "\n")
		_ = r.Header.Write(&sb)
		sb.Write(b)
		tg.mu.Lock()
		tg.reqs = append(tg.reqs, sb.String())
		tg.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		if h != nil {
			h(w, r)
		}
	}))
	tg.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tg.conns.Add(1)
		}
	}
	tg.Start()
	t.Cleanup(tg.Close)
	return tg
}

// Conns is the number of connections accepted.
func (tg *Target) Conns() int { return int(tg.conns.Load()) }

// Requests is the number of requests read.
func (tg *Target) Requests() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.reqs)
}

// Copies counts s in everything received, Basic credentials decoded.
func (tg *Target) Copies(s string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, r := range tg.reqs {
		n += strings.Count(r, s)
		if _, rest, ok := strings.Cut(r, "Authorization: Basic "); ok {
			line, _, _ := strings.Cut(rest, "\r\n")
			if dec, err := base64.StdEncoding.DecodeString(line); err == nil {
				n += strings.Count(string(dec), s)
			}
		}
	}
	return n
}

// Addr is the server's IP and port, for Options.Allow.
func (tg *Target) Addr() netip.AddrPort { return netip.MustParseAddrPort(tg.Listener.Addr().String()) }
