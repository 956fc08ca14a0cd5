package synclayer_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

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
