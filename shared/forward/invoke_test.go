package forward

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/crmbridge/crmbridge/shared/awsapi"
	"github.com/crmbridge/crmbridge/shared/retry"
)

var (
	signingTime = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	testCreds   = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"}
)

func staticCreds() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return testCreds, nil })
}

// captured is one request as the server received it.
type captured struct {
	method, uri, host string
	header            http.Header
	body              []byte
}

// answer is one scripted Lambda API answer.
type answer struct {
	status int
	header map[string]string
	body   string
}

// lambdaAPI is a loopback server that records every request and answers
// with the scripted answers in turn (the last one repeats).
type lambdaAPI struct {
	*httptest.Server
	mu      sync.Mutex
	got     []captured
	answers []answer
}

func newLambdaAPI(t *testing.T, answers ...answer) *lambdaAPI {
	t.Helper()
	a := &lambdaAPI{answers: answers}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		n := len(a.got)
		a.got = append(a.got, captured{method: r.Method, uri: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: body})
		ans := answer{status: 200, body: `{"statusCode":200}`}
		if len(a.answers) > 0 {
			ans = a.answers[min(n, len(a.answers)-1)]
		}
		a.mu.Unlock()
		for k, v := range ans.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(ans.status)
		_, _ = io.WriteString(w, ans.body)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *lambdaAPI) requests() []captured {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.got)
}

// testClient is a Client at url with the test credentials, the fixed
// signing time and retries that do not wait.
func testClient(url string, sleeps *int) *Client {
	return &Client{awsapi.Client{
		Service: "lambda", Endpoint: url, Region: "eu-west-1", Credentials: staticCreds(), HTTP: awsapi.HTTPClient(),
		Now: func() time.Time { return signingTime },
		Retry: retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: func(ctx context.Context, _ time.Duration) error {
			if sleeps != nil {
				*sleeps++
			}
			return ctx.Err()
		}},
	}}
}

// fixedTimeSigner signs the SDK's request at signingTime, without the
// SDK's own bookkeeping headers (an invocation id and the attempt count
// that vary per call), so its Authorization can be compared byte for byte.
type fixedTimeSigner struct{}

func (fixedTimeSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, opts ...func(*v4.SignerOptions)) error {
	r.Header.Del("Amz-Sdk-Invocation-Id")
	r.Header.Del("Amz-Sdk-Request")
	return v4.NewSigner().SignHTTP(ctx, creds, r, payloadHash, service, region, signingTime, opts...)
}

// TestInvokeMatchesTheSDK sends the same invoke through Client and
// through the SDK's lambda.Client and compares what the server got: the
// same method, escaped path and body, and the same SigV4 Authorization
// (credential scope, signed headers and signature), which our own signer
// run over the received request reproduces.
func TestInvokeMatchesTheSDK(t *testing.T) {
	payload := []byte(`{"rawPath":"/webhooks","body":"{\"botId\":\"b\"}","headers":{"authorization":"Bearer s"}}`)
	for _, tc := range []struct{ function, path string }{
		{"stack-esc", "/2015-03-31/functions/stack-esc/invocations"},
		{"stack-esc:live", "/2015-03-31/functions/stack-esc%3Alive/invocations"},
		{"fn:$LATEST", "/2015-03-31/functions/fn%3A%24LATEST/invocations"},
		{"arn:aws:lambda:eu-west-1:123456789012:function:stack-act:live", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Astack-act%3Alive/invocations"},
	} {
		t.Run(tc.function, func(t *testing.T) {
			api := newLambdaAPI(t, answer{status: 200, body: `{"statusCode":202}`})
			out, err := testClient(api.URL, nil).Invoke(context.Background(), tc.function, payload)
			if err != nil || string(out) != `{"statusCode":202}` {
				t.Fatalf("Client.Invoke = %s, %v", out, err)
			}
			sdk := lambda.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String(api.URL)},
				func(o *lambda.Options) { o.HTTPSignerV4 = fixedTimeSigner{} })
			sout, err := sdk.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: payload})
			if err != nil || string(sout.Payload) != `{"statusCode":202}` {
				t.Fatalf("lambda.Client.Invoke = %+v, %v", sout, err)
			}
			got := api.requests()
			if len(got) != 2 {
				t.Fatalf("%d requests, want 2", len(got))
			}
			ours, theirs := got[0], got[1]
			if ours.method != http.MethodPost || ours.method != theirs.method {
				t.Errorf("method %s, SDK %s", ours.method, theirs.method)
			}
			if ours.uri != tc.path || ours.uri != theirs.uri {
				t.Errorf("path %s, SDK %s, want %s", ours.uri, theirs.uri, tc.path)
			}
			if !bytes.Equal(ours.body, payload) || !bytes.Equal(ours.body, theirs.body) {
				t.Errorf("body %q, SDK %q", ours.body, theirs.body)
			}
			for _, h := range []string{"Content-Type", "Content-Length", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"} {
				if ours.header.Get(h) == "" || ours.header.Get(h) != theirs.header.Get(h) {
					t.Errorf("%s: %q, SDK %q", h, ours.header.Get(h), theirs.header.Get(h))
				}
			}
			if a, b := slices.Sorted(maps.Keys(ours.header)), slices.Sorted(maps.Keys(theirs.header)); !slices.Equal(a, b) {
				t.Errorf("headers %v, SDK %v", a, b)
			}
			auth := ours.header.Get("Authorization")
			for _, part := range []string{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260314/eu-west-1/lambda/aws4_request,", "SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token,"} {
				if !strings.Contains(auth, part) {
					t.Errorf("Authorization %q lacks %q", auth, part)
				}
			}
			if want := resign(t, ours); auth != want {
				t.Errorf("Authorization %q, the signer over the received request gives %q", auth, want)
			}
		})
	}
}

// resign signs the received request again, independently of Client.
func resign(t *testing.T, c captured) string {
	t.Helper()
	r, err := http.NewRequest(c.method, "http://"+c.host+c.uri, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Content-Type", "X-Amz-Date", "X-Amz-Security-Token"} {
		r.Header.Set(h, c.header.Get(h))
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, r, v4Hash(c.body), "lambda", "eu-west-1", signingTime); err != nil {
		t.Fatal(err)
	}
	return r.Header.Get("Authorization")
}

func v4Hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestInvokeAnswers(t *testing.T) {
	const secret = "visitor-text-Zq81"
	ok := answer{status: 200, body: `{"statusCode":200,"body":"fine"}`}
	for _, tc := range []struct {
		name     string
		answers  []answer
		want     string // the payload, if no error
		wantErr  error  // matched by errors.As into a copy of its type, then compared
		requests int
	}{
		{"the function's answer", []answer{ok}, ok.body, nil, 1},
		{"the function failed", []answer{{200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, `{"errorMessage":"` + secret + `","errorType":"x"}`}},
			"", &FunctionError{Kind: "Unhandled"}, 1},
		{"not found, code in the header", []answer{{404, map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/"}, `{"Type":"User","message":"Function not found: ` + secret + `"}`}},
			"", &awsapi.APIError{Op: "lambda Invoke", Status: 404, Code: "ResourceNotFoundException"}, 1},
		{"a 4xx with __type", []answer{{400, nil, `{"__type":"com.amazonaws.lambda#InvalidRequestContentException","Type":"User","message":"Could not parse ` + secret + `"}`}},
			"", &awsapi.APIError{Op: "lambda Invoke", Status: 400, Code: "InvalidRequestContentException"}, 1},
		{"a throttle, then the answer", []answer{{429, map[string]string{"X-Amzn-ErrorType": "TooManyRequestsException"}, `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`}, ok},
			ok.body, nil, 2},
		{"5xx three times", []answer{{500, map[string]string{"X-Amzn-ErrorType": "ServiceException"}, `{"Type":"Service","message":"` + secret + `"}`}},
			"", &awsapi.APIError{Op: "lambda Invoke", Status: 500, Code: "ServiceException"}, 3},
		{"a 502, then the answer", []answer{{502, nil, `<html>` + secret + `</html>`}, ok}, ok.body, nil, 2},
		{"a code that is not an identifier", []answer{{403, map[string]string{"X-Amzn-ErrorType": secret + " @x"}, ``}},
			"", &awsapi.APIError{Op: "lambda Invoke", Status: 403}, 1},
		{"an answer over the limit", []answer{{200, nil, strings.Repeat("a", MaxAnswer+1)}}, "", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newLambdaAPI(t, tc.answers...)
			out, err := testClient(api.URL, nil).Invoke(context.Background(), "stack-act:live", []byte(`{}`))
			if n := len(api.requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			if tc.want != "" {
				if err != nil || string(out) != tc.want {
					t.Fatalf("Invoke = %.80s, %v; want %s", out, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Invoke = %.80s, want an error", out)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "parse") {
				t.Fatalf("the error %q carries the answer's text", err)
			}
			switch want := tc.wantErr.(type) {
			case *FunctionError:
				var got *FunctionError
				if !errors.As(err, &got) || *got != *want {
					t.Fatalf("err = %v, want %v", err, want)
				}
			case *awsapi.APIError:
				var got *awsapi.APIError
				if !errors.As(err, &got) || *got != *want {
					t.Fatalf("err = %#v, want %#v", err, want)
				}
			case nil:
				if !strings.Contains(err.Error(), "answer over") {
					t.Fatalf("err = %v", err)
				}
			}
		})
	}
}

func TestInvokeRefusesRedirects(t *testing.T) {
	for _, withHTTP := range []bool{true, false} {
		elsewhere := newLambdaAPI(t)
		api := newLambdaAPI(t, answer{302, map[string]string{"Location": elsewhere.URL + "/steal"}, ""})
		c := testClient(api.URL, nil)
		if !withHTTP {
			c.HTTP = nil // the package's default client
		}
		_, err := c.Invoke(context.Background(), "stack-act", []byte(`{"k":"v"}`))
		var got *awsapi.APIError
		if !errors.As(err, &got) || got.Status != 302 || got.Reason != "redirect not followed" || retry.IsRetryable(err) {
			t.Fatalf("HTTP set %v: err = %v, want the 302, final", withHTTP, err)
		}
		if n := len(elsewhere.requests()); n != 0 {
			t.Fatalf("HTTP set %v: the redirect target got %d requests", withHTTP, n)
		}
	}
}

func TestInvokeContextCancelled(t *testing.T) {
	t.Run("before the call", func(t *testing.T) {
		api := newLambdaAPI(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := testClient(api.URL, nil).Invoke(ctx, "stack-act", []byte(`{}`))
		if !errors.Is(err, context.Canceled) || len(api.requests()) != 0 {
			t.Fatalf("err = %v after %d requests", err, len(api.requests()))
		}
	})
	t.Run("while the function runs", func(t *testing.T) {
		arrived := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The server notices the client's hang-up once the body is read.
			_, _ = io.ReadAll(r.Body)
			close(arrived)
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		sleeps := 0
		_, err := testClient(srv.URL, &sleeps).Invoke(ctx, "stack-act", []byte(`{}`))
		if !errors.Is(err, context.Canceled) || sleeps != 0 {
			t.Fatalf("err = %v after %d retries", err, sleeps)
		}
	})
}

// A connection that cannot be opened never reached Lambda: it is retried.
func TestInvokeRetriesRefusedConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	sleeps := 0
	_, err = testClient(url, &sleeps).Invoke(context.Background(), "stack-act", []byte(`{}`))
	if err == nil || sleeps != 2 || strings.Contains(err.Error(), "/2015-03-31") {
		t.Fatalf("err = %v after %d retries, want 3 attempts and no URL", err, sleeps)
	}
}

func TestInvokeRefusesBadSetups(t *testing.T) {
	lambda := func(c awsapi.Client) *Client { c.Service = "lambda"; return &Client{c} }
	for _, tc := range []struct {
		name string
		c    *Client
		fn   string
		want string
	}{
		{"no region", lambda(awsapi.Client{Endpoint: "https://x", Credentials: staticCreds()}), "f", "lambda Invoke: no AWS region"},
		{"no credentials", lambda(awsapi.Client{Endpoint: "https://x", Region: "eu-west-1"}), "f", "lambda Invoke: no AWS credentials"},
		{"no function", lambda(awsapi.Client{Endpoint: "https://x", Region: "eu-west-1", Credentials: staticCreds()}), "", "no function name"},
		{"an endpoint that is not http(s)", lambda(awsapi.Client{Endpoint: "ftp://x", Region: "eu-west-1", Credentials: staticCreds()}), "f", "not an http(s) base URL"},
		{"credentials that fail", lambda(awsapi.Client{Endpoint: "https://x", Region: "eu-west-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no role")
		})}), "f", "credentials: no role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Invoke(context.Background(), tc.fn, []byte(`{}`))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// The deployed client: the Lambda endpoint variable wins over the
// config's base endpoint (awsapi.Endpoint has the cases), with cfg's
// region and credentials.
func TestNewClient(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String("http://127.0.0.1:4566")}
	env := map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9002"}
	c := NewClient(cfg, func(k string) string { return env[k] })
	if c.Service != "lambda" || c.Endpoint != "http://127.0.0.1:9001" || c.Region != "eu-west-1" || c.Credentials == nil || c.Retry.Attempts != 3 {
		t.Fatalf("NewClient = %+v", c.Client)
	}
}
