package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// clock is a fake time source whose Sleep advances the time and records
// each wait. It starts at the real time so that contexts with deadlines
// relative to it do not expire while a test runs; after that only Sleep and
// the tests move it.
type clock struct {
	now   time.Time
	waits []time.Duration
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time { return c.now }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

// policy returns p wired to c, with a jitter that always returns j.
func (c *clock) policy(p Policy, j float64) Policy {
	p.Now, p.Sleep = c.Now, c.Sleep
	p.Jitter = func() float64 { return j }
	return p
}

var errTransient = errors.New("transient")

// script returns an fn that returns errs in turn (nil once they run out)
// and counts its calls.
func script(calls *int, errs ...error) func(context.Context, int) error {
	return func(_ context.Context, attempt int) error {
		*calls++
		if attempt != *calls {
			panic(fmt.Sprintf("attempt %d on call %d", attempt, *calls))
		}
		if attempt <= len(errs) {
			return errs[attempt-1]
		}
		return nil
	}
}

func TestDo(t *testing.T) {
	permanent := errors.New("permanent")
	base := Policy{Attempts: 3, Base: 100 * time.Millisecond, Cap: time.Second}
	tests := []struct {
		name      string
		policy    Policy
		jitter    float64
		errs      []error
		wantCalls int
		wantErr   error // nil: success
		wantWaits []time.Duration
	}{
		{name: "first try", policy: base, jitter: 0.5, wantCalls: 1},
		{name: "non-retryable stops", policy: base, jitter: 0.5, errs: []error{permanent}, wantCalls: 1, wantErr: permanent},
		{name: "retryable then success", policy: base, jitter: 0.5, errs: []error{Retryable(errTransient, 0)}, wantCalls: 2, wantWaits: []time.Duration{50 * time.Millisecond}},
		{name: "retryable then permanent", policy: base, jitter: 0.5, errs: []error{Retryable(errTransient, 0), permanent}, wantCalls: 2, wantErr: permanent, wantWaits: []time.Duration{50 * time.Millisecond}},
		{name: "attempts run out", policy: base, jitter: 0.5, errs: []error{Retryable(errTransient, 0), Retryable(errTransient, 0), Retryable(errTransient, 0), nil},
			wantCalls: 3, wantErr: errTransient, wantWaits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{name: "backoff doubles and is capped", policy: Policy{Attempts: 6, Base: 100 * time.Millisecond, Cap: 300 * time.Millisecond}, jitter: 0.5,
			errs:      []error{Retryable(errTransient, 0), Retryable(errTransient, 0), Retryable(errTransient, 0), Retryable(errTransient, 0), Retryable(errTransient, 0)},
			wantCalls: 6, wantWaits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond}},
		{name: "retry-after larger than backoff wins", policy: base, jitter: 0.5, errs: []error{Retryable(errTransient, 700*time.Millisecond)}, wantCalls: 2, wantWaits: []time.Duration{700 * time.Millisecond}},
		{name: "retry-after smaller than backoff loses", policy: base, jitter: 0.9, errs: []error{Retryable(errTransient, time.Millisecond)}, wantCalls: 2, wantWaits: []time.Duration{90 * time.Millisecond}},
		{name: "zero policy makes one attempt", policy: Policy{}, errs: []error{Retryable(errTransient, 0)}, wantCalls: 1, wantErr: errTransient},
		{name: "zero base retries at once", policy: Policy{Attempts: 2}, errs: []error{Retryable(errTransient, 0)}, wantCalls: 2, wantWaits: []time.Duration{0}},
		{name: "wrapped retryable is retryable", policy: base, jitter: 0, errs: []error{fmt.Errorf("ctx: %w", Retryable(errTransient, 0))}, wantCalls: 2, wantWaits: []time.Duration{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			calls := 0
			err := c.policy(tt.policy, tt.jitter).Do(context.Background(), script(&calls, tt.errs...))
			if calls != tt.wantCalls {
				t.Fatalf("%d calls, want %d", calls, tt.wantCalls)
			}
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Do: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Do = %v, want %v", err, tt.wantErr)
			}
			if fmt.Sprint(c.waits) != fmt.Sprint(tt.wantWaits) {
				t.Fatalf("waits %v, want %v", c.waits, tt.wantWaits)
			}
		})
	}
}

func TestDoDeadline(t *testing.T) {
	c := newClock()
	deadline := c.now.Add(10 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	p := c.policy(Policy{Attempts: 10, Base: time.Second, Cap: 8 * time.Second, Reserve: 2 * time.Second}, 0.999)
	limit := deadline.Add(-2 * time.Second)

	var deadlines []time.Time
	calls := 0
	err := p.Do(ctx, func(ctx context.Context, attempt int) error {
		calls++
		dl, ok := ctx.Deadline()
		if !ok {
			t.Fatalf("attempt %d has no deadline", attempt)
		}
		deadlines = append(deadlines, dl)
		c.now = c.now.Add(100 * time.Millisecond) // the call takes time
		return Retryable(fmt.Errorf("try %d: %w", attempt, errTransient), 0)
	})
	if !errors.Is(err, ErrBudget) || !errors.Is(err, errTransient) {
		t.Fatalf("Do = %v, want ErrBudget wrapping the last error", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("try %d", calls)) {
		t.Fatalf("error %q does not carry the last attempt's error (%d calls)", err, calls)
	}
	for i, dl := range deadlines {
		if !dl.Equal(limit) {
			t.Fatalf("attempt %d deadline %v, want deadline-Reserve %v", i+1, dl, limit)
		}
	}
	if c.now.After(limit) {
		t.Fatalf("slept until %v, past deadline-Reserve %v", c.now, limit)
	}
	// With jitter ~1: waits of ~1 s, ~2 s and ~4 s fit in the 8 s before the
	// limit; the fourth (~8 s) would pass it.
	if calls != 4 || len(c.waits) != 3 {
		t.Fatalf("%d calls, waits %v", calls, c.waits)
	}
}

func TestDoNoRoomBeforeFirstAttempt(t *testing.T) {
	c := newClock()
	ctx, cancel := context.WithDeadline(context.Background(), c.now.Add(time.Second))
	defer cancel()
	calls := 0
	err := c.policy(Policy{Attempts: 3, Reserve: 2 * time.Second}, 0).Do(ctx, script(&calls))
	if calls != 0 {
		t.Fatalf("%d calls, want none: the reserve already covers the deadline", calls)
	}
	if !errors.Is(err, ErrBudget) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do = %v, want ErrBudget wrapping DeadlineExceeded", err)
	}
}

func TestDoBudgetRunsOutBetweenAttempts(t *testing.T) {
	// The retry-after alone would overshoot the limit: no sleep at all.
	c := newClock()
	ctx, cancel := context.WithDeadline(context.Background(), c.now.Add(5*time.Second))
	defer cancel()
	calls := 0
	err := c.policy(Policy{Attempts: 3, Base: time.Millisecond, Reserve: time.Second}, 0).Do(ctx,
		script(&calls, Retryable(errTransient, 5*time.Second)))
	if calls != 1 || len(c.waits) != 0 {
		t.Fatalf("%d calls, waits %v", calls, c.waits)
	}
	if !errors.Is(err, ErrBudget) || !errors.Is(err, errTransient) {
		t.Fatalf("Do = %v", err)
	}
}

func TestDoWaitUpToTheLimit(t *testing.T) {
	tests := []struct {
		name      string
		after     time.Duration
		wantCalls int
		wantWaits int
		budget    bool
	}{
		{name: "ends just before the limit", after: 2*time.Second - time.Millisecond, wantCalls: 2, wantWaits: 1},
		// Sleeping exactly to the limit would leave no time for the attempt:
		// Do gives up at once instead of sleeping first.
		{name: "ends at the limit", after: 2 * time.Second, wantCalls: 1, budget: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			ctx, cancel := context.WithDeadline(context.Background(), c.now.Add(3*time.Second))
			defer cancel()
			calls := 0
			err := c.policy(Policy{Attempts: 2, Reserve: time.Second}, 0).Do(ctx, script(&calls, Retryable(errTransient, tt.after)))
			if calls != tt.wantCalls || len(c.waits) != tt.wantWaits {
				t.Fatalf("%d calls, waits %v", calls, c.waits)
			}
			if tt.budget != errors.Is(err, ErrBudget) || (!tt.budget && err != nil) {
				t.Fatalf("Do = %v", err)
			}
		})
	}
}

func TestDoCancelledWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{Attempts: 5, Base: time.Hour, Cap: time.Hour, Jitter: func() float64 { return 0.5 }}
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- p.Do(ctx, func(context.Context, int) error {
			calls++
			cancel()
			return Retryable(errTransient, 0)
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) {
			t.Fatalf("Do = %v, want Canceled and the last error", err)
		}
	case <-time.After(time.Minute): // only a Do that sleeps its hour gets here
		t.Fatal("Do kept waiting after the context was cancelled")
	}
	if calls != 1 {
		t.Fatalf("%d calls", calls)
	}
}

func TestDoInjectedSleepError(t *testing.T) {
	stop := errors.New("stop")
	p := Policy{Attempts: 3, Base: time.Millisecond, Sleep: func(context.Context, time.Duration) error { return stop }}
	calls := 0
	err := p.Do(context.Background(), script(&calls, Retryable(errTransient, 0)))
	if calls != 1 || !errors.Is(err, stop) || !errors.Is(err, errTransient) {
		t.Fatalf("calls %d err %v", calls, err)
	}
}

func TestDoRealSleep(t *testing.T) {
	// The default timer-based sleep, with waits of at most a millisecond.
	p := Policy{Attempts: 3, Base: time.Millisecond, Cap: time.Millisecond}
	calls := 0
	if err := p.Do(context.Background(), script(&calls, Retryable(errTransient, 0), Retryable(errTransient, 0))); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Fatalf("%d calls", calls)
	}
}

func TestDoNoDeadlineMeansNoAttemptDeadline(t *testing.T) {
	calls := 0
	err := Policy{Attempts: 1}.Do(context.Background(), func(ctx context.Context, _ int) error {
		calls++
		if _, ok := ctx.Deadline(); ok {
			t.Error("attempt got a deadline the caller never set")
		}
		return nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("calls %d err %v", calls, err)
	}
}

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		base, cap time.Duration
		attempt   int
		ceil      time.Duration
	}{
		{base: 100 * time.Millisecond, cap: 2 * time.Second, attempt: 1, ceil: 100 * time.Millisecond},
		{base: 100 * time.Millisecond, cap: 2 * time.Second, attempt: 2, ceil: 200 * time.Millisecond},
		{base: 100 * time.Millisecond, cap: 2 * time.Second, attempt: 5, ceil: 1600 * time.Millisecond},
		{base: 100 * time.Millisecond, cap: 2 * time.Second, attempt: 6, ceil: 2 * time.Second},
		{base: 100 * time.Millisecond, cap: 2 * time.Second, attempt: 40, ceil: 2 * time.Second},
		{base: 100 * time.Millisecond, cap: 2 * time.Second, attempt: 1000, ceil: 2 * time.Second},
		// No cap: the ceiling still never overflows into a negative wait.
		{base: time.Hour, cap: 0, attempt: 1, ceil: time.Hour},
		{base: time.Hour, cap: 0, attempt: 40, ceil: time.Duration(1<<63 - 1)},
		{base: 10 * time.Second, cap: 0, attempt: 31, ceil: time.Duration(1<<63 - 1)},
		{base: 10 * time.Second, cap: time.Minute, attempt: 31, ceil: time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v-%v-%d", tt.base, tt.cap, tt.attempt), func(t *testing.T) {
			for _, j := range []float64{0, 0.25, 0.5, 0.999999} {
				p := Policy{Base: tt.base, Cap: tt.cap, Jitter: func() float64 { return j }}
				got := p.backoff(tt.attempt)
				if got < 0 || (got >= tt.ceil && tt.ceil > 0) {
					t.Fatalf("jitter %v: backoff %v outside [0, %v)", j, got, tt.ceil)
				}
				want := time.Duration(j * float64(tt.ceil))
				if diff := got - want; diff > time.Microsecond || diff < -time.Microsecond {
					t.Fatalf("jitter %v: backoff %v, want about %v", j, got, want)
				}
			}
		})
	}
}

func TestBackoffDefaultJitter(t *testing.T) {
	p := Policy{Base: 10 * time.Millisecond, Cap: 40 * time.Millisecond}
	for attempt := 1; attempt <= 6; attempt++ {
		ceil := min(40*time.Millisecond, 10*time.Millisecond<<(attempt-1))
		for range 200 {
			if d := p.backoff(attempt); d < 0 || d >= ceil {
				t.Fatalf("attempt %d: %v outside [0, %v)", attempt, d, ceil)
			}
		}
	}
	if d := (Policy{}).backoff(3); d != 0 {
		t.Fatalf("zero base backoff %v", d)
	}
}

func TestRetryable(t *testing.T) {
	if Retryable(nil, time.Second) != nil {
		t.Fatal("Retryable(nil) is not nil")
	}
	err := Retryable(errTransient, time.Second)
	if !IsRetryable(err) || !IsRetryable(fmt.Errorf("x: %w", err)) {
		t.Fatal("IsRetryable false for a retryable error")
	}
	if IsRetryable(errTransient) || IsRetryable(nil) {
		t.Fatal("IsRetryable true for a plain error")
	}
	if err.Error() != "transient" || !errors.Is(err, errTransient) {
		t.Fatalf("Error() %q, Is %v", err, errors.Is(err, errTransient))
	}
}

func TestDefaultPolicy(t *testing.T) {
	if Default.Attempts != 3 || Default.Base != 100*time.Millisecond || Default.Cap != 2*time.Second || Default.Reserve != 2*time.Second {
		t.Fatalf("Default = %+v", Default)
	}
}
