package synclayer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryPolicy says how often and how patiently the dispatcher retries a
// failed push. Waits grow exponentially from InitialInterval by Multiplier up
// to MaxInterval, each randomised by ±Jitter (a fraction, 0.5 means ±50%).
// Retrying stops after MaxAttempts attempts or once MaxElapsed has passed
// since the first attempt, whichever comes first.
//
// The zero value, and every zero field, means the default: 6 attempts
// over at most two minutes, waits from 200ms doubling to 30s, ±50% jitter
// (MaxAttempts 6, InitialInterval 200ms, MaxInterval 30s, MaxElapsed 2m,
// Multiplier 2, Jitter 0.5). To disable retries set MaxAttempts to 1; to disable
// jitter set Jitter to a negative number.
type RetryPolicy struct {
	MaxAttempts     int
	InitialInterval time.Duration
	MaxInterval     time.Duration
	MaxElapsed      time.Duration
	Multiplier      float64
	Jitter          float64
}

// defaultRetryPolicy is the policy of a connector registered without
// [WithRetry]: 6 attempts over at most two minutes, waits from 200ms
// doubling to 30s, ±50% jitter.
var defaultRetryPolicy = RetryPolicy{
	MaxAttempts:     6,
	InitialInterval: 200 * time.Millisecond,
	MaxInterval:     30 * time.Second,
	MaxElapsed:      2 * time.Minute,
	Multiplier:      2,
	Jitter:          0.5,
}

// withDefaults fills zero fields from defaultRetryPolicy.
func (p RetryPolicy) withDefaults() RetryPolicy {
	d := defaultRetryPolicy
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = d.InitialInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = d.MaxInterval
	}
	if p.MaxInterval < p.InitialInterval {
		p.MaxInterval = p.InitialInterval
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	if p.Multiplier < 1 {
		p.Multiplier = d.Multiplier
	}
	switch {
	case p.Jitter == 0:
		p.Jitter = d.Jitter
	case p.Jitter < 0:
		p.Jitter = 0
	case p.Jitter > 1:
		p.Jitter = 1
	}
	return p
}

// schedule returns the backoff schedule of one route's retries. The clock
// is started at the first attempt.
func (p RetryPolicy) schedule() *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.InitialInterval,
		RandomizationFactor: p.Jitter,
		Multiplier:          p.Multiplier,
		MaxInterval:         p.MaxInterval,
		MaxElapsedTime:      p.MaxElapsed,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	return b
}

// Permanent marks err as permanent: the dispatcher does not retry it, and a
// bus adapter dead-letters an event whose handler returned it. Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or any error it wraps, was marked with
// [Permanent].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfter attaches the partner's hint to come back after d (from an HTTP
// Retry-After header, say). The dispatcher waits d instead of its computed
// backoff, capped by the policy's MaxInterval; when that wait would take
// the route past the policy's MaxElapsed, the retries end. RetryAfter(nil,
// d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	if d < 0 {
		d = 0
	}
	return &retryAfterError{err: err, after: d}
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter returns the wait the partner asked for. synclayertest's
// RetryAfterHint finds it, so connector tests can check their
// classification.
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// retryAfterHint returns the wait attached to err by [RetryAfter], if any.
func retryAfterHint(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// jitter spreads d by ±f. It is used for lease polling, where backoff's
// schedule is not needed.
func jitter(d time.Duration, f float64) time.Duration {
	if f <= 0 || d <= 0 {
		return d
	}
	delta := f * float64(d)
	return time.Duration(float64(d) - delta + rand.Float64()*2*delta)
}

// nextWait decides, after a failed attempt, how long to wait before the
// next one, or returns the route's final error.
func nextWait(ctx context.Context, p *RetryPolicy, sched *backoff.ExponentialBackOff, attempt int, first, now time.Time, err error) (time.Duration, error) {
	switch {
	case IsPermanent(err):
		return 0, err
	case ctx.Err() != nil:
		return 0, afterErr(ctx.Err(), err)
	case attempt >= p.MaxAttempts:
		return 0, Permanent(fmt.Errorf("gave up after %d attempts in %v: %w", attempt, now.Sub(first).Round(time.Millisecond), err))
	}
	wait := sched.NextBackOff()
	if hint, ok := retryAfterHint(err); ok {
		wait = min(hint, p.MaxInterval)
	}
	if wait < 0 || now.Sub(first)+wait > p.MaxElapsed {
		return 0, Permanent(fmt.Errorf("gave up after %d attempts in %v (retry budget %v spent): %w", attempt, now.Sub(first).Round(time.Millisecond), p.MaxElapsed, err))
	}
	return wait, nil
}

func afterErr(ctxErr, last error) error { return fmt.Errorf("%w (after: %w)", ctxErr, last) }
