package apigw

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Error is an answer for the caller: a status, a stable machine code and a
// message that is safe to show (it never carries secrets or internal detail).
// Err is the internal cause, logged but never sent.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
	Headers    map[string]string
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil && !strings.Contains(e.Message, e.Err.Error()) {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches an internal cause to a caller-facing error.
func Wrap(err error, status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message, Err: err}
}

// JSONProblem describes why a body did not decode without echoing any of
// it: the byte offset of a syntax error, or the field of a wrong type.
func JSONProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return "wrong JSON type"
		}
		return "wrong JSON type at " + te.Field
	}
	return "invalid JSON"
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names the problem.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId,omitempty"`
}

// AsError returns the caller-facing form of err: the *Error inside it, or a
// 500 that says nothing about the cause.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see logs with the request ID", Err: err}
}

// Fail renders err as a JSON error response.
func Fail(err error, requestID string) events.APIGatewayV2HTTPResponse {
	e := AsError(err)
	resp := JSON(e.Status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, RequestID: requestID}})
	for k, v := range e.Headers {
		resp.Headers[k] = v
	}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		resp.Headers["Retry-After"] = strconv.Itoa(secs)
	}
	return resp
}

// JSON renders v with status. A value that cannot be encoded is a bug; it
// becomes a 500 rather than a panic.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"response could not be encoded"}}`)
	}
	return Raw(status, "application/json", b)
}

// Raw renders a body with a content type.
func Raw(status int, contentType string, body []byte) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": contentType},
		Body:       string(body),
	}
}
