// Package awsapitest holds shared/awsapi's clients to the SDK's in tests:
// a loopback AWS API that records what it is sent and answers as
// scripted, a signer that makes the SDK's signature reproducible, and the
// comparison of a request the bridge sent with the SDK's for the same call
// (method, path, body, headers, SigV4 Authorization). Only tests import
// it, so the SDK's service clients they compare with stay out of the
// functions.
package awsapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigningTime is the clock both clients sign with.
var SigningTime = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// Credentials are AWS's documentation example keys, with a session token
// so X-Amz-Security-Token is signed too.
var Credentials = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"}

// StaticCredentials provides Credentials.
func StaticCredentials() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return Credentials, nil })
}

// Request is one request as the server received it.
type Request struct {
	Method, URI, Host string
	Header            http.Header
	Body              []byte
}

// Answer is one scripted answer.
type Answer struct {
	Status int
	Header map[string]string
	Body   string
}

// Server is a loopback AWS API that records every request and answers
// with the scripted answers in turn (the last one repeats; none: a 200
// with {}).
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	got     []Request
	answers []Answer
}

// NewServer starts a Server, stopped when the test ends. fill, when set,
// completes each answer from its request (SQS's MD5 of the body sent).
func NewServer(t testing.TB, fill func(Request, Answer) Answer, answers ...Answer) *Server {
	t.Helper()
	s := &Server{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := Request{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), Body: body}
		s.mu.Lock()
		n := len(s.got)
		s.got = append(s.got, req)
		ans := Answer{Status: 200, Body: `{}`}
		if len(s.answers) > 0 {
			ans = s.answers[min(n, len(s.answers)-1)]
		}
		s.mu.Unlock()
		if fill != nil {
			ans = fill(req, ans)
		}
		for k, v := range ans.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(ans.Status)
		_, _ = io.WriteString(w, ans.Body)
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the requests so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// FixedTimeSigner signs the SDK's request at SigningTime, without the
// SDK's own bookkeeping headers (an invocation id and the attempt count
// that vary per call), so its Authorization can be compared byte for byte.
// It is the HTTPSignerV4 option of the SDK's clients.
type FixedTimeSigner struct{}

// SignHTTP implements the SDK's HTTPSignerV4.
func (FixedTimeSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, opts ...func(*v4.SignerOptions)) error {
	r.Header.Del("Amz-Sdk-Invocation-Id")
	r.Header.Del("Amz-Sdk-Request")
	return v4.NewSigner().SignHTTP(ctx, creds, r, payloadHash, service, region, SigningTime, opts...)
}

// Compare checks that ours, the bridge's request, is theirs, the SDK's for
// the same call: the same method, path and body, the same header names,
// the same non-empty values of the headers named (the signed ones among
// them), and an Authorization with the scope of service and region,
// signedHeaders and the signature the signer gives over what was received.
func Compare(t testing.TB, ours, theirs Request, service, region, signedHeaders string, headers ...string) {
	t.Helper()
	if ours.Method != http.MethodPost || ours.Method != theirs.Method {
		t.Errorf("method %s, SDK %s", ours.Method, theirs.Method)
	}
	if ours.URI != theirs.URI {
		t.Errorf("path %s, SDK %s", ours.URI, theirs.URI)
	}
	if !bytes.Equal(ours.Body, theirs.Body) {
		t.Errorf("body\n%q\nSDK\n%q", ours.Body, theirs.Body)
	}
	for _, h := range append([]string{"Content-Length", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"}, headers...) {
		if ours.Header.Get(h) == "" || ours.Header.Get(h) != theirs.Header.Get(h) {
			t.Errorf("%s: %q, SDK %q", h, ours.Header.Get(h), theirs.Header.Get(h))
		}
	}
	if a, b := slices.Sorted(maps.Keys(ours.Header)), slices.Sorted(maps.Keys(theirs.Header)); !slices.Equal(a, b) {
		t.Errorf("headers %v, SDK %v", a, b)
	}
	auth := ours.Header.Get("Authorization")
	for _, part := range []string{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + SigningTime.Format("20060102") + "/" + region + "/" + service + "/aws4_request,", "SignedHeaders=" + signedHeaders + ","} {
		if !strings.Contains(auth, part) {
			t.Errorf("Authorization %q lacks %q", auth, part)
		}
	}
	if want := resign(t, ours, service, region, signedHeaders); auth != want {
		t.Errorf("Authorization %q, the signer over the received request gives %q", auth, want)
	}
}

// resign signs the received request again, independently of the client:
// with the values received of the signed headers (the signer adds host and
// content-length itself).
func resign(t testing.TB, r Request, service, region, signedHeaders string) string {
	t.Helper()
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.URI, bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range strings.Split(signedHeaders, ";") {
		if h != "host" && h != "content-length" {
			req.Header.Set(h, r.Header.Get(h))
		}
	}
	sum := sha256.Sum256(r.Body)
	if err := v4.NewSigner().SignHTTP(context.Background(), Credentials, req, hex.EncodeToString(sum[:]), service, region, SigningTime); err != nil {
		t.Fatal(err)
	}
	return req.Header.Get("Authorization")
}

// Hanging is a server that reads a request and answers nothing until the
// client hangs up; arrived is closed when the first request has been read
// (the moment a test cancels the call).
func Hanging(t testing.TB) (url string, arrived <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices the client's hang-up once the body is read.
		_, _ = io.ReadAll(r.Body)
		once.Do(func() { close(ch) })
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}
