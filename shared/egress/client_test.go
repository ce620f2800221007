package egress

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/retry"
)

const secret = "s3cr3t-Zq81"

// secretRequest carries the secret in Authorization, a custom header and
// the body.
func secretRequest(url string, redirect Redirect) *Request {
	return &Request{
		Op: "test call", Method: http.MethodPost, URL: url, Redirect: redirect,
		Header: http.Header{"Authorization": {"Bearer " + secret}, "X-Api-Key": {secret}, "Content-Type": {"application/json"}},
		Body:   []byte(`{"k":"` + secret + `"}`),
	}
}

func TestRedirectsRefusedByDefault(t *testing.T) {
	attacker := NewTarget(t, nil)
	for _, code := range []int{301, 302, 303, 307, 308} {
		origin := NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, attacker.URL+"/steal", code)
		})
		c := New(Options{Allow: []netip.AddrPort{origin.Addr(), attacker.Addr()}})
		_, err := c.Do(context.Background(), secretRequest(origin.URL+"/a", NoRedirect))
		var se *StatusError
		if !errors.As(err, &se) || se.Status != code || se.Reason != "redirect not followed" {
			t.Fatalf("%d: Do = %v, want a StatusError for the redirect", code, err)
		}
		if retry.IsRetryable(err) {
			t.Fatalf("%d: a redirect is marked retryable", code)
		}
		if origin.Requests() != 1 {
			t.Fatalf("%d: origin got %d requests", code, origin.Requests())
		}
	}
	if attacker.Requests() != 0 || attacker.Copies(secret) != 0 {
		t.Fatalf("the redirect target got %d requests, %d copies of the secret", attacker.Requests(), attacker.Copies(secret))
	}
}

func TestRedirectSameOrigin(t *testing.T) {
	attacker := NewTarget(t, nil)
	var target string // set per case
	origin := NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/final":
			_, _ = io.WriteString(w, `{"ok":true}`)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusTemporaryRedirect)
		}
	})
	originPort := origin.Addr().Port()
	c := New(Options{Allow: []netip.AddrPort{origin.Addr(), attacker.Addr()}})

	t.Run("same origin is followed, body and all", func(t *testing.T) {
		target = "/final"
		before := origin.Requests()
		resp, err := c.Do(context.Background(), secretRequest(origin.URL+"/a", SameOrigin))
		if err != nil || string(resp.Body) != `{"ok":true}` {
			t.Fatalf("Do = %+v, %v", resp, err)
		}
		if got := origin.Requests() - before; got != 2 {
			t.Fatalf("origin got %d requests, want 2", got)
		}
	})
	refused := []struct{ name, location, reason string }{
		{"another port is another origin", attacker.URL + "/steal", "another origin"},
		{"another scheme is another origin", "https://" + origin.Listener.Addr().String() + "/final", "another origin"},
		{"a loopback name the validator refuses", "http://localhost:" + itoa(originPort) + "/final", "another origin"},
		{"the metadata endpoint", "http://169.254.169.254/latest/meta-data/", "another origin"},
		{"a private address", "http://10.0.0.1:" + itoa(originPort) + "/", "another origin"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			target = tt.location
			_, err := c.Do(context.Background(), secretRequest(origin.URL+"/a", SameOrigin))
			var se *StatusError
			if !errors.As(err, &se) || se.Status != http.StatusTemporaryRedirect || !strings.Contains(se.Reason, tt.reason) {
				t.Fatalf("Do = %v, want the 307 with %q", err, tt.reason)
			}
		})
	}
	t.Run("a redirect loop ends", func(t *testing.T) {
		_, err := c.Do(context.Background(), &Request{Op: "loop", URL: origin.URL + "/loop", Redirect: SameOrigin})
		var se *StatusError
		if !errors.As(err, &se) || se.Reason != "too many redirects" {
			t.Fatalf("Do = %v", err)
		}
	})
	if attacker.Requests() != 0 || attacker.Copies(secret) != 0 {
		t.Fatalf("another origin got %d requests, %d copies of the secret", attacker.Requests(), attacker.Copies(secret))
	}
}

// TestRedirectTargetRechecked: a same-origin redirect is checked again like
// the first URL, so a local-mode origin cannot walk a strict client
// anywhere (and the check runs on every hop).
func TestRedirectTargetRechecked(t *testing.T) {
	origin := NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			http.Redirect(w, r, "/b", http.StatusFound)
		}
	})
	// Allowed for the first request only through the allow-list of a
	// second client: the redirect's own check must use the same rules.
	c := New(Options{Allow: []netip.AddrPort{origin.Addr()}})
	if _, err := c.Do(context.Background(), &Request{Op: "hop", URL: origin.URL + "/a", Redirect: SameOrigin}); err != nil {
		t.Fatalf("allowed hop: %v", err)
	}
	from, _ := url.Parse("http://127.0.0.1:" + itoa(origin.Addr().Port()) + "/a")
	st := &reqState{redirect: SameOrigin, from: from}
	req, _ := http.NewRequestWithContext(context.WithValue(context.Background(), stateKey{}, st), http.MethodGet, origin.URL+"/b", nil)
	strict := New(Options{})
	if err := strict.checkRedirect(req, []*http.Request{req}); err != http.ErrUseLastResponse || !strings.Contains(st.refused, "redirect target refused") {
		t.Fatalf("checkRedirect = %v, %q", err, st.refused)
	}
}

func TestAnswerLimits(t *testing.T) {
	body := strings.Repeat("x", 100)
	srv := NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
		n := map[string]int{"/99": 99, "/100": 100, "/101": 101, "/big": DefaultMaxBody + 1}[r.URL.Path]
		_, _ = io.WriteString(w, strings.Repeat(body, n/100+1)[:n])
	})
	c := New(Options{Allow: []netip.AddrPort{srv.Addr()}})
	tests := []struct {
		path  string
		limit int64
		ok    bool
	}{
		{"/99", 100, true}, {"/100", 100, true}, {"/101", 100, false},
		{"/big", 0, false}, {"/101", 0, true},
	}
	for _, tt := range tests {
		resp, err := c.Do(context.Background(), &Request{Op: "size", URL: srv.URL + tt.path, MaxBody: tt.limit})
		if tt.ok && (err != nil || int64(len(resp.Body)) > max(tt.limit, DefaultMaxBody)) {
			t.Errorf("%s limit %d: %v", tt.path, tt.limit, err)
		}
		if !tt.ok && (!errors.Is(err, ErrTooLarge) || retry.IsRetryable(err)) {
			t.Errorf("%s limit %d: %v, want ErrTooLarge, not retryable", tt.path, tt.limit, err)
		}
	}
	small := New(Options{MaxBody: 50, Allow: []netip.AddrPort{srv.Addr()}})
	if _, err := small.Do(context.Background(), &Request{Op: "size", URL: srv.URL + "/99"}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("client default limit: %v", err)
	}
}

func TestStatusErrors(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pii := `{"errors":[{"code":"%s","title":"user ada.lovelace@example.com said: my card is 4111"}]}`
	srv := NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if ra := q.Get("ra"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(atoi(q.Get("status")))
		_, _ = io.WriteString(w, strings.Replace(pii, "%s", q.Get("code"), 1))
	})
	code := func(b []byte) string {
		var e struct {
			Errors []struct{ Code string } `json:"errors"`
		}
		if json.Unmarshal(b, &e) != nil || len(e.Errors) == 0 {
			return ""
		}
		return e.Errors[0].Code
	}
	c := New(Options{Now: func() time.Time { return now }, Allow: []netip.AddrPort{srv.Addr()}})
	tests := []struct {
		query     string
		status    int
		retryable bool
		after     time.Duration
		code      string
	}{
		{"status=429&ra=7", 429, true, 7 * time.Second, "too_many_requests"},
		{"status=503&ra=Wed,+25+Nov+2026+10:00:09+GMT", 503, true, 9 * time.Second, "too_many_requests"},
		{"status=503&ra=Wed,+25+Nov+2026+09:00:00+GMT", 503, true, 0, "too_many_requests"},
		{"status=500", 500, true, 0, "too_many_requests"},
		{"status=408", 408, true, 0, "too_many_requests"},
		{"status=501", 501, false, 0, "too_many_requests"},
		{"status=404", 404, false, 0, "conversation_not_found"},
		{"status=400", 400, false, 0, "ada@example.com"},
		{"status=400", 400, false, 0, "has space"},
	}
	for _, tt := range tests {
		wantCode := tt.code
		if strings.ContainsAny(tt.code, "@ ") {
			wantCode = ""
		}
		_, err := c.Do(context.Background(), &Request{Op: "vendor call", URL: srv.URL + "/?" + tt.query + "&code=" + strings.ReplaceAll(tt.code, " ", "+"), Code: code})
		var se *StatusError
		if !errors.As(err, &se) {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if se.Status != tt.status || se.RetryAfter != tt.after || se.Code != wantCode || se.Op != "vendor call" || retry.IsRetryable(err) != tt.retryable {
			t.Errorf("%s: %+v retryable=%v", tt.query, se, retry.IsRetryable(err))
		}
		for _, s := range []string{"lovelace", "4111", "said", "@"} {
			if strings.Contains(err.Error(), s) || strings.Contains(Reason(err), s) {
				t.Errorf("%s: the error carries the answer body: %q", tt.query, err)
			}
		}
	}
}

// TestRetryAfterUsesInjectedClock: the same HTTP date gives different waits
// under different clocks, with no wall-clock reading.
func TestRetryAfterUsesInjectedClock(t *testing.T) {
	srv := NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "Wed, 25 Nov 2026 10:00:30 GMT")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	for _, tt := range []struct {
		now  time.Time
		want time.Duration
	}{
		{time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), 30 * time.Second},
		{time.Date(2026, 11, 25, 10, 0, 20, 0, time.UTC), 10 * time.Second},
		{time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC), 0},
	} {
		c := New(Options{Now: func() time.Time { return tt.now }, Allow: []netip.AddrPort{srv.Addr()}})
		_, err := c.Do(context.Background(), &Request{Op: "x", URL: srv.URL})
		var se *StatusError
		if !errors.As(err, &se) || se.RetryAfter != tt.want {
			t.Errorf("now %s: %v, want retry after %s", tt.now, err, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"5", 5 * time.Second}, {" 2 ", 2 * time.Second}, {"0", 0}, {"-3", 0}, {"+3", 0}, {"abc", 0}, {"1.5", 0},
		{"60", time.Minute}, {"61", MaxRetryAfter}, {"999999", MaxRetryAfter}, {"999999999999999999999999", MaxRetryAfter},
		{"Wed, 25 Nov 2026 10:00:09 GMT", 9 * time.Second},
		{"Wednesday, 25-Nov-26 10:00:09 GMT", 9 * time.Second}, // RFC 850
		{"Wed Nov 25 10:00:09 2026", 9 * time.Second},          // asctime
		{"Wed, 25 Nov 2026 09:00:00 GMT", 0}, {"Wed, 25 Nov 2026 12:00:00 GMT", MaxRetryAfter},
		{strings.Repeat("9", 100), 0},
	}
	for _, tc := range tests {
		if got := RetryAfter(tc.in, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{
		200: false, 302: false, 400: false, 401: false, 403: false, 404: false, 409: false, 422: false,
		408: true, 429: true, 500: true, 502: true, 503: true, 504: true, 599: true,
		501: false, 505: false, 600: false,
	} {
		if got := RetryableStatus(status); got != want {
			t.Errorf("RetryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestTransportErrors(t *testing.T) {
	srv := NewTarget(t, nil)
	a := srv.Addr()
	srv.Close() // nothing listens there now
	c := New(Options{Allow: []netip.AddrPort{a}})
	_, err := c.Do(context.Background(), &Request{Op: "down", URL: "http://" + a.String() + "/x?token=" + secret})
	var te *TransportError
	if !errors.As(err, &te) || te.Op != "down" || !retry.IsRetryable(err) {
		t.Fatalf("Do = %v, want a retryable TransportError", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "/x") {
		t.Fatalf("the error carries the URL: %v", err)
	}
	// The URL check's refusal names no URL either and is final.
	_, err = c.Do(context.Background(), &Request{Op: "bad", URL: "http://10.0.0.1/x?token=" + secret})
	if !errors.Is(err, ErrRefused) || retry.IsRetryable(err) || strings.Contains(err.Error(), secret) {
		t.Fatalf("Do = %v", err)
	}
	var nilClient *Client
	if _, err := nilClient.Do(context.Background(), &Request{Op: "nil", URL: "https://example.com"}); err == nil {
		t.Fatal("a nil client sent a request")
	}
}

func TestRequestShape(t *testing.T) {
	var got http.Header
	var method, body string
	srv := NewTarget(t, func(w http.ResponseWriter, r *http.Request) {
		got, method = r.Header.Clone(), r.Method
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("X-Answer", "1")
		w.WriteHeader(http.StatusCreated)
	})
	c := New(Options{Allow: []netip.AddrPort{srv.Addr()}})
	resp, err := c.Do(context.Background(), &Request{Op: "shape", Method: http.MethodPut, URL: srv.URL, Header: http.Header{"A": {"1", "2"}}, Body: []byte("hi")})
	if err != nil || resp.Status != 201 || resp.Header.Get("X-Answer") != "1" {
		t.Fatalf("Do = %+v, %v", resp, err)
	}
	if method != "PUT" || body != "hi" || got.Get("User-Agent") != "crmbridge" || len(got["A"]) != 2 {
		t.Fatalf("sent %s %q %v", method, body, got)
	}
	if _, err := c.Do(context.Background(), &Request{Op: "shape", Method: "BAD METHOD", URL: srv.URL}); err == nil {
		t.Fatal("bad method accepted")
	}
}

func TestWrapKeepsGuard(t *testing.T) {
	var wrapped int
	c := New(Options{Wrap: func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) { wrapped++; return rt.RoundTrip(r) })
	}, Resolver: &fakeResolver{addrs: map[string][]netip.Addr{"in.example": {netip.MustParseAddr("10.0.0.1")}}}})
	_, err := c.Do(context.Background(), &Request{Op: "w", URL: "https://in.example/"})
	if wrapped != 1 || !errors.Is(err, ErrRefused) {
		t.Fatalf("wrapped %d, %v", wrapped, err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestReason(t *testing.T) {
	se := &StatusError{Op: "sunshine PostMessage", Status: 404, Code: "conversation_not_found"}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{se, "sunshine PostMessage: HTTP 404 (code conversation_not_found)"},
		{retry.Retryable(&StatusError{Op: "x", Status: 503, RetryAfter: 2 * time.Second}, 0), "x: HTTP 503 (retry after 2s)"},
		{errors.New("deliver: " + se.Error()), "deliver: sunshine PostMessage: HTTP 404 (code conversation_not_found)"},
		{&TransportError{Op: "y", Err: errors.New("connection refused")}, "y: connection refused"},
		{errors.New("line\r\nbreak"), "line  break"},
		{errors.New(strings.Repeat("é", 400)), strings.Repeat("é", 150) + "…"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if (&StatusError{Op: "o", Status: 200, Reason: "the answer has no bearer"}).Error() != "o: HTTP 200: the answer has no bearer" {
		t.Error("Reason text")
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}
