package egress

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url           string
		strict, local string // "" = accepted, else a fragment of the problem
		refused       bool   // errors.Is(err, ErrRefused) in strict mode
	}{
		{url: "https://api.example.com/v1", strict: "", local: ""},
		{url: "https://API.Example.COM:8443/x?y=1#z", strict: "", local: ""},
		{url: "https://93.184.216.34/", strict: "", local: ""},
		{url: "https://[2606:2800:220:1:248:1893:25c8:1946]/", strict: "", local: ""},
		{url: "https://example.com./", strict: "", local: ""},
		{url: "https://xn--bcher-kva.example/", strict: "", local: ""},
		{url: "http://api.example.com/", strict: "must be https://", local: "http:// only to a loopback host"},
		{url: "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", strict: "loopback addresses are refused outside the local stack", local: "", refused: true},
		{url: "https://127.0.0.1/", strict: "loopback", local: "", refused: true},
		{url: "http://localhost:3000/", strict: "loopback names are refused", local: "", refused: true},
		{url: "http://LOCALHOST./", strict: "loopback names", local: "", refused: true},
		{url: "https://app.localhost/", strict: "loopback names", local: "", refused: true},
		{url: "http://[::1]:3000/", strict: "loopback", local: "", refused: true},
		{url: "http://[::ffff:127.0.0.1]/", strict: "loopback", local: "", refused: true},
		{url: "http://169.254.169.254/latest/meta-data/", strict: "metadata", local: "metadata", refused: true},
		{url: "https://[fd00:ec2::254]/", strict: "metadata", local: "metadata", refused: true},
		{url: "https://[::ffff:a9fe:a9fe]/", strict: "metadata", local: "metadata", refused: true},
		{url: "https://10.0.0.1/", strict: "private", local: "private", refused: true},
		{url: "https://192.168.0.10/", strict: "private", local: "private", refused: true},
		{url: "https://172.20.1.1/", strict: "private", local: "private", refused: true},
		{url: "https://[fc00::1]/", strict: "private", local: "private", refused: true},
		{url: "https://100.64.1.1/", strict: "carrier-grade NAT", local: "carrier-grade NAT", refused: true},
		{url: "https://0.0.0.0/", strict: "unspecified", local: "unspecified", refused: true},
		{url: "https://[::]/", strict: "unspecified", local: "unspecified", refused: true},
		{url: "https://224.0.0.1/", strict: "multicast", local: "multicast", refused: true},
		{url: "https://[fe80::1%25eth0]/", strict: "zoned", local: "zoned"},
		// Forms some resolvers read as IPv4 addresses.
		{url: "https://2130706433/", strict: "not a DNS name or a canonical IP", local: "not a DNS name or a canonical IP"},
		{url: "https://0x7f000001/", strict: "not a DNS name", local: "not a DNS name"},
		{url: "https://127.1/", strict: "not a DNS name", local: "not a DNS name"},
		{url: "https://0177.0.0.1/", strict: "not a DNS name", local: "not a DNS name"},
		{url: "https://127.0.0.1./", strict: "not a DNS name", local: "not a DNS name"},
		// The host is example.com, not the loopback address it starts with.
		{url: "http://127.0.0.1:@example.com/", strict: "user or password", local: "user or password"},
		{url: "https://user:pw@example.com/", strict: "user or password", local: "user or password"},
		{url: "ftp://example.com/", strict: "absolute https://", local: "absolute https://"},
		{url: "//example.com/", strict: "absolute https://", local: "absolute https://"},
		{url: "/relative", strict: "absolute https://", local: "absolute https://"},
		{url: "https:opaque", strict: "absolute https://", local: "absolute https://"},
		{url: "", strict: "absolute https://", local: "absolute https://"},
		{url: "https://exa mple.com/", strict: "absolute https://", local: "absolute https://"},
		{url: "https://exa_mple.com/", strict: "", local: ""},
		{url: "https://-bad.example/", strict: "not a DNS name", local: "not a DNS name"},
		{url: "https://example.com:0/", strict: "port", local: "port"},
		{url: "https://example.com:99999/", strict: "port", local: "port"},
		{url: "https://" + strings.Repeat("a", 2050) + ".com/", strict: "longer than 2048", local: "longer than 2048"},
	}
	for _, tt := range tests {
		for _, mode := range []struct {
			local bool
			want  string
		}{{false, tt.strict}, {true, tt.local}} {
			err := CheckURL(tt.url, mode.local)
			switch {
			case mode.want == "" && err != nil:
				t.Errorf("CheckURL(%q, local=%v) = %v, want accepted", tt.url, mode.local, err)
			case mode.want != "" && (err == nil || !strings.Contains(err.Error(), mode.want)):
				t.Errorf("CheckURL(%q, local=%v) = %v, want %q", tt.url, mode.local, err, mode.want)
			}
		}
		if err := CheckURL(tt.url, false); err != nil && errors.Is(err, ErrRefused) != tt.refused {
			t.Errorf("CheckURL(%q): ErrRefused=%v, want %v", tt.url, errors.Is(err, ErrRefused), tt.refused)
		}
	}
}

func TestCheckURLAllowList(t *testing.T) {
	c := New(Options{Allow: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8080")}})
	if err := c.CheckURL("http://127.0.0.1:8080/cb"); err != nil {
		t.Fatalf("allow-listed: %v", err)
	}
	for _, u := range []string{"http://127.0.0.1:8081/", "http://127.0.0.1/", "http://localhost:8080/", "https://[::1]:8080/"} {
		if err := c.CheckURL(u); err == nil {
			t.Errorf("%s passed; the allow-list is exact", u)
		}
	}
	var nilClient *Client
	if err := nilClient.CheckURL("http://127.0.0.1:8080/"); err == nil {
		t.Error("a nil client must check strictly")
	}
	if nilClient.Local() || !New(Options{Local: true}).Local() {
		t.Error("Local()")
	}
}
