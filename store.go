package synclayer

import (
	"context"

	"github.com/hmsplatform/synclayer/idempotency"
)

// Store is the idempotency store: what makes at-least-once delivery and
// retries produce exactly one push per (connector, event) and never push an
// older version over a newer one, within one process and across many.
//
// A Store keeps, per connector:
//   - a lease per record key, so that two processes never push the same key
//     at once, which expires if its holder dies;
//   - a done-marker per event ID, kept for the claim's Retention;
//   - the last version applied per record key, which only ever rises.
//
// Claim decides, atomically, in this order: the event is done for the
// connector ([idempotency.ClaimDone]); the version is stale
// ([idempotency.ClaimStale]); another live lease holds the key
// ([idempotency.ClaimBusy]); else it takes the lease
// ([idempotency.ClaimAcquired]).
//
// Complete atomically records the done-marker, raises the key's version to
// Claim.Version if that is greater, and drops the lease if token still holds
// it. The marker and the version are recorded even if the lease was lost, as
// the push did happen. Release drops the lease if token still holds it, and
// nothing else. Neither ever drops another holder's lease.
//
// Each method is safe for concurrent use, honours ctx, and returns an error
// rather than a guess when the backend cannot answer: a store must never
// report [idempotency.ClaimDone] or [idempotency.ClaimStale] it cannot prove.
//
// The types of the contract, and the optional interfaces a store may add,
// are in package idempotency, for those who write a store.
//
// Implementations: [MemoryStore] (one process), idempotency/sqlstore
// (PostgreSQL, MariaDB, SQLite) and idempotency/redisstore. Check a new one
// with synclayertest.TestStore.
type Store interface {
	Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error)
	Complete(ctx context.Context, c idempotency.Claim, token string) error
	Release(ctx context.Context, c idempotency.Claim, token string) error
}
