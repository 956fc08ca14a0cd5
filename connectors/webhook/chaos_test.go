package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/webhook"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestChaosOneRecordPerKey sends three versions of many keys, out of
// order and concurrently, to a receiver behind a ChaosServer, and checks
// that every key ends at its newest version and every signature verified.
func TestChaosOneRecordPerKey(t *testing.T) {
	keys := 40
	if testing.Short() {
		keys = 15
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("chaos seed %d", seed)
	var chaos *synclayertest.ChaosServer
	rc := newReceiverBehind(t, func(h http.Handler) http.Handler {
		chaos = synclayertest.NewChaosServer(h, synclayertest.Chaos{
			Seed: seed, ServerError: 0.05, RateLimited: 0.05, ResetBefore: 0.05,
			LostResponse: 0.05, Stall: 0.02, SlowBody: 0.05, TruncatedBody: 0.05,
		})
		return chaos
	})
	t.Cleanup(chaos.Close)
	conn, err := webhook.New(webhook.Config{URL: rc.srv.URL + "/in", Secrets: []string{testSecret}, Concurrency: 16})
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
		return synclayer.Record{Key: ev.Subject, Version: v, Payload: payload{Version: v}}, nil
	})
	policy := synclayer.RetryPolicy{MaxAttempts: 12, InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: time.Minute}
	if err := reg.Register("hooks", conn, synclayer.Route("Push", mapper), synclayer.WithRetry(policy),
		synclayer.WithTimeout(250*time.Millisecond), synclayer.WithConcurrency(16)); err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	var wg sync.WaitGroup
	for k := range keys {
		key := fmt.Sprintf("chaos-%03d", k)
		for _, v := range []int64{2, 3, 1} {
			wg.Go(func() {
				ev := synclayer.Event{ID: fmt.Sprintf("%s@%d", key, v), Type: "Push", Subject: key, Meta: map[string]string{"version": fmt.Sprint(v)}}
				if _, err := d.Dispatch(t.Context(), ev); err != nil {
					t.Errorf("dispatch failed: %v", err)
				}
			})
		}
	}
	wg.Wait()
	t.Logf("chaos: %v", chaos.Counts())
	if chaos.Counts().Faults() == 0 {
		t.Fatal("no fault was injected")
	}
	for k := range keys {
		key := fmt.Sprintf("chaos-%03d", k)
		if got, _ := rc.lookup(t.Context(), key); len(got) != 1 || got[0] != 3 {
			t.Errorf("key %q holds %v, want version 3", key, got)
		}
	}
	if n := rc.rejections(); n != 0 {
		t.Errorf("%d signatures rejected", n)
	}
}
