package synclayer

import "context"

// LeaseRenewer is an optional interface of a [Store]. A store that has it
// lets the dispatcher keep leases short: it takes each lease for
// [WithLeaseTTL] and renews it while the push runs, across retry waits, so
// a process that dies frees its keys within one TTL. A store without it gets
// leases long enough to cover the connector's whole retry budget, as it
// cannot be asked again.
type LeaseRenewer interface {
	// Renew extends the lease that token holds on (c.Connector, c.Key) to
	// c.LeaseTTL from now. It reports false, and changes nothing, when
	// token no longer holds the lease (it expired and was taken, or was
	// released).
	Renew(ctx context.Context, c Claim, token string) (bool, error)
}

// LogCompleter is an optional interface of a [Store] that can share a
// database with a [DeliveryLog]. CompleteLogged does what Complete does and
// puts d in log, in one statement or one transaction, so the end of a push
// costs one round trip. It reports false, having done nothing, when log is
// not one it can write together with the store (the dispatcher then calls
// Complete and log.Put one after the other).
type LogCompleter interface {
	CompleteLogged(ctx context.Context, c Claim, token string, log DeliveryLog, d Delivery) (bool, error)
}

// DurableLog is an optional interface of a [DeliveryLog]. Durable reports
// whether the log's entries survive a restart of the process. A route held
// by [Dispatcher.Pause] or an open circuit breaker is acknowledged on the
// bus only when its pending entry is in a durable log; otherwise
// [Dispatcher.Run] leaves the event for the bus to redeliver.
type DurableLog interface {
	Durable() bool
}
