package egress

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/crmbridge/crmbridge/shared/retry"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		ip, class string
	}{
		{"93.184.216.34", classPublic},
		{"2606:2800:220:1:248:1893:25c8:1946", classPublic},
		{"8.8.8.8", classPublic},
		{"127.0.0.1", classLoopback},
		{"127.255.255.254", classLoopback},
		{"::1", classLoopback},
		{"::ffff:127.0.0.1", classLoopback},
		{"::ffff:7f00:1", classLoopback},
		{"169.254.169.254", classMetadata},
		{"::ffff:169.254.169.254", classMetadata},
		{"fd00:ec2::254", classMetadata},
		{"169.254.170.2", classMetadata},
		{"169.254.1.1", classLinkLocal},
		{"fe80::1", classLinkLocal},
		{"fe80::1%eth0", classLinkLocal},
		{"10.0.0.1", classPrivate},
		{"172.16.0.1", classPrivate},
		{"172.31.255.255", classPrivate},
		{"192.168.1.1", classPrivate},
		{"::ffff:10.1.2.3", classPrivate},
		{"fc00::1", classPrivate},
		{"fd12:3456::1", classPrivate},
		{"fec0::1", classPrivate},
		{"100.64.0.1", classCGNAT},
		{"100.127.255.255", classCGNAT},
		{"0.0.0.0", classUnspecified},
		{"0.1.2.3", classUnspecified},
		{"::", classUnspecified},
		{"224.0.0.1", classMulticast},
		{"ff02::1", classMulticast},
		{"255.255.255.255", classReserved},
		{"240.0.0.1", classReserved},
		{"192.0.2.1", classReserved},
		{"198.18.0.1", classReserved},
		{"::127.0.0.1", classReserved},
		{"2001:db8::1", classReserved},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", classReserved},
		// IPv6 forms that embed an internal IPv4 address.
		{"64:ff9b::a9fe:a9fe", classMetadata},
		{"64:ff9b::7f00:1", classLoopback},
		{"64:ff9b::808:808", classPublic},
		{"2002:7f00:1::1", classLoopback},
		{"2002:c0a8:101::1", classPrivate},
		{"2002:808:808::1", classPublic},
		{"172.32.0.1", classPublic},
		{"100.128.0.1", classPublic},
	}
	for _, tt := range tests {
		if got := classify(netip.MustParseAddr(tt.ip)); got != tt.class {
			t.Errorf("classify(%s) = %q, want %q", tt.ip, got, tt.class)
		}
	}
}

func TestCheckIPLocal(t *testing.T) {
	tests := []struct {
		ip            string
		strict, local bool // allowed?
	}{
		{"93.184.216.34", true, true},
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"169.254.169.254", false, false},
		{"fd00:ec2::254", false, false},
		{"10.0.0.1", false, false},
		{"0.0.0.0", false, false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := checkIP(ip, false) == nil; got != tt.strict {
			t.Errorf("strict %s allowed=%v, want %v", tt.ip, got, tt.strict)
		}
		if got := checkIP(ip, true) == nil; got != tt.local {
			t.Errorf("local %s allowed=%v, want %v", tt.ip, got, tt.local)
		}
		if err := checkIP(ip, false); err != nil && !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v is not ErrRefused", tt.ip, err)
		}
	}
}

// fakeResolver answers every name with its addresses and counts lookups.
type fakeResolver struct {
	addrs   map[string][]netip.Addr
	lookups atomic.Int32
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.lookups.Add(1)
	a, ok := f.addrs[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return a, nil
}

// TestDialGuard: names that pass the URL check but resolve to a refused
// address never get a connection, in strict mode (the deployed bridge) and,
// for metadata and private ranges, in local mode too.
func TestDialGuard(t *testing.T) {
	srv := NewTarget(t, nil)
	port := srv.Addr().Port()
	loop := netip.MustParseAddr("127.0.0.1")
	res := &fakeResolver{addrs: map[string][]netip.Addr{
		"rebind.example":  {loop},
		"mixed.example":   {netip.MustParseAddr("93.184.216.34"), loop},
		"mapped.example":  {netip.MustParseAddr("::ffff:127.0.0.1")},
		"meta.example":    {netip.MustParseAddr("169.254.169.254")},
		"private.example": {netip.MustParseAddr("10.1.2.3")},
	}}
	tests := []struct {
		name  string
		local bool
		host  string
	}{
		{"rebinding name, strict", false, "rebind.example"},
		{"one internal answer among public ones", false, "mixed.example"},
		{"IPv4-mapped loopback", false, "mapped.example"},
		{"metadata", false, "meta.example"},
		{"private", false, "private.example"},
		{"metadata, local", true, "meta.example"},
		{"private, local", true, "private.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Conns()
			c := New(Options{Local: tt.local, Resolver: res})
			// https passes the URL check for any public-looking name; the
			// guard must stop it before TLS.
			_, err := c.Do(context.Background(), &Request{Op: "probe", URL: "https://" + tt.host + ":" + itoa(port) + "/x"})
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Do = %v, want ErrRefused", err)
			}
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Do = %v, want a *RefusedError from the dialer", err)
			}
			if retry.IsRetryable(err) {
				t.Fatal("a refused destination is marked retryable")
			}
			if got := srv.Conns() - before; got != 0 {
				t.Fatalf("%d connections reached the refused address", got)
			}
		})
	}
}

// TestDialGuardLocalLoopback: in local mode a name resolving to loopback is
// dialled (the local stack's localhost URLs).
func TestDialGuardLocalLoopback(t *testing.T) {
	srv := NewTarget(t, nil)
	res := &fakeResolver{addrs: map[string][]netip.Addr{"localhost": {netip.MustParseAddr("127.0.0.1")}}}
	c := New(Options{Local: true, Resolver: res})
	u := "http://localhost:" + itoa(srv.Addr().Port()) + "/"
	if _, err := c.Do(context.Background(), &Request{Op: "probe", URL: u}); err != nil {
		t.Fatalf("Do: %v", err)
	}
	if srv.Conns() != 1 || res.lookups.Load() != 1 {
		t.Fatalf("conns %d lookups %d", srv.Conns(), res.lookups.Load())
	}
	// Strict: the same URL is refused before any lookup.
	_, err := New(Options{Resolver: res}).Do(context.Background(), &Request{Op: "probe", URL: u})
	if !errors.Is(err, ErrRefused) || srv.Conns() != 1 || res.lookups.Load() != 1 {
		t.Fatalf("strict: %v, conns %d, lookups %d", err, srv.Conns(), res.lookups.Load())
	}
}

// TestControlHook: the socket-level check refuses what the resolver step
// would have refused, so an address that changes between the two is still
// caught.
func TestControlHook(t *testing.T) {
	d := New(Options{}).newDialer(nil)
	for _, a := range []string{"127.0.0.1:80", "[::1]:443", "169.254.169.254:80", "[::ffff:10.0.0.1]:80", "bogus"} {
		if err := d.control("tcp", a, nil); !errors.Is(err, ErrRefused) {
			t.Errorf("control(%s) = %v, want ErrRefused", a, err)
		}
	}
	if err := d.control("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("control(public) = %v", err)
	}
	allowed := New(Options{Allow: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8080")}}).newDialer(nil)
	if err := allowed.control("tcp", "127.0.0.1:8080", nil); err != nil {
		t.Errorf("allow-listed: %v", err)
	}
	if err := allowed.control("tcp", "127.0.0.1:8081", nil); !errors.Is(err, ErrRefused) {
		t.Errorf("allow-list is exact, yet port 8081 passed: %v", err)
	}
}

func TestNoProxyFromEnvironment(t *testing.T) {
	proxy := NewTarget(t, nil)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("HTTP_PROXY", proxy.URL)
	srv := NewTarget(t, nil)
	c := New(Options{Allow: []netip.AddrPort{srv.Addr()}})
	if _, err := c.Do(context.Background(), &Request{Op: "probe", URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if proxy.Conns() != 0 || srv.Conns() != 1 {
		t.Fatalf("proxy got %d connections, direct %d", proxy.Conns(), srv.Conns())
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
