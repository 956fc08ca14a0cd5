package idempotency

import "context"

// LeaseRenewer is an optional interface of a synclayer.Store. A store that
// has it lets the dispatcher keep leases short: it takes each lease for
// synclayer.WithLeaseTTL and renews it while the push runs, across retry
// waits, so a process that dies frees its keys within one TTL. A store
// without it gets leases long enough to cover the connector's whole retry
// budget, as it cannot be asked again.
type LeaseRenewer interface {
	// Renew extends the lease that token holds on (c.Connector, c.Key) to
	// c.LeaseTTL from now. It reports false, and changes nothing, when
	// token no longer holds the lease (it expired and was taken, or was
	// released).
	Renew(ctx context.Context, c Claim, token string) (bool, error)
}
