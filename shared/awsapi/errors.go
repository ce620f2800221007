package awsapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
)

// APIError is a non-2xx answer of an AWS API: the operation, its status,
// its error code (ResourceNotFoundException, AWS.SimpleQueueService.
// NonExistentQueue, …) and, where the service gives one (a Lambda
// throttle), its reason. It never holds the answer's message, which may
// quote the request. It is not an *egress.StatusError, whose statuses the
// consumers read as a vendor's verdict on a delivery (a 4xx: a dead
// letter); an AWS call's refusal is the bridge's own problem.
type APIError struct {
	Op     string // service and operation: "sqs SendMessage"
	Status int
	Code   string
	Reason string
}

// Error reads as egress's errors do.
func (e *APIError) Error() string {
	return (&egress.StatusError{Op: e.Op, Status: e.Status, Code: e.Code, Reason: e.Reason}).Error()
}

// ErrorCode is the code, as the SDK's errors name theirs.
func (e *APIError) ErrorCode() string { return e.Code }

// HTTPStatusCode is the answer's status, as the SDK's errors name it.
func (e *APIError) HTTPStatusCode() int { return e.Status }

// apiError reads an error answer as the SDK's JSON protocols do: the code
// is the X-Amzn-ErrorType header, else the body's __type or code, with a
// namespace before # and a URI after : dropped; for a query-compatible
// service an X-Amzn-Query-Error header's code (before its ;fault) wins.
// Only identifiers are kept (egress.SafeCode). The answer is retryable
// as the SDK's standard retryer has it: a 408, 429 or 5xx status
// (egress.RetryableStatus, the bridge's one rule), or a throttling or
// timeout code the SDK lists (ThrottlingException, RequestThrottled, …),
// whatever the status; a redirect never is.
func (c *Client) apiError(op string, resp *http.Response) error {
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
	if c.QueryCompatible {
		if q, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Query-Error"), ";"); q != "" {
			code = q
		}
	}
	e := &APIError{Op: op, Status: resp.StatusCode, Code: egress.SafeCode(code), Reason: egress.SafeCode(body.Reason)}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		e.Reason = "redirect not followed"
		return e
	}
	if Retryable(e.Status, e.Code) {
		return retry.Retryable(e, egress.RetryAfter(resp.Header.Get("Retry-After"), c.now()))
	}
	return e
}

// Retryable is the rule for an error answer: a retryable status, or one
// of the SDK standard retryer's throttling and timeout codes.
func Retryable(status int, code string) bool {
	if status >= 300 && status <= 399 {
		return false
	}
	if egress.RetryableStatus(status) {
		return true
	}
	_, throttle := awsretry.DefaultThrottleErrorCodes[code]
	_, timeout := awsretry.DefaultRetryableErrorCodes[code]
	return throttle || timeout
}
