package egress

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzRetryAfter: any header value gives a wait in [0, MaxRetryAfter],
// without a panic. Seeds are in testdata/fuzz/FuzzRetryAfter.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := RetryAfter(v, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("RetryAfter(%q) = %v", v, d)
		}
	})
}

// FuzzCheckURL: an accepted URL parses, is https (or, in local mode, http
// to a loopback host), has no user info, and names no literal internal
// address or localhost name outside the local stack; whatever strict mode
// accepts, local mode accepts too. Seeds are in testdata/fuzz/FuzzCheckURL.
func FuzzCheckURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		strictErr, localErr := CheckURL(raw, false), CheckURL(raw, true)
		if strictErr == nil && localErr != nil {
			t.Fatalf("%q: strict accepts, local refuses: %v", raw, localErr)
		}
		if localErr != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.User != nil || u.Host == "" {
			t.Fatalf("%q accepted: %v %+v", raw, err, u)
		}
		host := strings.ToLower(u.Hostname())
		ip, ipErr := netip.ParseAddr(host)
		loopName := strings.TrimSuffix(host, ".") == "localhost" || strings.HasSuffix(strings.TrimSuffix(host, "."), ".localhost")
		if ipErr == nil && classify(ip) != classPublic && classify(ip) != classLoopback {
			t.Fatalf("%q accepted with internal address %s", raw, ip)
		}
		if strictErr != nil {
			return
		}
		if !strings.EqualFold(u.Scheme, "https") {
			t.Fatalf("%q accepted strictly without https", raw)
		}
		if loopName || (ipErr == nil && classify(ip) != classPublic) {
			t.Fatalf("%q accepted strictly with host %s", raw, host)
		}
	})
}
