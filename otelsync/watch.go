package otelsync

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/metric"

	"github.com/hmsplatform/synclayer"
)

// WatchDispatcher reports, at each collection, the in-flight attempts and
// pending routes of every connector of d (from [synclayer.Dispatcher.Status])
// as the gauges synclayer.connector.in_flight and synclayer.connector.pending.
// Call the returned function to stop.
func (o *Observer) WatchDispatcher(d *synclayer.Dispatcher) (stop func() error, err error) {
	inFlight, err := o.meter.Int64ObservableGauge(MetricConnInFlight, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts under way now, by connector."))
	if err != nil {
		return nil, fmt.Errorf("otelsync: create instrument: %w", err)
	}
	pending, err := o.meter.Int64ObservableCounter(MetricConnPending, metric.WithUnit("{delivery}"),
		metric.WithDescription("Routes queued as pending (connector paused or breaker open) since start, by connector."))
	if err != nil {
		return nil, fmt.Errorf("otelsync: create instrument: %w", err)
	}
	reg, err := o.meter.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		for _, s := range d.Status() {
			set := metric.WithAttributes(AttrConnector.String(s.Name))
			obs.ObserveInt64(inFlight, s.InFlight, set)
			obs.ObserveInt64(pending, s.Pending, set)
		}
		return nil
	}, inFlight, pending)
	if err != nil {
		return nil, fmt.Errorf("otelsync: register callback: %w", err)
	}
	return reg.Unregister, nil
}
