package sqsapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/crmbridge/crmbridge/shared/awsapi"
	"github.com/crmbridge/crmbridge/shared/fauxqs"
	"github.com/crmbridge/crmbridge/shared/queue"
)

// TestFauxqs makes the calls against fauxqs, the emulator the local stack
// uses: a producer's record arrives with its group and deduplication ID,
// a second send of the same work is stored once, a visibility change hands
// a received message out again at once (its visibility timeout is 30 s,
// so without the change the next receive would come back empty), and
// fauxqs's refusals carry the codes the SDK's client reads from them.
func TestFauxqs(t *testing.T) {
	ctx := context.Background()
	srv, err := fauxqs.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sdk := sqs.NewFromConfig(cfg)
	c := New(cfg, func(string) string { return "" })
	if c.Endpoint != srv.URL {
		t.Fatalf("endpoint %q, want fauxqs's %q", c.Endpoint, srv.URL)
	}
	name := fmt.Sprintf("sqsapi-%d.fifo", time.Now().UnixNano())
	created, err := sdk.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"FifoQueue": "true", "ContentBasedDeduplication": "false", "VisibilityTimeout": "30",
	}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)

	p := &queue.Producer{API: c, URL: url}
	const pcid, key = "generic:acme:c-<1>&\u2028", "EVENT#generic#acme#e1"
	env := queue.Envelope{Kind: queue.KindInbound, Key: key, PCID: pcid, Data: []byte(`{"text":"Grüße, 日本語 \"quoted\""}`)}
	for range 2 {
		if err := p.Send(ctx, env, key); err != nil {
			t.Fatal(err)
		}
	}
	receive := func() types.Message {
		t.Helper()
		out, err := sdk.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 5,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 {
			t.Fatalf("received %d messages, want 1", len(out.Messages))
		}
		return out.Messages[0]
	}
	m := receive()
	got, err := queue.Decode(aws.ToString(m.Body))
	if err != nil || got.PCID != pcid || got.Key != key || string(got.Data) != string(env.Data) {
		t.Fatalf("received %+v, %v", got, err)
	}
	if g, d := m.Attributes["MessageGroupId"], m.Attributes["MessageDeduplicationId"]; g != queue.GroupID(pcid) || d != queue.DedupeID(key) {
		t.Fatalf("group %q, dedupe %q", g, d)
	}

	if err := c.ChangeMessageVisibility(ctx, queue.VisibilityRequest{QueueURL: url, ReceiptHandle: aws.ToString(m.ReceiptHandle), Seconds: 0}); err != nil {
		t.Fatal(err)
	}
	again := receive()
	if aws.ToString(again.MessageId) != aws.ToString(m.MessageId) || again.Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("received %s (receive count %s), want %s again", aws.ToString(again.MessageId), again.Attributes["ApproximateReceiveCount"], aws.ToString(m.MessageId))
	}
	attrs, err := sdk.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ := strconv.Atoi(attrs.Attributes["ApproximateNumberOfMessages"])
	inFlight, _ := strconv.Atoi(attrs.Attributes["ApproximateNumberOfMessagesNotVisible"])
	if visible+inFlight != 1 {
		t.Fatalf("%d visible and %d in flight, want the one message (the second send deduplicated)", visible, inFlight)
	}

	// Refusals: the same code as the SDK's client reads, and the answer's
	// message left out.
	missing := url[:len(url)-len(name)] + "no-such-queue.fifo"
	for _, tc := range []struct {
		name string
		ours func() error
		sdk  func() error
	}{
		{"a queue that does not exist", func() error {
			return c.SendMessage(ctx, queue.SendRequest{QueueURL: missing, Body: "b", GroupID: "g", DedupeID: "d"})
		}, func() error {
			return sdkSend(ctx, sdk, queue.SendRequest{QueueURL: missing, Body: "b", GroupID: "g", DedupeID: "d"})
		}},
		{"a FIFO message without a group", func() error {
			return c.SendMessage(ctx, queue.SendRequest{QueueURL: url, Body: "b", DedupeID: "d2"})
		}, func() error {
			return sdkSend(ctx, sdk, queue.SendRequest{QueueURL: url, Body: "b", DedupeID: "d2"})
		}},
		{"a receipt handle that is not one", func() error {
			return c.ChangeMessageVisibility(ctx, queue.VisibilityRequest{QueueURL: url, ReceiptHandle: "not-a-handle", Seconds: 5})
		}, func() error {
			return sdkVisibility(ctx, sdk, queue.VisibilityRequest{QueueURL: url, ReceiptHandle: "not-a-handle", Seconds: 5})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err, sdkErr := tc.ours(), tc.sdk()
			var ae *awsapi.APIError
			var se smithy.APIError
			if !errors.As(err, &ae) || !errors.As(sdkErr, &se) {
				t.Fatalf("Client: %v; SDK: %v", err, sdkErr)
			}
			if ae.Code == "" || ae.Code != se.ErrorCode() || ae.Status/100 != 4 {
				t.Fatalf("Client: %v; SDK: %v (code %q)", err, sdkErr, se.ErrorCode())
			}
			if msg := se.ErrorMessage(); msg != "" && msg != se.ErrorCode() && len(msg) > 8 && strings.Contains(err.Error(), msg) {
				t.Fatalf("the error %q carries the answer's message %q", err, msg)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}
