package bustest

import (
	"context"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Fixture is what synclayertest.TestBus asks of a bus test: the bus b; its
// dead letters, as read returns them in the bus's own type, with letter
// saying which event each holds, the handler's last error and the
// delivery count; and cut, which drops the bus's connections, or nil where
// the broker offers no way to.
func Fixture[L any](b synclayertest.Bus, read func(context.Context) ([]L, error), letter func(L) (ev synclayer.Event, reason string, deliveries int), cut func(context.Context) error) synclayertest.BusFixture {
	return synclayertest.BusFixture{
		Bus: b,
		DeadLetters: func(ctx context.Context) ([]synclayertest.DeadLetter, error) {
			dls, err := read(ctx)
			var out []synclayertest.DeadLetter
			for _, dl := range dls {
				var d synclayertest.DeadLetter
				d.Event, d.Err, d.Deliveries = letter(dl)
				out = append(out, d)
			}
			return out, err
		},
		CutConnection: cut,
	}
}
