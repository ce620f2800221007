// Package sqsapi is the functions' SQS client: the two calls they make
// themselves, SendMessage (shared/queue's Producer) and
// ChangeMessageVisibility (its Consumer's retry delays), each one signed
// POST in the AWS JSON 1.0 protocol, as the SDK's sqs.Client sends them
// (receiving and deleting are the event source mapping's). Not the SDK's
// client: linking and building it cost every function about 0.35 ms of a
// 7.5 ms cold start (its package inits) and 1 MB of binary, for two calls
// (issue 12). The local tools, which also receive, delete and create
// queues, keep the SDK's client.
package sqsapi

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/awsapi"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/retry"
)

// Client makes the SQS calls of shared/queue. It is safe for concurrent
// use.
type Client struct {
	awsapi.Client
}

var (
	_ queue.SendAPI       = (*Client)(nil)
	_ queue.VisibilityAPI = (*Client)(nil)
)

// Retry is the calls' policy: 3 attempts, as the SDK's standard retryer
// (shared/awsconf), with short jittered waits. It keeps no reserve before
// the deadline: the callers bound each call themselves (the consumer gives
// a visibility change 2 s).
var Retry = retry.Policy{Attempts: 3, Base: 100 * time.Millisecond, Cap: 2 * time.Second}

// maxAnswer bounds an answer: SendMessage's is three short fields.
const maxAnswer = 64 << 10

// New is the Client of a deployed function: cfg's region and credentials,
// and the endpoint awsapi.Endpoint chooses (AWS_ENDPOINT_URL_SQS, then
// AWS_ENDPOINT_URL, else https://sqs.{region}.amazonaws.com).
func New(cfg aws.Config, getenv func(string) string) *Client {
	c := awsapi.New(cfg, getenv, "sqs", Retry)
	c.QueryCompatible = true
	return &Client{c}
}

// ErrChecksum is a SendMessage answer whose MD5OfMessageBody is not the
// body's: SQS did not store what was sent. The SDK checks it too.
var ErrChecksum = errors.New("the answer's MD5OfMessageBody is not the body's")

// SendMessage implements queue.SendAPI. An empty group or deduplication
// ID is left out, as the SDK leaves out a nil one. A refusal is an
// *awsapi.APIError with SQS's code (AWS.SimpleQueueService.NonExistentQueue,
// InvalidParameterValue, …). Retries are safe: a FIFO queue stores a
// deduplication ID once in five minutes.
func (c *Client) SendMessage(ctx context.Context, in queue.SendRequest) error {
	if in.QueueURL == "" {
		return errors.New("sqs SendMessage: no queue URL")
	}
	// Members in the SDK's order (alphabetical), as it writes them.
	b := make([]byte, 0, len(in.Body)+len(in.QueueURL)+160)
	b = appendMember(b, "MessageBody", in.Body)
	if in.DedupeID != "" {
		b = appendMember(b, "MessageDeduplicationId", in.DedupeID)
	}
	if in.GroupID != "" {
		b = appendMember(b, "MessageGroupId", in.GroupID)
	}
	b = appendMember(b, "QueueUrl", in.QueueURL)
	a, err := c.call(ctx, "SendMessage", append(b, '}'))
	if err != nil {
		return err
	}
	if len(a.Body) == 0 {
		return nil // nothing to check, as in the SDK
	}
	// The first JSON value, as the SDK reads it (what follows is ignored),
	// its member names matched exactly (encoding/json's structs would
	// match them in any case).
	var out map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(a.Body)).Decode(&out) != nil {
		// Not the decoder's error: it may quote the answer.
		return errors.New("sqs SendMessage: the answer is not a SendMessage result")
	}
	raw, ok := out["MD5OfMessageBody"]
	if !ok {
		return nil
	}
	var sum *string // present, even empty, it must match; null is absent
	if json.Unmarshal(raw, &sum) != nil {
		return errors.New("sqs SendMessage: the answer is not a SendMessage result")
	}
	if want := md5.Sum([]byte(in.Body)); sum != nil && *sum != hex.EncodeToString(want[:]) {
		return fmt.Errorf("sqs SendMessage: %w", ErrChecksum)
	}
	return nil
}

// ChangeMessageVisibility implements queue.VisibilityAPI.
func (c *Client) ChangeMessageVisibility(ctx context.Context, in queue.VisibilityRequest) error {
	if in.QueueURL == "" {
		return errors.New("sqs ChangeMessageVisibility: no queue URL")
	}
	b := make([]byte, 0, len(in.QueueURL)+len(in.ReceiptHandle)+80)
	b = appendMember(b, "QueueUrl", in.QueueURL)
	b = appendMember(b, "ReceiptHandle", in.ReceiptHandle)
	b = append(b, `,"VisibilityTimeout":`...)
	b = strconv.AppendInt(b, int64(in.Seconds), 10)
	_, err := c.call(ctx, "ChangeMessageVisibility", append(b, '}'))
	return err
}

func (c *Client) call(ctx context.Context, op string, body []byte) (awsapi.Answer, error) {
	return c.Call(ctx, awsapi.Call{
		Op: op, Path: "/", Body: body, MaxAnswer: maxAnswer, Idempotent: true,
		Header: http.Header{
			"Content-Type": {"application/x-amz-json-1.0"},
			"X-Amz-Target": {"AmazonSQS." + op},
			// SQS answers query-compatible error codes (the
			// x-amzn-query-error header), as the SDK asks it to.
			"X-Amzn-Query-Mode": {"true"},
		},
	})
}

// appendMember appends "name":"value" to a JSON object being written: the
// opening brace before the first member, a comma before the others.
func appendMember(b []byte, name, value string) []byte {
	if len(b) == 0 {
		b = append(b, '{')
	} else {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendString appends s as a JSON string escaped as the SDK's JSON
// serializer (smithy-go) escapes it, so the bytes sent are the SDK's: " \
// and control characters escaped (\n \r \t, else \u00XX, DEL too), U+2028 and
// U+2029 as \u2028 and \u2029, each invalid UTF-8 byte replaced by U+FFFD,
// everything else (< > & included) as it is.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7F {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
