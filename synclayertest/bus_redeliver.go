package synclayertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
)

// busDeferDelay is the delay the redelivery rules ask for with
// synclayer.Redeliver: short, so the rules stay quick.
const busDeferDelay = busRedeliveryDelay

func testRedeliverUncounted(t *testing.T, r *busRun) {
	ackAfter(t, r, r.cfg.MaxDeliveries+2, "deferrals", func(n int) error {
		return synclayer.Redeliver(fmt.Errorf("synclayertest: delivery %d came too early: %w", n, errBusyForTest), busDeferDelay)
	})
}

func testRedeliverThenFail(t *testing.T, r *busRun) {
	c := newCounter()
	const deferrals = 2
	r.subscribe("a", true, func(_ context.Context, ev synclayer.Event) error {
		n := c.enter(ev.ID)
		var err error
		if n <= deferrals {
			err = synclayer.Redeliver(fmt.Errorf("synclayertest: delivery %d held: %w", n, errHeldForTest), busDeferDelay)
		} else {
			err = fmt.Errorf("synclayertest: failure %d", n-deferrals)
		}
		c.exit(ev.ID, err)
		return err
	})
	ev := r.event(busEventType)
	dl := r.onlyDeadLetter(ev)
	max := r.cfg.MaxDeliveries
	if dl.Event.ID != ev.ID {
		t.Errorf("dead letter holds event %q, want %q", dl.Event.ID, ev.ID)
	}
	if dl.Deliveries != max {
		t.Errorf("dead letter says %d deliveries, want %d (the failed ones, not the %d deferrals)", dl.Deliveries, max, deferrals)
	}
	if want := fmt.Sprintf("failure %d", max); !strings.Contains(dl.Err, want) {
		t.Errorf("dead letter error %q does not contain the last error %q", dl.Err, want)
	}
	if n := c.get(ev.ID); n != deferrals+max {
		t.Errorf("handler called %d times, want %d (%d deferrals, then %d failures)", n, deferrals+max, deferrals, max)
	}
}

// The reasons the bus rules give for their redeliveries, as the dispatcher
// gives its own for a busy key or a held route.
var (
	errBusyForTest = errors.New("record key busy in another process")
	errHeldForTest = errors.New("connector held: paused or circuit open")
)
