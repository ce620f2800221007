package awsapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/awsapi/awsapitest"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
)

func staticCreds() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, nil
	})
}

// testClient is a Client at url whose retries do not wait; sleeps counts
// them.
func testClient(url string, sleeps *atomic.Int32) *Client {
	return &Client{
		Service: "sqs", Endpoint: url, Region: "eu-west-1", Credentials: staticCreds(), QueryCompatible: true,
		Retry: retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: func(ctx context.Context, _ time.Duration) error {
			sleeps.Add(1)
			return ctx.Err()
		}},
	}
}

func TestEndpoint(t *testing.T) {
	base := aws.String("http://127.0.0.1:4566")
	for _, tc := range []struct {
		name, service string
		cfg           aws.Config
		env           map[string]string
		want          string
	}{
		{"the region's endpoint", "lambda", aws.Config{Region: "us-east-1"}, nil, "https://lambda.us-east-1.amazonaws.com"},
		{"the region's SQS endpoint", "sqs", aws.Config{Region: "eu-west-1"}, nil, "https://sqs.eu-west-1.amazonaws.com"},
		{"a China region", "sqs", aws.Config{Region: "cn-north-1"}, nil, "https://sqs.cn-north-1.amazonaws.com.cn"},
		{"the config's base endpoint", "lambda", aws.Config{Region: "us-east-1", BaseEndpoint: base}, nil, *base},
		{"the service's variable wins", "lambda", aws.Config{Region: "us-east-1", BaseEndpoint: base}, map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001"}, "http://127.0.0.1:9001"},
		{"SQS's variable wins", "sqs", aws.Config{Region: "us-east-1", BaseEndpoint: base}, map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324", "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001"}, "http://127.0.0.1:9324"},
		{"another service's variable is not read", "sqs", aws.Config{Region: "us-east-1"}, map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001"}, "https://sqs.us-east-1.amazonaws.com"},
		{"configured endpoints ignored", "lambda", aws.Config{Region: "us-east-1"}, map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "https://lambda.us-east-1.amazonaws.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Endpoint(tc.cfg, func(k string) string { return tc.env[k] }, tc.service); got != tc.want {
				t.Fatalf("Endpoint = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct{ endpoint, path, want string }{
		{"https://lambda.eu-west-1.amazonaws.com", "/2015-03-31/functions/a%3Ab/invocations", "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/a%3Ab/invocations"},
		{"https://lambda.eu-west-1.amazonaws.com/", "/x", "https://lambda.eu-west-1.amazonaws.com/x"},
		{"http://127.0.0.1:4566/", "/", "http://127.0.0.1:4566/"},
		{"http://127.0.0.1:4566/prefix", "/", "http://127.0.0.1:4566/prefix/"},
		{"ftp://x", "/", ""},
		{"https://x/?a=b", "/", ""},
		{"https://user@x", "/", ""},
		{"https://x/#f", "/", ""},
		{"x", "/", ""},
	} {
		got, err := join(tc.endpoint, tc.path)
		if tc.want == "" {
			if err == nil || !strings.Contains(err.Error(), "not an http(s) base URL") {
				t.Errorf("join(%q) = %q, %v; want refused", tc.endpoint, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("join(%q, %q) = %q, %v; want %q", tc.endpoint, tc.path, got, err, tc.want)
		}
	}
}

// TestErrorAnswers: the code each error shape yields, and which are
// retried (3 attempts) as the SDK's standard retryer retries them.
func TestErrorAnswers(t *testing.T) {
	const secret = "visitor-text-Zq81"
	for _, tc := range []struct {
		name            string
		status          int
		header          map[string]string
		body            string
		queryCompatible bool
		code            string
		attempts        int32
	}{
		{"the code in the header", 404, map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/"}, `{"message":"` + secret + `"}`, false, "ResourceNotFoundException", 1},
		{"__type with a namespace", 400, nil, `{"__type":"com.amazonaws.sqs#InvalidAddress","message":"` + secret + `"}`, true, "InvalidAddress", 1},
		{"a lower-case code field", 400, nil, `{"code":"ValidationException","message":"` + secret + `"}`, false, "ValidationException", 1},
		{"the query code wins", 400, map[string]string{"X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender"}, `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"` + secret + `"}`, true, "AWS.SimpleQueueService.NonExistentQueue", 1},
		{"a query code without a fault", 400, map[string]string{"X-Amzn-Query-Error": "InvalidParameterValue"}, `{}`, true, "InvalidParameterValue", 1},
		{"the query header of a service that is not query-compatible", 400, map[string]string{"X-Amzn-Query-Error": "Other;Sender"}, `{"__type":"InvalidRequestContentException"}`, false, "InvalidRequestContentException", 1},
		{"a throttle on a 400, by its code", 400, map[string]string{"X-Amzn-Query-Error": "RequestThrottled;Sender"}, `{"__type":"com.amazonaws.sqs#RequestThrottled"}`, true, "RequestThrottled", 3},
		{"ThrottlingException on a 400", 400, nil, `{"__type":"ThrottlingException"}`, true, "ThrottlingException", 3},
		{"a KMS throttle the SDK does not retry", 400, map[string]string{"X-Amzn-Query-Error": "KMS.ThrottlingException;Sender"}, `{"__type":"com.amazonaws.sqs#KmsThrottled"}`, true, "KMS.ThrottlingException", 1},
		{"a 500 without a body", 500, nil, ``, true, "", 3},
		{"a 503 with HTML", 503, nil, `<html>` + secret + `</html>`, true, "", 3},
		{"a 501", 501, nil, `{"__type":"NotImplemented"}`, true, "NotImplemented", 1},
		{"a code that is not an identifier", 403, map[string]string{"X-Amzn-ErrorType": secret + " @x"}, ``, false, "", 1},
		{"a redirect", 307, map[string]string{"Location": "http://127.0.0.1:1/"}, ``, true, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var attempts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			var sleeps atomic.Int32
			c := testClient(srv.URL, &sleeps)
			c.QueryCompatible = tc.queryCompatible
			_, err := c.Call(context.Background(), Call{Op: "Test", Path: "/", Body: []byte(`{}`), MaxAnswer: 1 << 10, Idempotent: true})
			var ae *APIError
			if !errors.As(err, &ae) || ae.Op != "sqs Test" || ae.Status != tc.status || ae.Code != tc.code || ae.ErrorCode() != tc.code || ae.HTTPStatusCode() != tc.status {
				t.Fatalf("err = %#v, want status %d code %q", err, tc.status, tc.code)
			}
			if n := attempts.Load(); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error %q carries the answer's text", err)
			}
			if tc.status == 307 && ae.Reason != "redirect not followed" {
				t.Errorf("reason %q", ae.Reason)
			}
		})
	}
}

// A transport failure after the request left is retried only for an
// idempotent call; a connection that could not be opened always is.
func TestTransportFailures(t *testing.T) {
	var resets atomic.Int32
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resets.Add(1)
		_, _ = io.ReadAll(r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // an RST, not a FIN
		_ = conn.Close()
	}))
	defer reset.Close()
	var cuts atomic.Int32
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cuts.Add(1)
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"MessageId":`) // then the connection ends
	}))
	defer cut.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	_ = l.Close()

	for _, tc := range []struct {
		name       string
		url        string
		count      *atomic.Int32
		idempotent bool
		sleeps     int32
	}{
		{"a reset, idempotent", reset.URL, &resets, true, 2},
		{"a reset, not idempotent", reset.URL, &resets, false, 0},
		{"an answer cut short, idempotent", cut.URL, &cuts, true, 2},
		{"an answer cut short, not idempotent", cut.URL, &cuts, false, 0},
		{"a refused connection, idempotent", refused, nil, true, 2},
		{"a refused connection, not idempotent", refused, nil, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sleeps atomic.Int32
			before := int32(0)
			if tc.count != nil {
				before = tc.count.Load()
			}
			_, err := testClient(tc.url, &sleeps).Call(context.Background(), Call{Op: "Test", Path: "/p4th", Body: []byte(`{}`), MaxAnswer: 1 << 10, Idempotent: tc.idempotent})
			if err == nil || sleeps.Load() != tc.sleeps {
				t.Fatalf("err = %v after %d retries, want %d", err, sleeps.Load(), tc.sleeps)
			}
			if tc.count != nil && tc.count.Load()-before != tc.sleeps+1 {
				t.Errorf("the server saw %d requests, want %d", tc.count.Load()-before, tc.sleeps+1)
			}
			if strings.Contains(err.Error(), "p4th") || strings.Contains(err.Error(), "http://") {
				t.Errorf("the error %q names the URL", err)
			}
		})
	}
}

// A cancelled call is never retried, idempotent or not.
func TestCancelNotRetried(t *testing.T) {
	url, arrived := awsapitest.Hanging(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	var sleeps atomic.Int32
	_, err := testClient(url, &sleeps).Call(ctx, Call{Op: "Test", Path: "/", Body: []byte(`{}`), MaxAnswer: 1 << 10, Idempotent: true})
	if !errors.Is(err, context.Canceled) || sleeps.Load() != 0 || retry.IsRetryable(err) {
		t.Fatalf("err = %v after %d retries", err, sleeps.Load())
	}
}

// FuzzAPIError feeds error answers to apiError: whatever the headers and
// body, the error names at most the operation, the status, an identifier
// code and an identifier reason, never other text of the answer, and is
// retryable exactly as Retryable says.
func FuzzAPIError(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, errType, queryErr string, body []byte) {
		status = 300 + (status%300+300)%300
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		if errType != "" {
			resp.Header.Set("X-Amzn-ErrorType", errType)
		}
		if queryErr != "" {
			resp.Header.Set("X-Amzn-Query-Error", queryErr)
		}
		err := (&Client{QueryCompatible: true}).apiError("sqs SendMessage", resp)
		var e *APIError
		if !errors.As(err, &e) || e.Status != status || e.Op != "sqs SendMessage" {
			t.Fatalf("apiError = %v", err)
		}
		if e.Code != egress.SafeCode(e.Code) || (e.Reason != "redirect not followed" && e.Reason != egress.SafeCode(e.Reason)) {
			t.Fatalf("unfiltered code %q or reason %q", e.Code, e.Reason)
		}
		if len(err.Error()) > 220 {
			t.Fatalf("error of %d bytes: %q", len(err.Error()), err)
		}
		if retry.IsRetryable(err) != Retryable(status, e.Code) {
			t.Fatalf("status %d code %q retryable %v", status, e.Code, retry.IsRetryable(err))
		}
		if status < 400 && retry.IsRetryable(err) {
			t.Fatalf("a redirect (%d) is retryable", status)
		}
	})
}
