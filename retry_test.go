package synclayer_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Rule 2: retries follow the policy. These tests run in a synctest bubble,
// so waits are exact and take no real time.

func oneConnector(t *testing.T, c synclayer.Connector, opts ...synclayer.ConnectorOption) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p", c, append([]synclayer.ConnectorOption{synclayer.Route("WorkflowDeployed", keyMapper)}, opts...)...))
	return synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
}

// attemptTimes records when each attempt started, relative to the first.
type attemptTimes struct {
	synclayer.Connector
	starts []time.Duration
	first  time.Time
}

func (a *attemptTimes) Sync(ctx context.Context, rec synclayer.Record) error {
	if a.first.IsZero() {
		a.first = time.Now()
	}
	a.starts = append(a.starts, time.Since(a.first))
	return a.Connector.Sync(ctx, rec)
}

func TestRetryTransientUntilSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Times: 2})
		at := &attemptTimes{Connector: fake}
		d := oneConnector(t, at, synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: time.Second, Multiplier: 2, Jitter: -1}))
		rep, err := d.Dispatch(t.Context(), event("e1", "K", 0))
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Results[0]
		if r.Status != synclayer.StatusSynced || r.Attempts != 3 {
			t.Fatalf("got %v after %d attempts, want synced after 3", r.Status, r.Attempts)
		}
		want := []time.Duration{0, time.Second, 3 * time.Second} // waits of 1s then 2s, no jitter
		if !equalDurations(at.starts, want) {
			t.Fatalf("attempts started at %v, want %v", at.starts, want)
		}
	})
}

func TestRetryJitterStaysInBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Times: 1})
		at := &attemptTimes{Connector: fake}
		d := oneConnector(t, at, synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: 10 * time.Second, Jitter: 0.5}))
		if _, err := d.Dispatch(t.Context(), event("e1", "K", 0)); err != nil {
			t.Fatal(err)
		}
		if w := at.starts[1]; w < 5*time.Second || w > 15*time.Second {
			t.Fatalf("first wait %v outside 10s ±50%%", w)
		}
	})
}

func TestPermanentErrorNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Err: synclayer.Permanent(errors.New("422 unprocessable"))})
		d := oneConnector(t, fake)
		rep, err := d.Dispatch(t.Context(), event("e1", "K", 0))
		if !synclayer.IsPermanent(err) || rep.Results[0].Attempts != 1 || fake.CallCount() != 1 {
			t.Fatalf("err %v after %d attempts; want a permanent failure after 1", err, rep.Results[0].Attempts)
		}
	})
}

func TestRetryAfterHonouredAndCapped(t *testing.T) {
	for _, tc := range []struct {
		name string
		hint time.Duration
		want time.Duration
	}{
		{"honoured", 7 * time.Second, 7 * time.Second},
		{"capped by MaxInterval", time.Hour, 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := synclayertest.NewFake()
				fake.Inject(synclayertest.Fault{Err: synclayer.RetryAfter(errors.New("429 too many requests"), tc.hint)})
				at := &attemptTimes{Connector: fake}
				d := oneConnector(t, at, synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: time.Second, MaxInterval: 20 * time.Second, MaxElapsed: time.Minute}))
				if _, err := d.Dispatch(t.Context(), event("e1", "K", 0)); err != nil {
					t.Fatal(err)
				}
				if !equalDurations(at.starts, []time.Duration{0, tc.want}) {
					t.Fatalf("attempts at %v, want the second at %v", at.starts, tc.want)
				}
			})
		})
	}
}

func TestRetryStopsAtMaxAttemptsAndMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Times: -1})
		d := oneConnector(t, fake, synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 4, InitialInterval: time.Millisecond, Jitter: -1}))
		rep, err := d.Dispatch(t.Context(), event("e1", "K", 0))
		if !errors.Is(err, synclayertest.ErrUnavailable) || rep.Results[0].Attempts != 4 {
			t.Fatalf("err %v after %d attempts; want ErrUnavailable after 4", err, rep.Results[0].Attempts)
		}
		if !synclayer.IsPermanent(err) {
			t.Fatal("a route whose retries are spent must be final (permanent)")
		}
	})
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Times: -1})
		d := oneConnector(t, fake, synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 100, InitialInterval: time.Second, Multiplier: 2, MaxElapsed: 10 * time.Second, Jitter: -1}))
		start := time.Now()
		rep, err := d.Dispatch(t.Context(), event("e1", "K", 0))
		// Waits 1, 2, 4 fit in 10s (attempts at 0, 1, 3, 7); the next (8s) would not.
		if rep.Results[0].Attempts != 4 || time.Since(start) != 7*time.Second {
			t.Fatalf("%d attempts over %v (err %v); want 4 over 7s", rep.Results[0].Attempts, time.Since(start), err)
		}
	})
}

func TestCancelStopsWaitingAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Times: -1})
		d := oneConnector(t, fake, synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: time.Hour, MaxElapsed: 10 * time.Hour}))
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		_, err := d.Dispatch(ctx, event("e1", "K", 0))
		if !errors.Is(err, context.Canceled) || time.Since(start) != time.Second {
			t.Fatalf("returned %v after %v; want context.Canceled right at the cancel (1s)", err, time.Since(start))
		}
		if synclayer.IsPermanent(err) {
			t.Fatal("a cancelled route is not final; it must stay retryable for a redelivery")
		}
	})
}

func TestEachAttemptGetsTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		never := make(chan struct{})
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Times: -1, Wait: never})
		at := &attemptTimes{Connector: fake}
		d := oneConnector(t, at, synclayer.WithTimeout(3*time.Second),
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second, Jitter: -1}))
		rep, err := d.Dispatch(t.Context(), event("e1", "K", 0))
		if !errors.Is(err, context.DeadlineExceeded) || rep.Results[0].Attempts != 2 {
			t.Fatalf("err %v after %d attempts; want DeadlineExceeded after 2", err, rep.Results[0].Attempts)
		}
		if !equalDurations(at.starts, []time.Duration{0, 4 * time.Second}) { // 3s timeout + 1s wait
			t.Fatalf("attempts at %v, want [0s 4s]", at.starts)
		}
	})
}

func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		d := oneConnector(t, fake, synclayer.WithRateLimit(2, 1))
		start := time.Now()
		for i := range 5 {
			if _, err := d.Dispatch(t.Context(), event(string(rune('a'+i)), "K", 0)); err != nil {
				t.Fatal(err)
			}
		}
		// 1 at once, then one every 500ms.
		if got := time.Since(start); got != 2*time.Second {
			t.Fatalf("5 pushes at 2/s took %v, want 2s", got)
		}
	})
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The edges of the retry budget: a Retry-After of zero retries at once; a
// retry that lands exactly at MaxElapsed is still made; and the budget
// counts from the start of the first attempt, slow attempts included.
func TestRetryBudgetEdges(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		name   string
		fault  synclayertest.Fault
		opts   []synclayer.ConnectorOption
		synced bool
		starts []time.Duration
	}{
		{"Retry-After 0", synclayertest.Fault{Err: synclayer.RetryAfter(errors.New("429"), 0)},
			[]synclayer.ConnectorOption{synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: s, Jitter: -1})},
			true, []time.Duration{0, 0}},
		{"retry at exactly MaxElapsed", synclayertest.Fault{Times: 2},
			[]synclayer.ConnectorOption{synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 5, InitialInterval: s, Multiplier: 2, MaxElapsed: 3 * s, Jitter: -1})},
			true, []time.Duration{0, s, 3 * s}},
		{"slow first attempt spends the budget", synclayertest.Fault{Times: 1, Wait: nil}, // replaced by a stall inside the bubble
			[]synclayer.ConnectorOption{synclayer.WithTimeout(3 * s),
				synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 5, InitialInterval: 2 * s, MaxElapsed: 4 * s, Jitter: -1})},
			false, []time.Duration{0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := synclayertest.NewFake()
				if !c.synced {
					c.fault.Wait = make(chan struct{}) // never closed: the attempt stalls to its timeout
				}
				fake.Inject(c.fault)
				at := &attemptTimes{Connector: fake}
				d := oneConnector(t, at, c.opts...)
				rep, err := d.Dispatch(t.Context(), event("e1", "K", 0))
				if got := rep.Results[0].Status == synclayer.StatusSynced; got != c.synced {
					t.Fatalf("synced %v (err %v), want %v", got, err, c.synced)
				}
				if !c.synced && (!synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "retry budget 4s spent")) {
					t.Fatalf("err %v; want a permanent error saying the budget was spent", err)
				}
				if !equalDurations(at.starts, c.starts) {
					t.Fatalf("attempts started at %v, want %v", at.starts, c.starts)
				}
			})
		})
	}
}

// Each zero field of a RetryPolicy takes its value from
// DefaultRetryPolicy, and a MaxInterval below InitialInterval is raised to
// it. The waits are read from when the attempts start, in a synctest
// bubble, so they are exact. Jitter -1 turns jitter off.
func TestRetryPolicyDefaults(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		name   string
		policy synclayer.RetryPolicy
		starts []time.Duration // of the attempts, from the first; all fail
	}{
		{"MaxAttempts 6", synclayer.RetryPolicy{InitialInterval: s, Multiplier: 1, Jitter: -1},
			[]time.Duration{0, s, 2 * s, 3 * s, 4 * s, 5 * s}},
		{"InitialInterval 200ms", synclayer.RetryPolicy{MaxAttempts: 3, Multiplier: 1, Jitter: -1},
			[]time.Duration{0, 200 * time.Millisecond, 400 * time.Millisecond}},
		{"MaxInterval 30s", synclayer.RetryPolicy{MaxAttempts: 4, InitialInterval: 20 * s, Multiplier: 2, MaxElapsed: time.Hour, Jitter: -1},
			[]time.Duration{0, 20 * s, 50 * s, 80 * s}},
		{"MaxInterval raised to InitialInterval", synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: 10 * s, MaxInterval: 5 * s, Multiplier: 2, Jitter: -1},
			[]time.Duration{0, 10 * s, 20 * s}},
		{"MaxElapsed 2m", synclayer.RetryPolicy{MaxAttempts: 10, InitialInterval: 50 * s, MaxInterval: 50 * s, Jitter: -1},
			[]time.Duration{0, 50 * s, 100 * s}},
		{"Multiplier 2", synclayer.RetryPolicy{MaxAttempts: 4, InitialInterval: s, Jitter: -1},
			[]time.Duration{0, s, 3 * s, 7 * s}},
		{"Multiplier below 1", synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: s, Multiplier: 0.5, Jitter: -1},
			[]time.Duration{0, s, 3 * s}},
		{"Multiplier 1 kept", synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: s, Multiplier: 1, Jitter: -1},
			[]time.Duration{0, s, 2 * s}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := synclayertest.NewFake()
				fake.Inject(synclayertest.Fault{Times: -1})
				at := &attemptTimes{Connector: fake}
				d := oneConnector(t, at, synclayer.WithRetry(c.policy))
				if _, err := d.Dispatch(t.Context(), event("e1", "K", 0)); err == nil {
					t.Fatal("dispatch succeeded against a partner that always fails")
				}
				if !equalDurations(at.starts, c.starts) {
					t.Fatalf("attempts started at %v, want %v", at.starts, c.starts)
				}
			})
		})
	}
}

// With the default jitter of 0.5, the first wait of the default 200ms lies
// within 100ms and 300ms, and varies.
func TestRetryPolicyDefaultJitter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			fake := synclayertest.NewFake()
			fake.Inject(synclayertest.Fault{Times: -1})
			at := &attemptTimes{Connector: fake}
			d := oneConnector(t, at, synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 2}))
			_, _ = d.Dispatch(t.Context(), event("e1", "K", 0))
			if len(at.starts) != 2 || at.starts[1] < 100*time.Millisecond || at.starts[1] > 300*time.Millisecond {
				t.Fatalf("attempts started at %v, want the second within 100ms and 300ms", at.starts)
			}
			seen[at.starts[1]] = true
		})
	}
	if len(seen) < 2 {
		t.Fatalf("20 first waits all took %v: no jitter", seen)
	}
}

// When the retry budget is spent, the error says how many attempts were
// made over how long, counted from the first attempt.
func TestRetryGiveUpSaysAttemptsAndTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Times: -1})
		d := oneConnector(t, fake, synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 100, InitialInterval: time.Second, Multiplier: 2, MaxElapsed: 10 * time.Second, Jitter: -1}))
		_, err := d.Dispatch(t.Context(), event("e1", "K", 0))
		if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts in 7s (retry budget 10s spent)") {
			t.Fatalf("err %v; want it to say it gave up after 4 attempts in 7s", err)
		}
		d = oneConnector(t, fake, synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, Multiplier: 2, Jitter: -1}))
		_, err = d.Dispatch(t.Context(), event("e2", "K", 0))
		if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts in 3s") {
			t.Fatalf("err %v; want it to say it gave up after 3 attempts in 3s", err)
		}
	})
}

// Each attempt gets the whole of WithTimeout from its own start: a retry
// that comes after a backoff longer than the timeout is not born past its
// deadline.
func TestRetryGetsItsOwnAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		push := synclayer.ConnectorFunc(func(ctx context.Context, _ synclayer.Record) error {
			if calls.Add(1) == 1 {
				return errors.New("503 try again")
			}
			select { // the retry needs half its timeout
			case <-time.After(500 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		reg := new(synclayer.Registry)
		must(t, reg.Register("p0", push, synclayer.Route("WorkflowDeployed", keyMapper),
			synclayer.WithTimeout(time.Second),
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 2, InitialInterval: 5 * time.Second, MaxInterval: 5 * time.Second, MaxElapsed: time.Minute})))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
		rep, err := d.Dispatch(context.Background(), event("e1", "K1", 1))
		if err != nil {
			t.Fatalf("dispatch: %v; want the retry to succeed within its own timeout", err)
		}
		if r := rep.Results[0]; r.Status != synclayer.StatusSynced || r.Attempts != 2 {
			t.Fatalf("result %v after %d attempts, want synced after 2", r.Status, r.Attempts)
		}
	})
}

// The context a connector gets for one attempt ends at the attempt timeout
// and with the dispatch, and says so through Err and Deadline even when the
// connector never waits on Done.
func TestAttemptContextEndsAtTimeoutAndWithDispatch(t *testing.T) {
	const timeout = 50 * time.Millisecond
	type seen struct {
		before, after error
		deadline      time.Duration
		hasDeadline   bool
	}
	run := func(t *testing.T, wait func(ctx context.Context)) seen {
		var s seen
		conn := synclayer.ConnectorFunc(func(ctx context.Context, _ synclayer.Record) error {
			s.before = ctx.Err()
			dl, ok := ctx.Deadline()
			s.deadline, s.hasDeadline = time.Until(dl), ok
			wait(ctx)
			s.after = ctx.Err()
			return nil
		})
		reg := new(synclayer.Registry)
		must(t, reg.Register("p", conn, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithTimeout(timeout)))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
		if _, err := d.Dispatch(t.Context(), event("e1", "K", 0)); err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := run(t, func(context.Context) { time.Sleep(2 * timeout) })
			if s.before != nil || !s.hasDeadline || s.deadline != timeout {
				t.Fatalf("at the start: Err %v, Deadline in %v (%v); want nil, in %v", s.before, s.deadline, s.hasDeadline, timeout)
			}
			if !errors.Is(s.after, context.DeadlineExceeded) {
				t.Fatalf("after the attempt timeout: Err %v, want context.DeadlineExceeded", s.after)
			}
		})
	})
	t.Run("dispatch cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			var s seen
			conn := synclayer.ConnectorFunc(func(actx context.Context, _ synclayer.Record) error {
				cancel()
				s.after = actx.Err()
				return nil
			})
			reg := new(synclayer.Registry)
			must(t, reg.Register("p", conn, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithTimeout(timeout)))
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
			_, _ = d.Dispatch(ctx, event("e1", "K", 0))
			if !errors.Is(s.after, context.Canceled) {
				t.Fatalf("after the dispatch's context ended: Err %v, want context.Canceled", s.after)
			}
		})
	})
	t.Run("earlier parent deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), timeout/2)
			defer cancel()
			var dl time.Duration
			conn := synclayer.ConnectorFunc(func(actx context.Context, _ synclayer.Record) error {
				d, _ := actx.Deadline()
				dl = time.Until(d)
				return nil
			})
			reg := new(synclayer.Registry)
			must(t, reg.Register("p", conn, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithTimeout(timeout)))
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
			if _, err := d.Dispatch(ctx, event("e1", "K", 0)); err != nil {
				t.Fatal(err)
			}
			if dl != timeout/2 {
				t.Fatalf("Deadline in %v, want the dispatch's own, earlier deadline, in %v", dl, timeout/2)
			}
		})
	})
}
