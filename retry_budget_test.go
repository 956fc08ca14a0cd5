package synclayer_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

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
