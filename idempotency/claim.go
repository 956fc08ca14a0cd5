package idempotency

import (
	"time"

	"github.com/hmsplatform/synclayer/internal/enum"
)

// Claim asks a synclayer.Store for the right to push one record of one
// event.
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
	// encoding), set on Complete only. A store that is also a synclayer.Ledger
	// records it, with Version and EventID, in the key's ledger entry.
	Hash string
}

// ClaimStatus is the outcome of synclayer.Store.Claim.
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

var claimEnum = enum.Names{Type: "ClaimStatus", Names: []string{ClaimAcquired: "acquired", ClaimDone: "done", ClaimStale: "stale", ClaimBusy: "busy"}}

// String returns "acquired", "done", "stale" or "busy", or "ClaimStatus(n)"
// for an unknown value.
func (s ClaimStatus) String() string { return claimEnum.String(int(s)) }

// MarshalText encodes the status as its name; an unknown value is an error.
func (s ClaimStatus) MarshalText() ([]byte, error) { return claimEnum.MarshalText(int(s)) }

// UnmarshalText decodes a status name; anything else is an error.
func (s *ClaimStatus) UnmarshalText(b []byte) error { return enum.Decode(claimEnum, b, s) }

// ClaimResult is what synclayer.Store.Claim decided.
type ClaimResult struct {
	Status ClaimStatus
	// Token identifies the lease when Status is ClaimAcquired.
	Token string
	// Version is the last version applied for the key (0 if none), when known.
	Version int64
	// Expires is when the current holder's lease ends, when Status is ClaimBusy.
	Expires time.Time
}
