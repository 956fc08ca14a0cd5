package bus

import (
	"context"
	"fmt"
	"slices"

	"github.com/hmsplatform/synclayer"
)

// BatchPublisher is an optional interface of a [synclayer.Publisher] that can
// publish several events in one go, for example by sending them all before
// it waits for the broker's acknowledgements. Callers find it by type
// assertion and fall back to one Publish per event.
//
// PublishBatch publishes evs and returns nil when the bus accepted every
// one of them. Otherwise it returns a *[BatchError] that says, event by
// event, which ones failed; any other error means none of evs is known to
// be accepted. On an error some events, even some it reports as failed
// (for example when ctx ended while the bus's acknowledgement was on its
// way), may have been published: delivery is at least once, and buses
// deduplicate by event ID where they can, as Publish does.
//
// Events are sent in the order of evs; a bus that keeps an order keeps
// this one for the events it accepts. Implementations are safe for
// concurrent use, as Publishers are.
type BatchPublisher interface {
	synclayer.Publisher
	PublishBatch(ctx context.Context, evs []synclayer.Event) error
}

// BatchError reports which events of a batch a [BatchPublisher] did not
// publish.
type BatchError struct {
	// Errs holds one entry per event of the batch, in its order: nil for an
	// event the bus accepted, its error for one it did not.
	Errs []error
}

// BatchResult is what a [BatchPublisher]'s PublishBatch returns for errs,
// one entry per event of the batch: nil when every entry is nil, else a
// *[BatchError] of errs.
func BatchResult(errs []error) error {
	if slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		return &BatchError{Errs: errs}
	}
	return nil
}

// Error names how many events failed and the first failure.
func (e *BatchError) Error() string {
	n, first := 0, error(nil)
	for _, err := range e.Errs {
		if err != nil {
			if first == nil {
				first = err
			}
			n++
		}
	}
	if first == nil {
		return "bus: publish batch: no event failed"
	}
	return fmt.Sprintf("bus: publish batch: %d of %d events failed, first: %v", n, len(e.Errs), first)
}

// Unwrap returns the events' errors, so that [errors.Is] and [errors.As]
// look into them: they hold for the batch if they hold for any of its
// events ([synclayer.IsPermanent] too). Decide event by event with Errs.
func (e *BatchError) Unwrap() []error {
	var out []error
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
