package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/crmbridge/crmbridge/shared/awsapi"
)

// explain reads the SDK's errors and the bridge's own SQS client's alike.
func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"the SDK's access denied", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform dynamodb:Scan"},
			"list: access denied: the credentials' policy does not allow it (not authorized to perform dynamodb:Scan)"},
		{"SQS's access denied", fmt.Errorf("enqueue inbound record on q.fifo: %w", &awsapi.APIError{Op: "sqs SendMessage", Status: 400, Code: "AccessDenied"}),
			"replay k: access denied: the credentials' policy does not allow it (sqs SendMessage)"},
		{"SQS refusing the credentials", &awsapi.APIError{Op: "sqs SendMessage", Status: 403, Code: "InvalidClientTokenId"},
			"replay k: AWS refused the credentials (InvalidClientTokenId): no AWS credentials"},
		{"another SQS code", &awsapi.APIError{Op: "sqs SendMessage", Status: 400, Code: "AWS.SimpleQueueService.NonExistentQueue"},
			"replay k: sqs SendMessage: HTTP 400 (code AWS.SimpleQueueService.NonExistentQueue)"},
		{"not an AWS error", errors.New("boom"), "list: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			what := "list"
			if strings.Contains(tc.want, "replay k") {
				what = "replay k"
			}
			if got := explain(tc.err, what).Error(); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("explain = %q, want %q…", got, tc.want)
			}
		})
	}
}
