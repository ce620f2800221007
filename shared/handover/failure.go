package handover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
)

// Failure is a handover that did not happen, as the AI agent is answered:
// an HTTP status, a code and a message that names the reason (never a
// platform's answer body). The calls that waited for a failed attempt get
// the same Failure, without its cause.
type Failure struct {
	Status  int
	Code    string
	Message string
	Err     error // the cause; nil for a failure another call recorded
}

func (f *Failure) Error() string {
	if f.Err == nil {
		return fmt.Sprintf("%s: %s", f.Code, f.Message)
	}
	return fmt.Sprintf("%s: %s: %v", f.Code, f.Message, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

func (f *Failure) record() state.HandoverFailure {
	return state.HandoverFailure{Status: f.Status, Code: f.Code, Message: f.Message}
}

func recorded(f *state.HandoverFailure) *Failure {
	return &Failure{Status: f.Status, Code: f.Code, Message: f.Message}
}

func failure(err error, status int, code, msg string) *Failure {
	return &Failure{Status: status, Code: code, Message: msg, Err: err}
}

func asFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return classify(err)
}

// classify tells the AI agent why the platform's handover failed: a refusal
// is a 409 (no point retrying as is), unavailability a 503, no confirmation
// in time a 504.
func classify(err error) *Failure {
	var he *egress.StatusError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, retry.ErrBudget) || errors.Is(err, source.ErrPending):
		return failure(err, http.StatusGatewayTimeout, "handover_timeout", "the platform did not confirm the handover in time")
	case errors.Is(err, source.ErrRefused):
		return failure(err, http.StatusConflict, "handover_rejected", "the platform refused the handover: "+short(err.Error()))
	case errors.As(err, &he) && egress.RetryableStatus(he.Status):
		return failure(err, http.StatusServiceUnavailable, "handover_unavailable", fmt.Sprintf("the platform is unavailable (HTTP %d)", he.Status))
	case errors.As(err, &he):
		return failure(err, http.StatusConflict, "handover_rejected", fmt.Sprintf("the platform refused the handover (HTTP %d): %s", he.Status, short(cmp.Or(he.Reason, he.Code))))
	case retry.IsRetryable(err):
		return failure(err, http.StatusServiceUnavailable, "handover_unavailable", "the platform could not be reached")
	default:
		return failure(err, http.StatusBadGateway, "handover_failed", "the handover failed; see logs")
	}
}

func short(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
