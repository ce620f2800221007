package forward

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/crmbridge/crmbridge/shared/awsapi"
	"github.com/crmbridge/crmbridge/shared/awsapi/awsapitest"
	"github.com/crmbridge/crmbridge/shared/retry"
)

// answer is one scripted Lambda API answer.
type answer awsapitest.Answer

func staticCreds() aws.CredentialsProvider { return awsapitest.StaticCredentials() }

func newLambdaAPI(t *testing.T, answers ...answer) *awsapitest.Server {
	as := make([]awsapitest.Answer, len(answers))
	for i, a := range answers {
		as[i] = awsapitest.Answer(a)
	}
	return awsapitest.NewServer(t, nil, as...)
}

// testClient is a Client at url with the test credentials, the fixed
// signing time and retries that do not wait.
func testClient(url string, sleeps *int) *Client {
	return &Client{awsapi.Client{
		Service: "lambda", Endpoint: url, Region: "eu-west-1", Credentials: staticCreds(), HTTP: awsapi.HTTPClient(),
		Now: func() time.Time { return awsapitest.SigningTime },
		Retry: retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: func(ctx context.Context, _ time.Duration) error {
			if sleeps != nil {
				*sleeps++
			}
			return ctx.Err()
		}},
	}}
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
			api := newLambdaAPI(t, answer{Status: 200, Body: `{"statusCode":202}`})
			out, err := testClient(api.URL, nil).Invoke(context.Background(), tc.function, payload)
			if err != nil || string(out) != `{"statusCode":202}` {
				t.Fatalf("Client.Invoke = %s, %v", out, err)
			}
			sdk := lambda.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String(api.URL)},
				func(o *lambda.Options) { o.HTTPSignerV4 = awsapitest.FixedTimeSigner{} })
			sout, err := sdk.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: payload})
			if err != nil || string(sout.Payload) != `{"statusCode":202}` {
				t.Fatalf("lambda.Client.Invoke = %+v, %v", sout, err)
			}
			got := api.Requests()
			if len(got) != 2 {
				t.Fatalf("%d requests, want 2", len(got))
			}
			if got[0].URI != tc.path || !bytes.Equal(got[0].Body, payload) {
				t.Errorf("path %s, body %q; want %s", got[0].URI, got[0].Body, tc.path)
			}
			awsapitest.Compare(t, got[0], got[1], "lambda", "eu-west-1", "content-length;content-type;host;x-amz-date;x-amz-security-token", "Content-Type")
		})
	}
}

func TestInvokeAnswers(t *testing.T) {
	const secret = "visitor-text-Zq81"
	ok := answer{Status: 200, Body: `{"statusCode":200,"body":"fine"}`}
	for _, tc := range []struct {
		name     string
		answers  []answer
		want     string // the payload, if no error
		wantErr  error  // matched by errors.As into a copy of its type, then compared
		requests int
	}{
		{"the function's answer", []answer{ok}, ok.Body, nil, 1},
		{"the function failed", []answer{{200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, `{"errorMessage":"` + secret + `","errorType":"x"}`}},
			"", &FunctionError{Kind: "Unhandled"}, 1},
		{"not found, code in the header", []answer{{404, map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/"}, `{"Type":"User","message":"Function not found: ` + secret + `"}`}},
			"", &awsapi.APIError{Op: "lambda Invoke", Status: 404, Code: "ResourceNotFoundException"}, 1},
		{"a 4xx with __type", []answer{{400, nil, `{"__type":"com.amazonaws.lambda#InvalidRequestContentException","Type":"User","message":"Could not parse ` + secret + `"}`}},
			"", &awsapi.APIError{Op: "lambda Invoke", Status: 400, Code: "InvalidRequestContentException"}, 1},
		{"a throttle, then the answer", []answer{{429, map[string]string{"X-Amzn-ErrorType": "TooManyRequestsException"}, `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`}, ok},
			ok.Body, nil, 2},
		{"5xx three times", []answer{{500, map[string]string{"X-Amzn-ErrorType": "ServiceException"}, `{"Type":"Service","message":"` + secret + `"}`}},
			"", &awsapi.APIError{Op: "lambda Invoke", Status: 500, Code: "ServiceException"}, 3},
		{"a 502, then the answer", []answer{{502, nil, `<html>` + secret + `</html>`}, ok}, ok.Body, nil, 2},
		{"a code that is not an identifier", []answer{{403, map[string]string{"X-Amzn-ErrorType": secret + " @x"}, ``}},
			"", &awsapi.APIError{Op: "lambda Invoke", Status: 403}, 1},
		{"an answer over the limit", []answer{{200, nil, strings.Repeat("a", MaxAnswer+1)}}, "", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newLambdaAPI(t, tc.answers...)
			out, err := testClient(api.URL, nil).Invoke(context.Background(), "stack-act:live", []byte(`{}`))
			if n := len(api.Requests()); n != tc.requests {
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
		if n := len(elsewhere.Requests()); n != 0 {
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
		if !errors.Is(err, context.Canceled) || len(api.Requests()) != 0 {
			t.Fatalf("err = %v after %d requests", err, len(api.Requests()))
		}
	})
	t.Run("while the function runs", func(t *testing.T) {
		url, arrived := awsapitest.Hanging(t)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		sleeps := 0
		_, err := testClient(url, &sleeps).Invoke(ctx, "stack-act", []byte(`{}`))
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
