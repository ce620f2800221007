package forward

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
// It uses its own http.Client, not shared/egress: a synchronous invoke
// answers only when the invoked function has finished (up to its 20 s
// timeout), past egress's 10 s wait for answer headers, and Lambda names
// its errors in the X-Amzn-ErrorType header, which egress's error codes
// (read from the body) cannot see. The rules egress keeps hold here too: no
// redirect is followed, no proxy is taken from the environment, answers
// are bounded, and an error never carries the answer's body.
type Client struct {
	// Endpoint is the Lambda API's base URL (see Endpoint).
	Endpoint string
	// Region is the signing region.
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
	// Retry bounds attempts: throttles (429) and 5xx answers, and
	// connections that could not be opened, get another; nothing else does,
	// since the function may have run.
	Retry retry.Policy
	// Now is the signing clock; nil is time.Now.
	Now func() time.Time
}

// signer keeps no state between requests: one serves every Client.
var signer = v4.NewSigner()

// NewClient is the Client of a deployed function: cfg's region and
// credentials, the endpoint Endpoint chooses, retry.Default (3 attempts,
// as the SDK's standard retryer) and HTTPClient.
func NewClient(cfg aws.Config, getenv func(string) string) *Client {
	return &Client{
		Endpoint:    Endpoint(cfg, getenv),
		Region:      cfg.Region,
		Credentials: cfg.Credentials,
		HTTP:        HTTPClient(),
		Retry:       retry.Default,
	}
}

// defaultHTTP serves a Client whose HTTP is nil.
var defaultHTTP = sync.OnceValue(HTTPClient)

// HTTPClient is the invoke's HTTP client: bounded connection set-up, no
// proxy, no redirects, and an overall limit above the invoked functions'
// 20 s timeout (the invocation's context is the real bound).
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

// Endpoint is the Lambda API's base URL, chosen as the SDK's Lambda client
// does: AWS_ENDPOINT_URL_LAMBDA (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
// is true), else cfg.BaseEndpoint (which config.LoadDefaultConfig fills
// from AWS_ENDPOINT_URL), else https://lambda.{region}.amazonaws.com
// (.amazonaws.com.cn in the cn- regions). The shared config file's
// services sections and the FIPS and dual-stack endpoints are not read: a
// deployment that needs one sets AWS_ENDPOINT_URL_LAMBDA.
func Endpoint(cfg aws.Config, getenv func(string) string) string {
	if !strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		if v := getenv("AWS_ENDPOINT_URL_LAMBDA"); v != "" {
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
	return "https://lambda." + cfg.Region + suffix
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

// APIError is a non-2xx answer of the Lambda API: its status and error
// code (ResourceNotFoundException, TooManyRequestsException, …) and, for a
// throttle, its reason. It never holds the answer's message, which may
// quote the request.
type APIError struct {
	Status int
	Code   string
	Reason string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lambda Invoke: HTTP %d", e.Status)
	if e.Code != "" {
		b.WriteString(" (code " + e.Code + ")")
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	return b.String()
}

// Invoke implements Invoker.
func (c *Client) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	if function == "" {
		return nil, errors.New("lambda Invoke: no function name")
	}
	if c.Region == "" {
		return nil, errors.New("lambda Invoke: no AWS region configured")
	}
	if c.Credentials == nil {
		return nil, errors.New("lambda Invoke: no AWS credentials configured")
	}
	u, err := invokeURL(c.Endpoint, function)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	var out []byte
	err = c.Retry.Do(ctx, func(ctx context.Context, _ int) error {
		b, aerr := c.attempt(ctx, u, payload, hash)
		out = b
		return aerr
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) attempt(ctx context.Context, u string, payload []byte, hash string) ([]byte, error) {
	req, err := c.signed(ctx, u, payload, hash)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		// Not http.DefaultClient: it follows redirects and takes a proxy
		// from the environment.
		hc = defaultHTTP()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.apiError(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("lambda Invoke: read answer: %w", err)
	}
	if len(b) > MaxAnswer {
		return nil, fmt.Errorf("lambda Invoke: answer over %d bytes", MaxAnswer)
	}
	if kind := resp.Header.Get("X-Amz-Function-Error"); kind != "" {
		return nil, &FunctionError{Kind: egress.SafeCode(kind)}
	}
	return b, nil
}

// signed is one attempt's request, signed now: a retry is signed again, as
// the SDK does, so its X-Amz-Date stays fresh.
func (c *Client) signed(ctx context.Context, u string, payload []byte, hash string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("lambda Invoke: %w", err)
	}
	// The SDK sends a blob payload as application/octet-stream; Lambda
	// reads the body as the event whatever its type.
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("User-Agent", "crmbridge")
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("lambda Invoke: credentials: %w", err)
	}
	if err := signer.SignHTTP(ctx, creds, req, hash, "lambda", c.Region, c.now()); err != nil {
		return nil, fmt.Errorf("lambda Invoke: sign: %w", err)
	}
	return req, nil
}

// invokeURL is endpoint + /2015-03-31/functions/{name}/invocations, the
// name escaped as the SDK escapes a path label (everything but A-Z a-z 0-9
// - _ . ~, so an ARN's colons are %3A).
func invokeURL(endpoint, function string) (string, error) {
	base, err := url.Parse(endpoint)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return "", fmt.Errorf("lambda Invoke: endpoint %q is not an http(s) base URL", endpoint)
	}
	return strings.TrimRight(endpoint, "/") + "/2015-03-31/functions/" + escapeLabel(function) + "/invocations", nil
}

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

// apiError reads the error code as the SDK's REST-JSON protocol does: the
// X-Amzn-ErrorType header, else the body's __type or code (a namespace
// before # and a URI after : dropped). Lambda's body field "Type" is the
// fault's side (User, Service), not its code. Throttles are retryable.
func (c *Client) apiError(resp *http.Response) error {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	// Let the connection be reused; a longer answer costs a new one.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Type   string `json:"__type"`
		Code   string `json:"code"`
		Reason string `json:"Reason"`
	}
	_ = json.Unmarshal(head, &body)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = body.Type
	}
	if code == "" {
		code = body.Code
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	e := &APIError{Status: resp.StatusCode, Code: egress.SafeCode(code), Reason: egress.SafeCode(body.Reason)}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		e.Reason = "redirect not followed"
	}
	if egress.RetryableStatus(resp.StatusCode) {
		return retry.Retryable(e, egress.RetryAfter(resp.Header.Get("Retry-After"), c.now()))
	}
	return e
}

// transportError drops the URL and marks a connection that could not be
// opened retryable: the request never left. Any later failure may have
// reached a function that ran, so it is final.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	err = fmt.Errorf("lambda Invoke: %w", err)
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
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
