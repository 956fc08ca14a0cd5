package synclayer_test

import (
	"context"
	"errors"
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
