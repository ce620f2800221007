package forward

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/awsapi"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
)

// MaxAnswer bounds an invoke's answer: Lambda's synchronous response
// payload limit is 6 MB; the rest is headroom.
const MaxAnswer = 7 << 20

// Client invokes Lambda functions synchronously (RequestResponse) with one
// SigV4-signed POST {Endpoint}/2015-03-31/functions/{name}/invocations per
// attempt, as the SDK's lambda.Client.Invoke does. It is safe for
// concurrent use.
//
// It calls through shared/awsapi, not shared/egress: a synchronous invoke
// answers only when the invoked function has finished (up to its 20 s
// timeout), past egress's 10 s wait for answer headers, and Lambda names
// its errors in the X-Amzn-ErrorType header, which egress's error codes
// (read from the body) cannot see. awsapi keeps egress's rules: no redirect
// is followed, no proxy is taken from the environment, answers are
// bounded, and an error never carries the answer's body. Its Retry gives
// throttles and 5xx answers, and connections that could not be opened,
// another attempt; nothing else gets one, since the function may have run.
type Client struct {
	awsapi.Client
}

// NewClient is the Client of a deployed function: cfg's region and
// credentials, the endpoint awsapi.Endpoint chooses (AWS_ENDPOINT_URL_LAMBDA,
// then AWS_ENDPOINT_URL, else https://lambda.{region}.amazonaws.com) and
// retry.Default (3 attempts, as the SDK's standard retryer).
func NewClient(cfg aws.Config, getenv func(string) string) *Client {
	return &Client{awsapi.New(cfg, getenv, "lambda", retry.Default)}
}

// FunctionError is an invoke Lambda answered with 200 and
// X-Amz-Function-Error: the function ran and failed (Unhandled: a panic, a
// timeout, an error returned to the runtime).
type FunctionError struct {
	Kind string // the header's value
}

func (e *FunctionError) Error() string {
	if e.Kind == "" {
		return "function error"
	}
	return "function error " + e.Kind
}

// Invoke implements Invoker. A non-2xx answer is an *awsapi.APIError.
func (c *Client) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	if function == "" {
		return nil, errors.New("lambda Invoke: no function name")
	}
	a, err := c.Call(ctx, awsapi.Call{
		Op: "Invoke", Path: "/2015-03-31/functions/" + escapeLabel(function) + "/invocations",
		// The SDK sends a blob payload as application/octet-stream; Lambda
		// reads the body as the event whatever its type.
		Header: http.Header{"Content-Type": {"application/octet-stream"}},
		Body:   payload, MaxAnswer: MaxAnswer,
	})
	if err != nil {
		return nil, err
	}
	if kind := a.Header.Get("X-Amz-Function-Error"); kind != "" {
		return nil, &FunctionError{Kind: egress.SafeCode(kind)}
	}
	return a.Body, nil
}

// escapeLabel escapes a function name as the SDK escapes a path label
// (everything but A-Z a-z 0-9 - _ . ~, so an ARN's colons are %3A).
func escapeLabel(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
