package otelsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/hmsplatform/synclayer"
)

// WatchLedger reports, at each collection, the gauge
// synclayer.ledger.oldest_behind.age: per connector of d, how long (in
// seconds) the entry of d's freshness ledger that has been behind the
// longest has been so, from the connector's [synclayer.LedgerSummary]
// (OldestBehindAt); 0 when no entry is behind. Each collection reads
// every connector's summary, which for a [synclayer.MemoryStore] walks
// all its entries. A connector whose summary cannot be read is left out
// of that collection, and the error goes to the reader.
//
// It returns an error wrapping [synclayer.ErrInvalidOption] when d keeps
// no ledger (it was built with [synclayer.NoLedger]). Call the returned function to stop.
func (o *Observer) WatchLedger(d *synclayer.Dispatcher) (stop func() error, err error) {
	if d == nil {
		return nil, fmt.Errorf("otelsync: WatchLedger: %w: nil Dispatcher", synclayer.ErrInvalidOption)
	}
	l := d.Ledger()
	if l == nil {
		return nil, fmt.Errorf("otelsync: WatchLedger: %w: the Dispatcher keeps no freshness ledger", synclayer.ErrInvalidOption)
	}
	age, err := o.meter.Float64ObservableGauge(MetricLedgerBehindAge, metric.WithUnit("s"),
		metric.WithDescription("How long the ledger entry behind for the longest has been behind, by connector; 0 when none is."))
	if err != nil {
		return nil, fmt.Errorf("otelsync: create instrument: %w", err)
	}
	reg, err := o.meter.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
		var errs []error
		now := time.Now()
		for _, c := range d.Status() {
			s, err := l.Summary(ctx, c.Name)
			if err != nil {
				errs = append(errs, fmt.Errorf("otelsync: ledger summary of %s: %w", c.Name, err))
				continue
			}
			v := 0.0
			if !s.OldestBehindAt.IsZero() {
				v = max(0, now.Sub(s.OldestBehindAt).Seconds())
			}
			obs.ObserveFloat64(age, v, o.attrs(c.Name, "", ""))
		}
		return errors.Join(errs...)
	}, age)
	if err != nil {
		return nil, fmt.Errorf("otelsync: register callback: %w", err)
	}
	return reg.Unregister, nil
}
