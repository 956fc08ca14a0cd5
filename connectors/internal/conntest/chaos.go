package conntest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Lookup returns the version of each record a partner holds for key.
type Lookup func(ctx context.Context, key string) ([]int64, error)

// Chaos is one connector's chaos test: three versions of many keys are
// pushed out of order and concurrently, through a dispatcher, to a partner
// behind a synclayertest.ChaosServer (5xx, 429 with both Retry-After forms,
// resets before and after the write, stalls, slow and truncated bodies).
// The guarantee must hold: every key ends with exactly one record, holding
// its newest version.
type Chaos struct {
	// Name is the name the connector is registered under.
	Name string
	// Keys is how many keys are pushed; ShortKeys under -short.
	Keys, ShortKeys int
	// KeyFormat makes the key of index i ("chaos/%03d").
	KeyFormat string
	// Payload is the record payload of a key at a version.
	Payload func(key string, version int64) any
	// Start serves the partner through wrap (the chaos handler) and
	// returns the connector that writes to it and how to read what the
	// partner holds. It registers its own cleanups.
	Start func(t *testing.T, wrap func(http.Handler) http.Handler) (synclayer.Connector, Lookup)
}

// Run runs the scenario.
func (c Chaos) Run(t *testing.T) {
	keys := c.Keys
	if testing.Short() {
		keys = c.ShortKeys
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("chaos seed %d", seed)
	var chaos *synclayertest.ChaosServer
	conn, lookup := c.Start(t, func(h http.Handler) http.Handler {
		chaos = synclayertest.NewChaosServer(h, synclayertest.Chaos{
			Seed: seed, ServerError: 0.05, RateLimited: 0.05, ResetBefore: 0.05,
			LostResponse: 0.05, Stall: 0.02, SlowBody: 0.05, TruncatedBody: 0.05,
		})
		return chaos
	})
	t.Cleanup(chaos.Close)

	reg := new(synclayer.Registry)
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		var v int64
		if _, err := fmt.Sscan(ev.Meta["version"], &v); err != nil {
			return synclayer.Record{}, err
		}
		return synclayer.Record{Key: ev.Subject, Version: v, Payload: c.Payload(ev.Subject, v)}, nil
	})
	policy := synclayer.RetryPolicy{MaxAttempts: 12, InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: time.Minute}
	if err := reg.Register(c.Name, conn, synclayer.Route("Push", mapper), synclayer.WithRetry(policy),
		synclayer.WithTimeout(250*time.Millisecond), synclayer.WithConcurrency(16)); err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))

	var wg sync.WaitGroup
	for k := range keys {
		key := fmt.Sprintf(c.KeyFormat, k)
		for _, v := range []int64{2, 3, 1} { // out of order
			wg.Go(func() {
				ev := synclayer.Event{ID: fmt.Sprintf("%s@%d", key, v), Type: "Push", Subject: key, Meta: map[string]string{"version": fmt.Sprint(v)}}
				if _, err := d.Dispatch(t.Context(), ev); err != nil {
					t.Errorf("dispatch failed: %v", err)
				}
			})
		}
	}
	wg.Wait()
	counts := chaos.Counts()
	t.Logf("chaos: %v", counts)
	if counts.Faults() == 0 {
		t.Fatal("no fault was injected")
	}
	for k := range keys {
		key := fmt.Sprintf(c.KeyFormat, k)
		// Version 3 always syncs (nothing is newer); 1 and 2 either sync
		// before it or are skipped as stale after it.
		got, err := lookup(t.Context(), key)
		if err != nil || len(got) != 1 || got[0] != 3 {
			t.Errorf("key %q holds %v (%v), want one record at version 3", key, got, err)
		}
	}
}
