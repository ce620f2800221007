package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrRefused marks a destination the bridge never calls: an internal
// address, a URL the item check refuses, a redirect it does not follow.
// Retrying cannot help; the item must change.
var ErrRefused = errors.New("destination refused")

// RefusedError names the address the guard refused and why.
type RefusedError struct {
	Addr  string // the IP (or host name) refused
	Class string // loopback, private, link-local, metadata, ...
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("address %s refused (%s)", e.Addr, e.Class)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Address classes. The guard refuses every class but public; the local
// stack additionally allows loopback.
const (
	classPublic      = ""
	classLoopback    = "loopback"
	classMetadata    = "cloud metadata endpoint"
	classUnspecified = "unspecified"
	classLinkLocal   = "link-local"
	classPrivate     = "private"
	classCGNAT       = "carrier-grade NAT"
	classMulticast   = "multicast"
	classReserved    = "reserved or special-purpose"
)

// metadata are the instance metadata services (EC2 IMDS over IPv4 and
// IPv6, the ECS and EKS credential endpoints). They are link-local too; the
// separate class keeps them refused even where a future mode allowed
// link-local, and names them in errors.
var metadata = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("169.254.170.2"),
	netip.MustParseAddr("169.254.170.23"),
	netip.MustParseAddr("fd00:ec2::23"),
}

// special are ranges that are neither routable on the internet nor covered
// by netip's predicates.
var special = []struct {
	p     netip.Prefix
	class string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), classUnspecified}, // "this network": 0.x reaches the local host on Linux
	{netip.MustParsePrefix("100.64.0.0/10"), classCGNAT},
	{netip.MustParsePrefix("192.0.0.0/24"), classReserved},
	{netip.MustParsePrefix("192.0.2.0/24"), classReserved},
	{netip.MustParsePrefix("198.18.0.0/15"), classReserved},
	{netip.MustParsePrefix("198.51.100.0/24"), classReserved},
	{netip.MustParsePrefix("203.0.113.0/24"), classReserved},
	{netip.MustParsePrefix("240.0.0.0/4"), classReserved}, // includes 255.255.255.255
	{netip.MustParsePrefix("::/96"), classReserved},       // IPv4-compatible (deprecated)
	{netip.MustParsePrefix("100::/64"), classReserved},    // discard
	{netip.MustParsePrefix("2001::/32"), classReserved},   // Teredo tunnels to arbitrary IPv4
	{netip.MustParsePrefix("2001:db8::/32"), classReserved},
	{netip.MustParsePrefix("fec0::/10"), classPrivate}, // site-local (deprecated)
	{netip.MustParsePrefix("64:ff9b:1::/48"), classReserved},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// classify returns the class of ip; classPublic for an address the bridge
// may call. IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are
// judged by that address, so ::ffff:127.0.0.1 is loopback.
func classify(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	for _, m := range metadata {
		if ip == m {
			return classMetadata
		}
	}
	switch {
	case !ip.IsValid() || ip.IsUnspecified():
		return classUnspecified
	case ip.IsLoopback():
		return classLoopback
	case ip.IsLinkLocalUnicast():
		return classLinkLocal
	case ip.IsMulticast():
		return classMulticast
	case ip.IsPrivate():
		return classPrivate
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			if c := classify(netip.AddrFrom4([4]byte(b[12:16]))); c != classPublic {
				return c
			}
		case sixToFour.Contains(ip):
			if c := classify(netip.AddrFrom4([4]byte(b[2:6]))); c != classPublic {
				return c
			}
		}
	}
	for _, s := range special {
		if s.p.Contains(ip) {
			return s.class
		}
	}
	return classPublic
}

// checkIP refuses every non-public address; local allows loopback besides.
func checkIP(ip netip.Addr, local bool) error {
	c := classify(ip)
	if c == classPublic || (local && c == classLoopback) {
		return nil
	}
	return &RefusedError{Addr: ip.WithZone("").String(), Class: c}
}

// checkAddrPort is the guard: the test allow-list (exact IP and port), then
// the address rules.
func (c *Client) checkAddrPort(ap netip.AddrPort) error {
	if c.allow[netip.AddrPortFrom(ap.Addr().WithZone("").Unmap(), ap.Port())] {
		return nil
	}
	return checkIP(ap.Addr(), c.local)
}

// Resolver looks up host names; *net.Resolver is one. Tests pass a fake to
// play DNS rebinding.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// dialer resolves the name itself, refuses the whole name when any of its
// addresses is refused (a rebinding name mixes a public address with an
// internal one), and dials the checked IPs. The Control hook checks the
// address the socket actually connects to once more, so nothing that
// resolves differently between the check and the dial gets through.
type dialer struct {
	c        *Client
	resolver Resolver
	net      net.Dialer
}

func (c *Client) newDialer(r Resolver) *dialer {
	if r == nil {
		r = net.DefaultResolver
	}
	d := &dialer{c: c, resolver: r}
	d.net = net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second, Control: d.control}
	return d
}

func (d *dialer) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Addr: address, Class: "unparsable address"}
	}
	return d.c.checkAddrPort(ap)
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := net.LookupPort(network, portStr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = d.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("lookup %s: no addresses", host)
		}
	}
	for _, ip := range ips {
		if err := d.c.checkAddrPort(netip.AddrPortFrom(ip, uint16(port))); err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, ip := range ips {
		conn, err := d.net.DialContext(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}
