package queue

import "context"

// SendRequest is one SendMessage call: a FIFO message.
type SendRequest struct {
	QueueURL string
	Body     string
	GroupID  string // MessageGroupId
	DedupeID string // MessageDeduplicationId
}

// SendAPI is the SQS call a producer makes (shared/queue/sqsapi's Client
// in the functions).
type SendAPI interface {
	SendMessage(ctx context.Context, in SendRequest) error
}

// VisibilityRequest is one ChangeMessageVisibility call.
type VisibilityRequest struct {
	QueueURL      string
	ReceiptHandle string
	Seconds       int32 // VisibilityTimeout
}

// VisibilityAPI is the SQS call that delays a failed record's next
// delivery.
type VisibilityAPI interface {
	ChangeMessageVisibility(ctx context.Context, in VisibilityRequest) error
}
