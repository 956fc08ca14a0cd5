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

// Two Runs of one dispatcher overlap (a subscriber restarted, or one per
// bus): the end of the first does not take the second's background work
// with it. A breaker that opens under the second Run after the first
// returned still probes, and the route it held reaches the partner.
func TestRunEndingLeavesAnOverlappingRunsWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, d := breakerOnDurableLog(t)
		_, stop1 := runHandler(t, d)
		h2, stop2 := runHandler(t, d)
		defer stop2()
		stop1()

		ctx := context.Background()
		fake.Inject(synclayertest.Fault{Err: errors.New("503")})
		if err := h2(ctx, event("f", "F", 0)); err == nil {
			t.Fatal("the failing push was acknowledged")
		}
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerOpen {
			t.Fatalf("breaker %v, want open", st.Breaker)
		}
		if err := h2(ctx, event("p", "P", 0)); err != nil { // held, in a durable log
			t.Fatal(err)
		}
		if _, ok := fake.Record("P"); ok {
			t.Fatal("a held route reached the partner while the breaker was open")
		}
		time.Sleep(11 * time.Second) // past OpenFor: the breaker probes with the held route
		synctest.Wait()
		if _, ok := fake.Record("P"); !ok {
			t.Fatal("the held route was not pushed once the breaker could probe")
		}
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerClosed {
			t.Fatalf("breaker %v after a good probe, want closed", st.Breaker)
		}
	})
}
