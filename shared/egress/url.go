package egress

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmbridge/crmbridge/shared/ascii"
)

// URLError says why an item URL is refused. Validators prefix the field:
// "callbackUrl: must be https://".
type URLError struct {
	Problem string
	refused bool // an internal destination, as opposed to a malformed URL
}

func (e *URLError) Error() string { return e.Problem }

// Is makes errors.Is(err, ErrRefused) true for internal destinations.
func (e *URLError) Is(target error) bool { return e.refused && target == ErrRefused }

// dnsLabel is one label of a host name: 1-63 of a-z, 0-9, _ and -, not
// starting or ending with - (was ^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$;
// shared/ascii says why not a regexp).
func dnsLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !(c >= 'a' && c <= 'z' || ascii.Digit(c) || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// MaxURL is the longest URL the bridge calls or accepts in an item.
const MaxURL = 2048

// CheckURL is the one check of every URL an item names (callback URLs, API
// base URLs, action URLs, key set URLs): absolute http(s) without user
// info; https, except plain http to a loopback host in the local stack; a
// host that is a DNS name or a canonical IP literal, never a literal
// internal address or a localhost name unless local (and then loopback
// only, never the metadata endpoints). Names are judged again by the
// address guard when they are dialled, with whatever they resolve to then.
func CheckURL(raw string, local bool) error {
	_, err := checkURL(raw, local, nil)
	return err
}

// CheckURL is CheckURL with this client's mode and test allow-list. A nil
// client checks strictly.
func (c *Client) CheckURL(raw string) error {
	if c == nil {
		return CheckURL(raw, false)
	}
	_, err := checkURL(raw, c.local, c.allow)
	return err
}

func checkURL(raw string, local bool, allow map[netip.AddrPort]bool) (*url.URL, error) {
	bad := func(format string, a ...any) (*url.URL, error) {
		return nil, &URLError{Problem: fmt.Sprintf(format, a...)}
	}
	if len(raw) > MaxURL {
		return bad("longer than %d characters", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return bad("must be an absolute https:// URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return bad("must be an absolute https:// URL")
	}
	if u.User != nil {
		return bad("must not carry a user or password")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil || pn == 0 {
		return bad("port %q is not a port number", port)
	}
	loopback := false
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return bad("host %s: zoned addresses are not allowed", host)
		}
		if allow[netip.AddrPortFrom(ip.Unmap(), uint16(pn))] {
			return u, nil
		}
		if err := checkIP(ip, local); err != nil {
			return nil, &URLError{Problem: "host " + host + ": " + refusal(err, local), refused: true}
		}
		loopback = ip.Unmap().IsLoopback()
	} else {
		name := strings.TrimSuffix(host, ".")
		labels := strings.Split(name, ".")
		for _, l := range labels {
			if !dnsLabel(l) {
				return bad("host %q is not a DNS name or an IP address", host)
			}
		}
		// 127.1, 0x7f.1 or 2130706433 are not DNS names, but some
		// resolvers read them as IPv4 addresses: refuse what looks numeric.
		last := labels[len(labels)-1]
		if _, err := strconv.ParseUint(strings.TrimPrefix(last, "0x"), 16, 64); err == nil && (strings.HasPrefix(last, "0x") || isDigits(last)) {
			return bad("host %q is not a DNS name or a canonical IP address", host)
		}
		if name == "localhost" || strings.HasSuffix(name, ".localhost") {
			if !local {
				return nil, &URLError{Problem: "host " + host + ": loopback names are refused outside the local stack", refused: true}
			}
			loopback = true
		}
	}
	if scheme == "http" && !(local && loopback) {
		if local {
			return bad("must be https:// (http:// only to a loopback host)")
		}
		return bad("must be https://")
	}
	return u, nil
}

func refusal(err error, local bool) string {
	msg := err.Error()
	if re, ok := err.(*RefusedError); ok {
		msg = re.Class + " addresses are refused"
		if re.Class == classLoopback && !local {
			msg += " outside the local stack"
		}
	}
	return msg
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
