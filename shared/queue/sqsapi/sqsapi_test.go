package sqsapi

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/crmbridge/crmbridge/shared/awsapi"
	"github.com/crmbridge/crmbridge/shared/awsapi/awsapitest"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/retry"
)

const queueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/crmbridge-inbound.fifo"

func staticCreds() aws.CredentialsProvider { return awsapitest.StaticCredentials() }

// answer is one scripted SQS answer; a body "md5" is SQS's answer to a
// successful call, for SendMessage with the MD5 of the MessageBody
// received.
type answer awsapitest.Answer

func newSQSAPI(t *testing.T, answers ...answer) *awsapitest.Server {
	as := make([]awsapitest.Answer, len(answers))
	for i, a := range answers {
		as[i] = awsapitest.Answer(a)
	}
	if len(as) == 0 {
		as = []awsapitest.Answer{{Status: 200, Body: "md5"}}
	}
	return awsapitest.NewServer(t, func(r awsapitest.Request, a awsapitest.Answer) awsapitest.Answer {
		if a.Body == "md5" {
			a.Body = realAnswer(r.Header.Get("X-Amz-Target"), r.Body)
		}
		return a
	}, as...)
}

// realAnswer is SQS's answer to a successful call.
func realAnswer(target string, body []byte) string {
	if target != "AmazonSQS.SendMessage" {
		return `{}`
	}
	var in struct{ MessageBody string }
	_ = json.Unmarshal(body, &in)
	sum := md5.Sum([]byte(in.MessageBody))
	return `{"MD5OfMessageBody":"` + hex.EncodeToString(sum[:]) + `","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","SequenceNumber":"18849496460467696128"}`
}

// testClient is a Client at url with the test credentials, the fixed
// signing time and retries that do not wait; sleeps counts them.
func testClient(url string, sleeps *int) *Client {
	c := New(aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String(url)}, func(string) string { return "" })
	c.Now = func() time.Time { return awsapitest.SigningTime }
	c.Retry = retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: func(ctx context.Context, _ time.Duration) error {
		if sleeps != nil {
			*sleeps++
		}
		return ctx.Err()
	}}
	return c
}

func sdkClient(cfg aws.Config, hc aws.HTTPClient) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.HTTPSignerV4 = awsapitest.FixedTimeSigner{}
		if hc != nil {
			o.HTTPClient = hc
		}
	})
}

// sdkSend is the SDK's call for in: nil pointers for empty IDs, as
// Client leaves them out.
func sdkSend(ctx context.Context, c *sqs.Client, in queue.SendRequest) error {
	req := &sqs.SendMessageInput{QueueUrl: aws.String(in.QueueURL), MessageBody: aws.String(in.Body)}
	if in.GroupID != "" {
		req.MessageGroupId = aws.String(in.GroupID)
	}
	if in.DedupeID != "" {
		req.MessageDeduplicationId = aws.String(in.DedupeID)
	}
	_, err := c.SendMessage(ctx, req)
	return err
}

func sdkVisibility(ctx context.Context, c *sqs.Client, in queue.VisibilityRequest) error {
	_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(in.QueueURL), ReceiptHandle: aws.String(in.ReceiptHandle), VisibilityTimeout: in.Seconds})
	return err
}

// tricky are strings whose JSON escaping differs between encoders.
var tricky = []string{
	`{"v":1,"kind":"inbound","key":"EVENT#generic#acme#e1","pcid":"generic:acme:c1","enqueued":1773480413000,"data":{"text":"Hallo \u003cb\u003e"}}`,
	"<b>&amp;</b> 'quoted' \"double\" back\\slash /slash",
	"tab\tnewline\nreturn\rbell\x07backspace\bformfeed\fnul\x00unit\x1fdel\x7f",
	"Grüße, 日本語, emoji 🙂, line\u2028paragraph\u2029end",
	"invalid \xff\xfe utf-8 \xc3 cut",
	"",
}

// TestMatchesTheSDK sends the same calls through Client and through the
// SDK's sqs.Client and compares what the server got: the same method,
// path, body bytes and headers, and the same SigV4 Authorization, which
// the signer run over the received request reproduces. Both check the
// answer's MD5 alike (a body with invalid UTF-8 is stored with U+FFFD, so
// both refuse the answer).
func TestMatchesTheSDK(t *testing.T) {
	type call struct {
		name string
		ours func(context.Context, *Client) error
		sdk  func(context.Context, *sqs.Client) error
	}
	var calls []call
	for i, body := range tricky {
		in := queue.SendRequest{QueueURL: queueURL, Body: body, GroupID: queue.GroupID("generic:acme:c1"), DedupeID: queue.DedupeID("EVENT#generic#acme#e1")}
		if i == len(tricky)-1 {
			in.GroupID, in.DedupeID = "", "" // a standard queue's message
		}
		calls = append(calls, call{
			name: "SendMessage " + strings.ToValidUTF8(body[:min(len(body), 20)], "?"),
			ours: func(ctx context.Context, c *Client) error { return c.SendMessage(ctx, in) },
			sdk:  func(ctx context.Context, c *sqs.Client) error { return sdkSend(ctx, c, in) },
		})
	}
	for _, in := range []queue.VisibilityRequest{
		{QueueURL: queueURL, ReceiptHandle: "AQEBzbVv1Qx+0aZy/3Xh==", Seconds: 37},
		{QueueURL: queueURL, ReceiptHandle: "rh\"odd\\", Seconds: 0},
		{QueueURL: queueURL, ReceiptHandle: "AQEB", Seconds: 43200},
	} {
		calls = append(calls, call{
			name: "ChangeMessageVisibility " + in.ReceiptHandle,
			ours: func(ctx context.Context, c *Client) error { return c.ChangeMessageVisibility(ctx, in) },
			sdk:  func(ctx context.Context, c *sqs.Client) error { return sdkVisibility(ctx, c, in) },
		})
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			api := newSQSAPI(t)
			ctx := context.Background()
			ourErr := tc.ours(ctx, testClient(api.URL, nil))
			sdkErr := tc.sdk(ctx, sdkClient(aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String(api.URL)}, nil))
			if (ourErr == nil) != (sdkErr == nil) {
				t.Errorf("Client: %v; SDK: %v", ourErr, sdkErr)
			}
			if ourErr != nil && !errors.Is(ourErr, ErrChecksum) {
				t.Errorf("Client: %v", ourErr)
			}
			got := api.Requests()
			if len(got) != 2 {
				t.Fatalf("%d requests, want 2", len(got))
			}
			if got[0].URI != "/" || !json.Valid(got[0].Body) {
				t.Errorf("path %s, body %q", got[0].URI, got[0].Body)
			}
			awsapitest.Compare(t, got[0], got[1], "sqs", "eu-west-1", "content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target;x-amzn-query-mode",
				"Content-Type", "X-Amz-Target", "X-Amzn-Query-Mode")
		})
	}
}

func TestAnswers(t *testing.T) {
	const secret = "visitor-text-Zq81"
	send := func(ctx context.Context, c *Client) error {
		return c.SendMessage(ctx, queue.SendRequest{QueueURL: queueURL, Body: `{"text":"` + secret + `"}`, GroupID: "c-1", DedupeID: "d-1"})
	}
	visibility := func(ctx context.Context, c *Client) error {
		return c.ChangeMessageVisibility(ctx, queue.VisibilityRequest{QueueURL: queueURL, ReceiptHandle: "rh-1", Seconds: 30})
	}
	ok := answer{200, nil, "md5"}
	for _, tc := range []struct {
		name     string
		call     func(context.Context, *Client) error
		answers  []answer
		wantErr  error // nil: success; an *awsapi.APIError is compared
		requests int
	}{
		{"sent", send, []answer{ok}, nil, 1},
		{"sent, an empty answer", send, []answer{{200, nil, ""}}, nil, 1},
		{"sent, no MD5 in the answer", send, []answer{{200, nil, `{"MessageId":"m"}`}}, nil, 1},
		{"an MD5 that is not the body's", send, []answer{{200, nil, `{"MD5OfMessageBody":"0123456789abcdef0123456789abcdef","MessageId":"m"}`}}, ErrChecksum, 1},
		{"an answer that is not JSON", send, []answer{{200, nil, `<xml>` + secret}}, errors.New("not a SendMessage result"), 1},
		{"an answer over the limit", send, []answer{{200, nil, strings.Repeat(" ", maxAnswer+1)}}, errors.New("answer over"), 1},
		{"no such queue", send, []answer{{400, map[string]string{"X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender"}, `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist for this wsdl version: ` + secret + `"}`}},
			&awsapi.APIError{Op: "sqs SendMessage", Status: 400, Code: "AWS.SimpleQueueService.NonExistentQueue"}, 1},
		{"access denied", send, []answer{{400, map[string]string{"X-Amzn-Query-Error": "AccessDenied;Sender"}, `{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:sts::1:assumed-role/x is not authorized"}`}},
			&awsapi.APIError{Op: "sqs SendMessage", Status: 400, Code: "AccessDenied"}, 1},
		{"throttled, then sent", send, []answer{{400, map[string]string{"X-Amzn-Query-Error": "RequestThrottled;Sender"}, `{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Rate exceeded"}`}, ok}, nil, 2},
		{"ThrottlingException, then sent", send, []answer{{400, nil, `{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}`}, ok}, nil, 2},
		{"a 429, then sent", send, []answer{{429, nil, ``}, ok}, nil, 2},
		{"5xx three times", send, []answer{{500, map[string]string{"X-Amzn-Query-Error": "InternalError;Receiver"}, `{"__type":"com.amazonaws.sqs#InternalError","message":"` + secret + `"}`}},
			&awsapi.APIError{Op: "sqs SendMessage", Status: 500, Code: "InternalError"}, 3},
		{"a 502 with HTML, then sent", send, []answer{{502, nil, `<html>` + secret + `</html>`}, ok}, nil, 2},
		{"a visibility change", visibility, []answer{ok}, nil, 1},
		{"a receipt handle SQS refuses", visibility, []answer{{400, map[string]string{"X-Amzn-Query-Error": "ReceiptHandleIsInvalid;Sender"}, `{"__type":"com.amazonaws.sqs#ReceiptHandleIsInvalid","message":"The input receipt handle \"rh-1\" is not a valid receipt handle."}`}},
			&awsapi.APIError{Op: "sqs ChangeMessageVisibility", Status: 400, Code: "ReceiptHandleIsInvalid"}, 1},
		{"a message no longer in flight", visibility, []answer{{400, map[string]string{"X-Amzn-Query-Error": "AWS.SimpleQueueService.MessageNotInflight;Sender"}, `{"__type":"com.amazonaws.sqs#MessageNotInflight"}`}},
			&awsapi.APIError{Op: "sqs ChangeMessageVisibility", Status: 400, Code: "AWS.SimpleQueueService.MessageNotInflight"}, 1},
		{"a visibility change after a 503", visibility, []answer{{503, nil, ``}, ok}, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newSQSAPI(t, tc.answers...)
			err := tc.call(context.Background(), testClient(api.URL, nil))
			if n := len(api.Requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "not exist") || strings.Contains(err.Error(), "authorized") {
				t.Fatalf("the error %q carries the answer's text", err)
			}
			var want *awsapi.APIError
			switch {
			case errors.As(tc.wantErr, &want):
				var got *awsapi.APIError
				if !errors.As(err, &got) || *got != *want {
					t.Fatalf("err = %#v, want %#v", err, want)
				}
			case errors.Is(tc.wantErr, ErrChecksum):
				if !errors.Is(err, ErrChecksum) {
					t.Fatalf("err = %v", err)
				}
			default:
				if !strings.Contains(err.Error(), tc.wantErr.Error()) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			}
		})
	}
}

func TestRefusesRedirects(t *testing.T) {
	for _, withHTTP := range []bool{true, false} {
		elsewhere := newSQSAPI(t)
		api := newSQSAPI(t, answer{307, map[string]string{"Location": elsewhere.URL + "/steal"}, ""})
		c := testClient(api.URL, nil)
		if withHTTP {
			c.HTTP = awsapi.HTTPClient()
		}
		err := c.SendMessage(context.Background(), queue.SendRequest{QueueURL: queueURL, Body: "b", GroupID: "g", DedupeID: "d"})
		var got *awsapi.APIError
		if !errors.As(err, &got) || got.Status != 307 || got.Reason != "redirect not followed" || retry.IsRetryable(err) {
			t.Fatalf("HTTP set %v: err = %v, want the 307, final", withHTTP, err)
		}
		if n := len(elsewhere.Requests()); n != 0 {
			t.Fatalf("HTTP set %v: the redirect target got %d requests", withHTTP, n)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	in := queue.SendRequest{QueueURL: queueURL, Body: "b", GroupID: "g", DedupeID: "d"}
	t.Run("before the call", func(t *testing.T) {
		api := newSQSAPI(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := testClient(api.URL, nil).SendMessage(ctx, in)
		if !errors.Is(err, context.Canceled) || len(api.Requests()) != 0 {
			t.Fatalf("err = %v after %d requests", err, len(api.Requests()))
		}
	})
	t.Run("while SQS answers", func(t *testing.T) {
		url, arrived := awsapitest.Hanging(t)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		sleeps := 0
		err := testClient(url, &sleeps).SendMessage(ctx, in)
		if !errors.Is(err, context.Canceled) || sleeps != 0 {
			t.Fatalf("err = %v after %d retries", err, sleeps)
		}
	})
	t.Run("a deadline inside the backoff", func(t *testing.T) {
		api := newSQSAPI(t, answer{503, nil, ""})
		ctx, cancel := context.WithCancel(context.Background())
		c := testClient(api.URL, nil)
		// The first retry's wait is where the caller gives up.
		c.Retry.Sleep = func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
		err := c.SendMessage(ctx, in)
		if !errors.Is(err, context.Canceled) || len(api.Requests()) != 1 {
			t.Fatalf("err = %v after %d requests", err, len(api.Requests()))
		}
	})
}

func TestRefusesBadSetups(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  aws.Config
		url  string
		want string
	}{
		{"no queue URL", aws.Config{Region: "eu-west-1", Credentials: staticCreds()}, "", "sqs SendMessage: no queue URL"},
		{"no region", aws.Config{Credentials: staticCreds(), BaseEndpoint: aws.String("http://127.0.0.1:1")}, queueURL, "sqs SendMessage: no AWS region"},
		{"no credentials", aws.Config{Region: "eu-west-1"}, queueURL, "sqs SendMessage: no AWS credentials"},
		{"an endpoint that is not http(s)", aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String("ftp://x")}, queueURL, "not an http(s) base URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New(tc.cfg, func(string) string { return "" }).SendMessage(context.Background(), queue.SendRequest{QueueURL: tc.url, Body: "b"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	err := New(aws.Config{Region: "eu-west-1", Credentials: staticCreds()}, func(string) string { return "" }).ChangeMessageVisibility(context.Background(), queue.VisibilityRequest{ReceiptHandle: "rh"})
	if err == nil || !strings.Contains(err.Error(), "sqs ChangeMessageVisibility: no queue URL") {
		t.Fatalf("err = %v", err)
	}
}

// New reads the endpoint as the SDK's sqs client does: SQS's own variable
// first, then the config's base endpoint (AWS_ENDPOINT_URL).
func TestNew(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String("http://127.0.0.1:4566")}
	env := map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324", "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001"}
	c := New(cfg, func(k string) string { return env[k] })
	if c.Service != "sqs" || c.Endpoint != "http://127.0.0.1:9324" || c.Region != "eu-west-1" || !c.QueryCompatible || c.Retry.Attempts != 3 || c.Retry.Reserve != 0 {
		t.Fatalf("New = %+v", c.Client)
	}
	if c := New(cfg, func(string) string { return "" }); c.Endpoint != "http://127.0.0.1:4566" {
		t.Fatalf("without AWS_ENDPOINT_URL_SQS: %q", c.Endpoint)
	}
}

// roundTrip answers every request in-process with a fixed answer and
// keeps the last body sent.
type roundTrip struct {
	mu     sync.Mutex
	body   []byte
	answer []byte
}

func (rt *roundTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	rt.mu.Lock()
	rt.body = b
	rt.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(rt.answer)), Request: r}, nil
}

func (rt *roundTrip) Do(r *http.Request) (*http.Response, error) { return rt.RoundTrip(r) }

func (rt *roundTrip) last() []byte {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.body
}

// FuzzBodyMatchesTheSDK: for any strings, the body Client sends is the
// SDK's, byte for byte.
func FuzzBodyMatchesTheSDK(f *testing.F) {
	for _, s := range tricky {
		f.Add(s, "c-1", "d-1", "AQEB", int32(30))
	}
	ours, theirs := &roundTrip{answer: []byte(`{}`)}, &roundTrip{answer: []byte(`{}`)}
	c := testClient("http://127.0.0.1:1", nil)
	c.HTTP = &http.Client{Transport: ours}
	sdk := sdkClient(aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String("http://127.0.0.1:1")}, theirs)
	f.Fuzz(func(t *testing.T, body, group, dedupe, handle string, secs int32) {
		ctx := context.Background()
		send := queue.SendRequest{QueueURL: queueURL, Body: body, GroupID: group, DedupeID: dedupe}
		if err := c.SendMessage(ctx, send); err != nil {
			t.Fatal(err)
		}
		if err := sdkSend(ctx, sdk, send); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours.last(), theirs.last()) || !json.Valid(ours.last()) {
			t.Fatalf("SendMessage body\n%q\nSDK\n%q", ours.last(), theirs.last())
		}
		vis := queue.VisibilityRequest{QueueURL: queueURL, ReceiptHandle: handle, Seconds: secs}
		if err := c.ChangeMessageVisibility(ctx, vis); err != nil {
			t.Fatal(err)
		}
		if err := sdkVisibility(ctx, sdk, vis); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours.last(), theirs.last()) {
			t.Fatalf("ChangeMessageVisibility body\n%q\nSDK\n%q", ours.last(), theirs.last())
		}
	})
}

// FuzzSendAnswer feeds SendMessage answers (200s) to Client: it accepts
// what the SDK accepts, and its error never quotes the answer.
func FuzzSendAnswer(f *testing.F) {
	f.Add([]byte(realAnswer("AmazonSQS.SendMessage", []byte(`{"MessageBody":"b"}`))))
	f.Add([]byte(`{"MD5OfMessageBody":"x"}`))
	f.Add([]byte(`{"MD5OfMessageBody":null}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"MD5OfMessageBody":"92eb5ffee6ae2fec3ad71c777531578f","MessageId":"m"} trailing`))
	f.Add([]byte(``))
	ours, theirs := &roundTrip{}, &roundTrip{}
	c := testClient("http://127.0.0.1:1", nil)
	c.HTTP = &http.Client{Transport: ours}
	sdk := sdkClient(aws.Config{Region: "eu-west-1", Credentials: staticCreds(), BaseEndpoint: aws.String("http://127.0.0.1:1")}, theirs)
	in := queue.SendRequest{QueueURL: queueURL, Body: "b", GroupID: "g", DedupeID: "d"}
	f.Fuzz(func(t *testing.T, answer []byte) {
		ours.answer, theirs.answer = answer, answer
		err := c.SendMessage(context.Background(), in)
		sdkErr := sdkSend(context.Background(), sdk, in)
		if err != nil && len(answer) > 8 && strings.Contains(err.Error(), string(answer)) {
			t.Fatalf("the error %q quotes the answer", err)
		}
		if err == nil && sdkErr != nil {
			var se *smithy.DeserializationError
			if !errors.As(sdkErr, &se) {
				// Only the SDK's stricter decoding may refuse more.
				t.Fatalf("Client accepted %q, the SDK: %v", answer, sdkErr)
			}
		}
		if err != nil && sdkErr == nil {
			t.Fatalf("Client refused %q (%v), the SDK accepted it", answer, err)
		}
	})
}
