package synclayer_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Under Run, a key leased by another process is waited for briefly before
// the event is handed back to the bus: a lease that ends within that wait
// (a quarter of a second) costs no redelivery, the route takes the key and
// pushes.
func TestBusyKeyFreedWithinTheBriefWaitIsTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := new(synclayer.MemoryStore)
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(mem))
		h, stop := runHandler(t, d)
		defer stop()
		ctx := context.Background()
		other := idempotency.Claim{Connector: "p0", Key: "K", EventID: "other", LeaseTTL: 100 * time.Millisecond}
		if cr, err := mem.Claim(ctx, other); err != nil || cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("the other process's claim: %+v, %v", cr, err)
		}
		if err := h(ctx, event("e1", "K", 1)); err != nil {
			t.Fatalf("handler = %v; want the key taken once the other lease ended", err)
		}
		if n := fakes[0].Writes("K"); n != 1 {
			t.Fatalf("%d pushes, want 1", n)
		}
	})
}
