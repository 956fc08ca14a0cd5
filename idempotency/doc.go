// Package idempotency is the contract between the synclayer Dispatcher and
// the store behind it, for those who write a store or a delivery log: it
// is to package synclayer what database/sql/driver is to database/sql.
// Those who only wire a store in (synclayer.WithStore with
// idempotency/sqlstore or idempotency/redisstore) never need it.
//
// A synclayer.Store answers a [Claim] with a [ClaimResult]: the lease on the
// record's key is the caller's ([ClaimAcquired]), the event was pushed
// already ([ClaimDone]), a newer version was pushed ([ClaimStale]), or
// another process holds the key ([ClaimBusy]). A store that can renew a
// lease is a [LeaseRenewer], which lets the Dispatcher keep leases short;
// a delivery log whose entries survive a restart is a [DurableLog], which
// lets the Dispatcher acknowledge a held route on the bus.
//
// The package holds types only and imports nothing of the module but an
// internal helper, so package synclayer can depend on it. Check a new store
// with synclayertest.TestStore.
package idempotency
