// Package retry runs an operation with capped exponential backoff and full
// jitter, inside the time the caller has left, and honours the delay a
// server asks for (Retry-After). It is the one retry layer of outbound
// calls: ultimate.Client runs its Chat API calls under a Policy itself;
// for the chat platforms the handlers run each adapter call under the
// bridge's Policy (app.Deps.Retry), and the adapters make one attempt per
// call, marking what is worth another with Retryable.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Policy bounds retries. The zero value makes one attempt.
type Policy struct {
	Attempts int           // total attempts, including the first
	Base     time.Duration // first backoff cap
	Cap      time.Duration // largest backoff
	// Reserve is time kept free before the context deadline for the caller's
	// own cleanup (releasing a lease, writing a dead letter).
	Reserve time.Duration
	// Jitter returns a value in [0,1); nil uses math/rand/v2.
	Jitter func() float64
	// Sleep waits for d or until ctx ends; nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// Default is the policy for outbound calls: 3 attempts, full jitter from
// 100 ms up to 2 s, keeping 2 s of the deadline for cleanup.
var Default = Policy{Attempts: 3, Base: 100 * time.Millisecond, Cap: 2 * time.Second, Reserve: 2 * time.Second}

// Retryable marks err as worth another attempt, optionally after a
// server-given delay (Retry-After, read by the egress package).
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err, after: after}
}

type retryableError struct {
	err   error
	after time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// IsRetryable reports whether err was marked Retryable.
func IsRetryable(err error) bool {
	var r *retryableError
	return errors.As(err, &r)
}

// ErrBudget wraps the last error when the deadline left no room for another
// attempt.
var ErrBudget = errors.New("retry budget exhausted")

// Do calls fn until it succeeds, returns an error not marked Retryable, the
// attempts run out, or the next wait would not fit before the deadline minus
// Reserve. Each call gets a context bounded by that same limit.
func (p Policy) Do(ctx context.Context, fn func(ctx context.Context, attempt int) error) error {
	attempts := max(p.Attempts, 1)
	now := p.Now
	if now == nil {
		now = time.Now
	}
	var limit time.Time
	if dl, ok := ctx.Deadline(); ok {
		limit = dl.Add(-p.Reserve)
	}
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if !limit.IsZero() {
			if !now().Before(limit) {
				if err == nil {
					err = context.DeadlineExceeded
				}
				return fmt.Errorf("%w before attempt %d: %w", ErrBudget, attempt, err)
			}
			actx, cancel = context.WithDeadline(ctx, limit)
		}
		err = fn(actx, attempt)
		cancel()
		if err == nil {
			return nil
		}
		var r *retryableError
		if !errors.As(err, &r) {
			return err
		}
		if attempt >= attempts {
			return err
		}
		wait := p.backoff(attempt)
		if r.after > wait {
			wait = r.after
		}
		// A wait that ends at the limit leaves no time for the attempt it
		// waits for: give up now rather than sleep and then give up.
		if !limit.IsZero() && !now().Add(wait).Before(limit) {
			return fmt.Errorf("%w after %d attempts: %w", ErrBudget, attempt, err)
		}
		if serr := p.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("waiting to retry: %w (last error: %w)", serr, err)
		}
	}
}

// backoff is full jitter: uniform in [0, min(Cap, Base*2^(attempt-1))).
func (p Policy) backoff(attempt int) time.Duration {
	if p.Base <= 0 {
		return 0
	}
	// Double by steps, saturating: a plain shift overflows into a negative
	// wait once Base·2^(attempt-1) passes 2^63 ns, and without a Cap nothing
	// would clamp it.
	ceil := p.Base
	for i := 1; i < attempt && (p.Cap <= 0 || ceil < p.Cap); i++ {
		if ceil > math.MaxInt64/2 {
			ceil = math.MaxInt64
			break
		}
		ceil *= 2
	}
	if p.Cap > 0 && ceil > p.Cap {
		ceil = p.Cap
	}
	j := p.Jitter
	if j == nil {
		j = rand.Float64
	}
	return time.Duration(j() * float64(ceil))
}

func (p Policy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
