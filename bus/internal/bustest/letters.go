package bustest

import (
	"context"

	"github.com/hmsplatform/synclayer/synclayertest"
)

// Letters adapts a bus's own dead-letter reader to what
// synclayertest.BusFixture.DeadLetters asks: read returns the bus's dead
// letters, and as says which event each holds, with the handler's last
// error and the delivery count.
func Letters[L any](read func(context.Context) ([]L, error), as func(L) synclayertest.DeadLetter) func(context.Context) ([]synclayertest.DeadLetter, error) {
	return func(ctx context.Context) ([]synclayertest.DeadLetter, error) {
		dls, err := read(ctx)
		var out []synclayertest.DeadLetter
		for _, dl := range dls {
			out = append(out, as(dl))
		}
		return out, err
	}
}
