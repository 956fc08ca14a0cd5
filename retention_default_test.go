package synclayer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A retention of zero keeps the default (days), like every other zero
// option: a redelivery is reported Duplicate and not pushed again. A
// positive retention is kept as given. (A negative one is refused by
// NewDispatcher: TestDispatcherOptionRule.)
func TestRetentionZeroKeepsTheDefault(t *testing.T) {
	for _, r := range []time.Duration{0, time.Hour} {
		t.Run(r.String(), func(t *testing.T) {
			reg, fakes := newFakes(t, 1)
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithRetention(r))
			ctx := context.Background()
			var got []string
			for range 2 { // the event, then its redelivery
				rep, err := d.Dispatch(ctx, event("e1", "K1", 0))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, statuses(rep)...)
			}
			if want := "[p0:synced p0:duplicate]"; fmt.Sprint(got) != want {
				t.Fatalf("statuses %v, want %s", got, want)
			}
			if n := fakes[0].Writes("K1"); n != 1 {
				t.Fatalf("%d pushes of one event, want 1", n)
			}
		})
	}
}
