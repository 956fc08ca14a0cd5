package synclayer_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// remoteStore hides a MemoryStore's type, so the dispatcher treats it as a
// store across the network: under Run it claims SyncCompleted early,
// beside the routes, and completes the announcement after the handler.
type remoteStore struct{ synclayer.Store }

// Under Run with a remote store, each outcome is announced exactly once:
// SyncCompleted (through the early claim), SyncFailed (the early claim
// given back first, so the key is not busy, and its own claim recorded, so
// a later success is still announced), and nothing while a route is held,
// without leaving the announcement's key busy for later.
func TestEarlyAnnouncementClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1)
		pub := &recordingPublisher{}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub),
			synclayer.WithStore(remoteStore{new(synclayer.MemoryStore)}))
		h, stop := runHandler(t, d)
		defer stop()
		ctx := context.Background()

		if err := h(ctx, event("ok", "K1", 1)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the announcement's done-marker lands
		if err := h(ctx, event("ok", "K1", 1)); err != nil {
			t.Fatalf("redelivery: %v", err)
		}

		fakes[0].Inject(synclayertest.Fault{Err: synclayer.Permanent(errors.New("400 bad record"))})
		if err := h(ctx, event("bad", "K2", 1)); !synclayer.IsPermanent(err) {
			t.Fatalf("a route failed for good: handler = %v, want a permanent error", err)
		}
		synctest.Wait()
		// Replayed once the partner is fixed, it completes: a new outcome,
		// announced as such.
		if err := h(ctx, event("bad", "K2", 1)); err != nil {
			t.Fatalf("redelivery of the failed event: %v", err)
		}
		synctest.Wait()

		must(t, d.Pause("p0"))
		if err := h(ctx, event("held", "K3", 1)); err == nil {
			t.Fatal("a route held in the memory log was acknowledged")
		}
		synctest.Wait()
		if _, err := d.Resume(ctx, "p0"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := h(ctx, event("held", "K3", 1)); err != nil {
			t.Fatalf("redelivery after resume: %v", err)
		}
		synctest.Wait()

		var got []string
		for _, ev := range pub.Events() {
			got = append(got, ev.ID)
		}
		want := []string{"SyncCompleted:ok", "SyncFailed:bad", "SyncCompleted:bad", "SyncCompleted:held"}
		if len(got) != len(want) {
			t.Fatalf("announcements %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("announcements %q, want %q", got, want)
			}
		}
	})
}

// An early claim that finds the announcement leased by another process
// does not publish: from the bus the event goes back for a redelivery, and
// once the other lease is gone it is announced once.
func TestEarlyAnnouncementClaimBusyElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := new(synclayer.MemoryStore)
		reg, _ := newFakes(t, 1)
		pub := &recordingPublisher{}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub), synclayer.WithStore(remoteStore{mem}))
		h, stop := runHandler(t, d)
		defer stop()
		ctx := context.Background()
		other := idempotency.Claim{Connector: "$announce", Key: "x", EventID: synclayer.SyncCompleted + "/x", LeaseTTL: 5 * time.Second}
		cr, err := mem.Claim(ctx, other)
		if err != nil || cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("the other process's claim: %+v, %v", cr, err)
		}
		err = h(ctx, event("x", "K", 1))
		if _, ok := synclayer.RedeliverAfter(err); !ok || len(pub.Events()) != 0 {
			t.Fatalf("handler = %v with %d announcements; want a redelivery and none", err, len(pub.Events()))
		}
		time.Sleep(6 * time.Second) // the other process died: its lease lapses
		if err := h(ctx, event("x", "K", 1)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(pub.Events()); n != 1 {
			t.Fatalf("%d announcements, want 1", n)
		}
	})
}
