package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestChaosOneRecordPerKey pushes three versions of many keys, out of
// order and concurrently, to a partner behind a ChaosServer (5xx, 429 with
// both Retry-After forms, resets before and after the write, stalls, slow
// and truncated bodies), and checks the guarantee: every key ends with
// exactly one record, holding its newest version.
func TestChaosOneRecordPerKey(t *testing.T) {
	keys := 60
	if testing.Short() {
		keys = 20
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("chaos seed %d", seed)
	var chaos *synclayertest.ChaosServer
	p := newPartnerBehind(t, func(h http.Handler) http.Handler {
		chaos = synclayertest.NewChaosServer(h, synclayertest.Chaos{
			Seed:          seed,
			ServerError:   0.05,
			RateLimited:   0.05,
			ResetBefore:   0.05,
			LostResponse:  0.05,
			Stall:         0.02,
			SlowBody:      0.05,
			TruncatedBody: 0.05,
		})
		return chaos
	})
	t.Cleanup(chaos.Close)

	conn, err := rest.New(rest.Config{BaseURL: p.srv.URL, Name: "records", Concurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reg := new(synclayer.Registry)
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		var v int64
		if _, err := fmt.Sscan(ev.Meta["version"], &v); err != nil {
			return synclayer.Record{}, err
		}
		return synclayer.Record{Key: ev.Subject, Version: v, Payload: payload{Key: ev.Subject, Version: v}}, nil
	})
	policy := synclayer.RetryPolicy{MaxAttempts: 12, InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: time.Minute}
	if err := reg.Register("records", conn, synclayer.Route("Push", mapper), synclayer.WithRetry(policy),
		synclayer.WithTimeout(250*time.Millisecond), synclayer.WithConcurrency(16)); err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))

	var wg sync.WaitGroup
	errs := make(chan error, keys*3)
	for k := range keys {
		key := fmt.Sprintf("chaos/%03d", k)
		for _, v := range []int64{2, 3, 1} { // out of order
			wg.Go(func() {
				ev := synclayer.Event{ID: fmt.Sprintf("%s@%d", key, v), Type: "Push", Subject: key, Meta: map[string]string{"version": fmt.Sprint(v)}}
				if _, err := d.Dispatch(t.Context(), ev); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("dispatch failed: %v", err)
	}
	counts := chaos.Counts()
	t.Logf("chaos: %v", counts)
	if counts.Faults() == 0 {
		t.Fatal("no fault was injected")
	}
	for k := range keys {
		key := fmt.Sprintf("chaos/%03d", k)
		// Version 3 always syncs (nothing is newer); 1 and 2 either sync
		// before it or are skipped as stale after it.
		if got := p.versions(key); len(got) != 1 || got[0] != 3 {
			t.Errorf("key %q holds %v, want one record at version 3", key, got)
		}
	}
}
