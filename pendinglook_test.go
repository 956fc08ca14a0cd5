package synclayer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// listFailsLog is a durable log whose reads fail.
type listFailsLog struct{ durableLog }

func (listFailsLog) List(context.Context, synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	return nil, errors.New("log database unreachable")
}

// A route that cannot read the durable log to learn whether its key has
// pending entries is handed back to the bus uncounted, as a hold the log
// cannot keep is: it did not fail, and must not be dead-lettered after
// the bus's most deliveries while the log is down.
func TestFailedLookForPendingIsRedelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver),
			synclayer.WithDeliveryLog(listFailsLog{durableLog{new(synclayer.MemoryLog)}}))
		h, stop := runHandler(t, d)
		defer stop()
		synctest.Wait()
		err := h(context.Background(), event("e1", "K", 1))
		after, ok := synclayer.RedeliverAfter(err)
		if !ok || after <= 0 || fakes[0].CallCount() != 0 {
			t.Fatalf("handler: %v (redelivery %v after %v), %d partner calls; want an uncounted redelivery after a delay, no push",
				err, ok, after, fakes[0].CallCount())
		}
		var se *synclayer.SyncError
		if !errors.As(err, &se) || se.Op != "hold" || !strings.Contains(err.Error(), "read pending entries: log database unreachable") {
			t.Fatalf("handler: %v; want the hold's failed read of the log", err)
		}
	})
}
