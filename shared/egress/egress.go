// Package egress is the bridge's one way out: every outbound HTTP call (the
// AI agent's Chat and widget APIs, every platform adapter, generic and team
// callbacks, action call-outs, key sets) goes through a Client, so the rules
// below hold for all of them and cannot drift apart.
//
//   - Redirects are not followed: a 3xx is a non-2xx answer. A request may
//     opt in to follow one to the same origin (scheme, host and port) only,
//     re-checked like the first URL. Nothing, secret or not, is ever sent to
//     another origin, so no header or body needs marking as secret.
//   - An address guard runs at dial time on the resolved IPs: loopback,
//     link-local (with the cloud metadata endpoints), private, CGNAT,
//     unspecified, multicast and reserved ranges, and IPv6 forms that embed
//     one, are refused. The local stack allows loopback (Options.Local);
//     metadata is refused everywhere. No proxy is taken from the
//     environment: a proxy would dial on our behalf, out of the guard's sight.
//   - Answers are size-bounded; a non-2xx answer becomes a StatusError with
//     the status, Retry-After (read with the injected clock) and at most a
//     short vendor error code: never the body, which may echo personal data.
//   - Statuses worth retrying (RetryableStatus) and transport failures are
//     marked for the retry package; a refused destination is final.
//
// CheckURL is the matching check of URLs in items, applied when an item is
// written (crmbridge tenants validate|put) and when a function reads it.
package egress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/retry"
)

// Options configure a Client. The zero value is the deployed bridge's
// strict client.
type Options struct {
	// Local is the local stack's mode (and unit tests'): loopback
	// destinations, and plain http to them, are allowed. Every other refused
	// range stays refused, the metadata endpoints included. The functions
	// set it only from EGRESS_LOCAL=1 with STAGE=local, which template.yaml
	// never sets.
	Local bool
	// Allow is a test hook: exact IP:port destinations allowed in strict
	// mode, plain http included (a test's loopback server standing in for a
	// vendor while everything else is guarded as deployed).
	Allow []netip.AddrPort
	// Now is the clock Retry-After dates are read against; nil is time.Now.
	Now func() time.Time
	// MaxBody bounds an answer when the request sets no limit; default 1 MiB.
	MaxBody int64
	// Resolver resolves host names for the guard; nil is net.DefaultResolver.
	// Tests pass a fake to play DNS rebinding.
	Resolver Resolver
	// Wrap is a test hook that wraps the guarded transport (to inject
	// faults). Every dial still goes through the guard underneath.
	Wrap func(http.RoundTripper) http.RoundTripper
}

// DefaultMaxBody is the answer limit of a request that sets none.
const DefaultMaxBody = 1 << 20

// Client sends requests under the package's rules. It is safe for
// concurrent use and keeps connections alive across invocations.
type Client struct {
	hc      *http.Client
	local   bool
	allow   map[netip.AddrPort]bool
	now     func() time.Time
	maxBody int64
}

// New builds a Client.
func New(o Options) *Client {
	c := &Client{local: o.Local, allow: map[netip.AddrPort]bool{}, now: o.Now, maxBody: o.MaxBody}
	if c.now == nil {
		c.now = time.Now
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	for _, ap := range o.Allow {
		c.allow[netip.AddrPortFrom(ap.Addr().WithZone("").Unmap(), ap.Port())] = true
	}
	d := c.newDialer(o.Resolver)
	var rt http.RoundTripper = &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSHandshakeTimeout:    3 * time.Second,
		ResponseHeaderTimeout:  10 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	if o.Wrap != nil {
		rt = o.Wrap(rt)
	}
	c.hc = &http.Client{Transport: rt, Timeout: 25 * time.Second, CheckRedirect: c.checkRedirect}
	return c
}

// Local reports whether the client runs in the local stack's mode.
func (c *Client) Local() bool { return c != nil && c.local }

// Redirect is a request's redirect policy.
type Redirect uint8

const (
	// NoRedirect (the default) returns a 3xx as a StatusError.
	NoRedirect Redirect = iota
	// SameOrigin follows up to 3 redirects that stay on the request's
	// scheme, host and port and pass CheckURL; any other is a StatusError.
	SameOrigin
)

const maxRedirects = 3

// Request is one outbound call.
type Request struct {
	// Op names the call in errors and logs, e.g. "sunshine PostMessage".
	Op     string
	Method string // default GET
	URL    string
	Header http.Header
	Body   []byte
	// Timeout bounds this attempt, answer included; 0 leaves it to ctx.
	Timeout time.Duration
	// MaxBody bounds the answer; 0 is the client's default.
	MaxBody int64
	// Redirect is NoRedirect unless the vendor is known to need one.
	Redirect Redirect
	// Code extracts the vendor's error code from the start of a non-2xx
	// answer (at most 4 KiB); SafeCode filters what it returns.
	Code func(body []byte) string
}

// Response is a 2xx answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

type stateKey struct{}

// userAgent is the requests' User-Agent, shared (net/http only reads it).
var userAgent = []string{"crmbridge"}

// reqState carries a request's redirect policy to CheckRedirect and brings
// back why a redirect was not followed.
type reqState struct {
	redirect Redirect
	from     *url.URL // the request's own URL, whose origin a redirect must keep
	refused  string
}

// Do sends one attempt. A 2xx is a Response; anything else is an error:
// *StatusError for an answer (marked retryable under RetryableStatus, with
// its Retry-After), *TransportError for no answer (retryable unless the
// guard refused the destination), ErrTooLarge for an oversized answer, a
// *URLError for a URL CheckURL refuses.
func (c *Client) Do(ctx context.Context, r *Request) (*Response, error) {
	op := r.Op
	if op == "" {
		op = "outbound call"
	}
	if c == nil {
		return nil, fmt.Errorf("%s: no outbound HTTP client configured", op)
	}
	u, err := checkURL(r.URL, c.local, c.allow)
	if err != nil {
		return nil, fmt.Errorf("%s: url: %w", op, err)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	st := &reqState{redirect: r.Redirect, from: u}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, stateKey{}, st), method, r.URL, body)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid method %q", op, method)
	}
	// The caller's values are shared, not copied: nothing changes them
	// while the request is sent.
	h := make(http.Header, len(r.Header)+1)
	for k, vs := range r.Header {
		k = textproto.CanonicalMIMEHeaderKey(k)
		if prev, ok := h[k]; ok { // two spellings of one name
			h[k] = append(prev[:len(prev):len(prev)], vs...)
		} else {
			h[k] = vs[:len(vs):len(vs)]
		}
	}
	req.Header = h
	if req.Header.Get("User-Agent") == "" {
		req.Header["User-Agent"] = userAgent
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.statusError(op, r, resp, st)
	}
	limit := r.MaxBody
	if limit <= 0 {
		limit = c.maxBody
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, transportError(op, fmt.Errorf("read answer: %w", err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: answer over %d bytes: %w", op, limit, ErrTooLarge)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func (c *Client) statusError(op string, r *Request, resp *http.Response, st *reqState) error {
	se := &StatusError{Op: op, Status: resp.StatusCode, RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), c.now())}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		se.Reason = st.refused
		if se.Reason == "" {
			se.Reason = "redirect not followed"
		}
	}
	if r.Code != nil {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		se.Code = SafeCode(r.Code(head))
	}
	// Let the connection be reused; a longer answer costs a new one.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if RetryableStatus(resp.StatusCode) {
		return retry.Retryable(se, se.RetryAfter)
	}
	return se
}

// transportError drops the URL (whose query may carry a token) and marks
// the failure retryable unless the guard refused the destination.
func transportError(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	te := &TransportError{Op: op, Err: err}
	if errors.Is(err, ErrRefused) {
		return te
	}
	return retry.Retryable(te, 0)
}

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	st, _ := req.Context().Value(stateKey{}).(*reqState)
	switch {
	case st == nil:
		return http.ErrUseLastResponse
	case st.redirect != SameOrigin:
		st.refused = "redirect not followed"
	case len(via) > maxRedirects:
		st.refused = "too many redirects"
	case origin(req.URL) != origin(st.from):
		st.refused = "redirect to another origin not followed"
	default:
		if _, err := checkURL(req.URL.String(), c.local, c.allow); err != nil {
			st.refused = "redirect target refused: " + err.Error()
		} else {
			return nil
		}
	}
	return http.ErrUseLastResponse
}

// origin is scheme://host:port with the default port filled in.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
