package synclayer

import (
	"context"
	"time"
)

// Claim asks a [Store] for the right to push one record of one event.
type Claim struct {
	Connector string // registered connector name
	Key       string // Record.Key
	EventID   string // Event.ID
	Version   int64  // Record.Version; 0 = unversioned

	// LeaseTTL is how long the lease lives if its holder never completes or
	// releases it (the holder crashed). It covers the whole retry budget.
	LeaseTTL time.Duration

	// Retention is how long Complete keeps the done-marker of (Connector,
	// EventID). A redelivery after that is pushed again (harmless: pushes
	// are idempotent upserts) and then subject to the version check only.
	Retention time.Duration

	// Hash is the hex SHA-256 of the record's payload as pushed (its JSON
	// encoding), set on Complete only. A Store that is also a [Ledger]
	// records it, with Version and EventID, in the key's ledger entry.
	Hash string
}

// ClaimStatus is the outcome of [Store.Claim].
type ClaimStatus int

const (
	// ClaimAcquired: the caller holds the lease on (Connector, Key) and must
	// push, then call Complete or Release with the token.
	ClaimAcquired ClaimStatus = iota + 1
	// ClaimDone: (Connector, EventID) has a done-marker; nothing to push.
	ClaimDone
	// ClaimStale: Version is not newer than the last version applied for
	// (Connector, Key); nothing to push.
	ClaimStale
	// ClaimBusy: another holder's lease on (Connector, Key) is live. Try
	// again later, at the latest when ClaimResult.Expires has passed.
	ClaimBusy
)

var claimEnum = enum{"ClaimStatus", []string{ClaimAcquired: "acquired", ClaimDone: "done", ClaimStale: "stale", ClaimBusy: "busy"}}

// String returns "acquired", "done", "stale" or "busy", or "ClaimStatus(n)"
// for an unknown value.
func (s ClaimStatus) String() string { return claimEnum.String(int(s)) }

// MarshalText encodes the status as its name; an unknown value is an error.
func (s ClaimStatus) MarshalText() ([]byte, error) { return claimEnum.MarshalText(int(s)) }

// UnmarshalText decodes a status name; anything else is an error.
func (s *ClaimStatus) UnmarshalText(b []byte) error {
	v, err := claimEnum.UnmarshalText(b)
	if err == nil {
		*s = ClaimStatus(v)
	}
	return err
}

// ClaimResult is what [Store.Claim] decided.
type ClaimResult struct {
	Status ClaimStatus
	// Token identifies the lease when Status is ClaimAcquired.
	Token string
	// Version is the last version applied for the key (0 if none), when known.
	Version int64
	// Expires is when the current holder's lease ends, when Status is ClaimBusy.
	Expires time.Time
}

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
// connector (ClaimDone); the version is stale (ClaimStale); another live lease
// holds the key (ClaimBusy); else it takes the lease (ClaimAcquired).
//
// Complete atomically records the done-marker, raises the key's version to
// Claim.Version if that is greater, and drops the lease if token still holds
// it. The marker and the version are recorded even if the lease was lost, as
// the push did happen. Release drops the lease if token still holds it, and
// nothing else. Neither ever drops another holder's lease.
//
// Each method is safe for concurrent use, honours ctx, and returns an error
// rather than a guess when the backend cannot answer: a store must never
// report ClaimDone or ClaimStale it cannot prove.
//
// Implementations: [MemoryStore] (one process), idempotency/sqlstore
// (PostgreSQL, MariaDB, SQLite) and idempotency/redisstore. Check a new one
// with synclayertest.TestStore.
type Store interface {
	Claim(ctx context.Context, c Claim) (ClaimResult, error)
	Complete(ctx context.Context, c Claim, token string) error
	Release(ctx context.Context, c Claim, token string) error
}
