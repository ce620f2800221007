// Package awsapi is what the bridge's own AWS API clients share: the
// endpoint a service resolves to, one HTTP client, SigV4 signing with the
// SDK core's signer, bounded retries, and the error code of an answer. It
// lets a function make an AWS call without linking that service's SDK
// client, whose package init and client set-up cost cold start (issue 12):
// shared/forward invokes Lambda, shared/queue/sqsapi calls SQS.
//
// The rules shared/egress keeps for the vendors' calls hold here too: no
// redirect is followed, no proxy is taken from the environment, answers
// are bounded, and an error never carries an answer's body (it may quote
// the request). It is not egress itself: its destination is an AWS
// endpoint, never a tenant's URL, and its calls wait longer than egress's
// 10 s for answer headers (a synchronous invoke answers when the invoked
// function has finished).
package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/crmbridge/crmbridge/shared/retry"
)

// Client calls one AWS service's API with signed requests. It is safe for
// concurrent use.
type Client struct {
	// Service is the signing name (lambda, sqs); errors start with it.
	Service string
	// Endpoint is the API's base URL (see Endpoint).
	Endpoint string
	// Region is the signing region.
	Region      string
	Credentials aws.CredentialsProvider
	// HTTP sends the requests; nil is HTTPClient's, shared by every Client.
	HTTP *http.Client
	// Retry bounds attempts: throttles and 5xx answers get another, and
	// transport failures as Call.Idempotent says.
	Retry retry.Policy
	// QueryCompatible services (SQS) name an error in the
	// X-Amzn-Query-Error header too, whose code then wins, as in the SDK.
	QueryCompatible bool
	// Now is the signing clock; nil is time.Now.
	Now func() time.Time
}

// Call is one API call.
type Call struct {
	// Op names the operation in errors (Invoke, SendMessage).
	Op string
	// Path is appended to the endpoint's path: "/" for the JSON protocols.
	Path string
	// Header holds the protocol's headers (Content-Type, X-Amz-Target);
	// they are signed with the rest.
	Header http.Header
	Body   []byte
	// MaxAnswer bounds a successful answer's body.
	MaxAnswer int64
	// Idempotent calls (an SQS send with a deduplication ID, a visibility
	// change) are retried after any transport failure, as the SDK's
	// standard retryer does; others only when the connection could not be
	// opened, since the request may have had its effect (a Lambda invoke).
	Idempotent bool
}

// Answer is a successful (2xx) answer.
type Answer struct {
	Header http.Header
	Body   []byte
}

// signer keeps no state between requests: one serves every Client.
var signer = v4.NewSigner()

// defaultHTTP serves every Client whose HTTP is nil.
var defaultHTTP = sync.OnceValue(HTTPClient)

// HTTPClient is the AWS calls' HTTP client: bounded connection set-up, no
// proxy, no redirects, and an overall limit above the longest call (a
// synchronous invoke of a function with a 20 s timeout); the caller's
// context is the real bound.
func HTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:    3 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			MaxIdleConnsPerHost:    8,
			IdleConnTimeout:        90 * time.Second,
			ForceAttemptHTTP2:      true,
		},
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Endpoint is a service's base URL, chosen as the SDK's clients choose it:
// AWS_ENDPOINT_URL_<SERVICE> (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is
// true), else cfg.BaseEndpoint (which config.LoadDefaultConfig fills from
// AWS_ENDPOINT_URL), else https://<service>.<region>.amazonaws.com
// (.amazonaws.com.cn in the cn- regions). service is the endpoint prefix,
// which for the services here (lambda, sqs) is also the SDK's service ID
// the variable is named after. The shared config file's services sections
// and the FIPS and dual-stack endpoints are not read: a deployment that
// needs one sets the service's variable.
func Endpoint(cfg aws.Config, getenv func(string) string, service string) string {
	if !strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		if v := getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(service)); v != "" {
			return v
		}
	}
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return *cfg.BaseEndpoint
	}
	suffix := ".amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		suffix = ".amazonaws.com.cn"
	}
	return "https://" + service + "." + cfg.Region + suffix
}

// New is the Client of service over cfg's region and credentials and the
// endpoint Endpoint chooses from cfg and getenv.
func New(cfg aws.Config, getenv func(string) string, service string, pol retry.Policy) Client {
	return Client{Service: service, Endpoint: Endpoint(cfg, getenv, service), Region: cfg.Region, Credentials: cfg.Credentials, Retry: pol}
}

// Call sends call, signed again for each attempt (as the SDK does, so its
// X-Amz-Date stays fresh), until it is answered with a 2xx or the retry
// policy gives up. A non-2xx answer is an *APIError.
func (c *Client) Call(ctx context.Context, call Call) (Answer, error) {
	op := c.Service + " " + call.Op
	if c.Region == "" {
		return Answer{}, fmt.Errorf("%s: no AWS region configured", op)
	}
	if c.Credentials == nil {
		return Answer{}, fmt.Errorf("%s: no AWS credentials configured", op)
	}
	u, err := join(c.Endpoint, call.Path)
	if err != nil {
		return Answer{}, fmt.Errorf("%s: %w", op, err)
	}
	sum := sha256.Sum256(call.Body)
	hash := hex.EncodeToString(sum[:])
	var out Answer
	err = c.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		a, aerr := c.attempt(ctx, op, u, hash, call)
		out = a
		return aerr
	})
	if err != nil {
		return Answer{}, err
	}
	return out, nil
}

func (c *Client) attempt(ctx context.Context, op, u, hash string, call Call) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(call.Body))
	if err != nil {
		return Answer{}, fmt.Errorf("%s: %w", op, err)
	}
	for k, v := range call.Header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "crmbridge")
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return Answer{}, fmt.Errorf("%s: credentials: %w", op, err)
	}
	if err := signer.SignHTTP(ctx, creds, req, hash, c.Service, c.Region, c.now()); err != nil {
		return Answer{}, fmt.Errorf("%s: sign: %w", op, err)
	}
	hc := c.HTTP
	if hc == nil {
		// Not http.DefaultClient: it follows redirects and takes a proxy
		// from the environment.
		hc = defaultHTTP()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Answer{}, transportError(ctx, op, err, call.Idempotent)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Answer{}, c.apiError(op, resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, call.MaxAnswer+1))
	if err != nil {
		err = fmt.Errorf("%s: read answer: %w", op, err)
		if call.Idempotent && ctx.Err() == nil {
			// An answer cut short: the standard retryer (with
			// shared/awsconf's addition) tries again.
			return Answer{}, retry.Retryable(err, 0)
		}
		return Answer{}, err
	}
	if int64(len(b)) > call.MaxAnswer {
		return Answer{}, fmt.Errorf("%s: answer over %d bytes", op, call.MaxAnswer)
	}
	return Answer{Header: resp.Header, Body: b}, nil
}

// join is endpoint + path, endpoint checked to be an http(s) base URL.
func join(endpoint, path string) (string, error) {
	base, err := url.Parse(endpoint)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return "", fmt.Errorf("endpoint %q is not an http(s) base URL", endpoint)
	}
	return strings.TrimRight(endpoint, "/") + path, nil
}

// transportError drops the URL. A connection that could not be opened is
// retried (the request never left), and for an idempotent call any other
// failure too; the caller's own end (a cancel, its deadline) never is.
func transportError(ctx context.Context, op string, err error, idempotent bool) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	err = fmt.Errorf("%s: %w", op, err)
	if ctx.Err() != nil {
		return err
	}
	var oe *net.OpError
	if idempotent || errors.As(err, &oe) && oe.Op == "dial" {
		return retry.Retryable(err, 0)
	}
	return err
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
