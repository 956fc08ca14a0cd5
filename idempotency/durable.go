package idempotency

// DurableLog is an optional interface of a synclayer.DeliveryLog. Durable
// reports whether the log's entries survive a restart of the process. A
// route held by synclayer.Dispatcher.Pause or an open circuit breaker is
// acknowledged on the bus only when its pending entry is in a durable log;
// otherwise synclayer.Dispatcher.Run leaves the event for the bus to
// redeliver.
type DurableLog interface {
	Durable() bool
}
