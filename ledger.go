package synclayer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Holding is one entry of the freshness ledger: what one partner holds of
// one record key, as far as synclayer brought it there and last checked.
type Holding struct {
	Connector string `json:"connector"`
	Key       string `json:"key"`

	// Version is the version the partner was last brought to (0: the
	// record is unversioned), by the event EventID, at PushedAt. Hash is
	// the hex SHA-256 of the record's payload as pushed (its JSON
	// encoding), "" when it has none.
	Version  int64     `json:"version"`
	EventID  string    `json:"eventId,omitempty"`
	Hash     string    `json:"hash,omitempty"`
	PushedAt time.Time `json:"pushedAt,omitzero"`

	// Wanted is the newest version an event asked for that has not been
	// pushed yet (its route failed or is held), since WantedAt; 0 when
	// the partner is not behind.
	Wanted   int64     `json:"wanted,omitempty"`
	WantedAt time.Time `json:"wantedAt,omitzero"`

	// VerifiedAt is when a reconciler (package drift) last compared the partner's record
	// with the wanted one, with the result Drift; zero (and Drift 0) when
	// it never has.
	VerifiedAt time.Time `json:"verifiedAt,omitzero"`
	Drift      Drift     `json:"drift,omitempty"`
}

// Behind reports whether the partner does not hold what it should: a newer
// version is wanted, or the last check found the record missing or
// different.
func (h Holding) Behind() bool {
	return h.Wanted > h.Version || h.Drift.off()
}

// Ledger is the freshness ledger: per (connector, key), the version and
// hash a partner was brought to, what is wanted of it, and when it was last
// verified. The Dispatcher writes it after every push; [Dispatcher.Holding]
// and the monitor read it; package drift's Reconciler verifies against it.
//
// A [Store] that is also a Ledger (the [MemoryStore], sqlstore's and
// redisstore's) keeps the entry next to the key's lease and version, and
// writes it inside Complete from the claim (Claim.Hash, Version, EventID),
// in the same statement, so the durable path pays no extra round trip; the
// Dispatcher then never calls its Pushed. Given [WithLedger], or with a
// store that is no Ledger, the Dispatcher writes to that ledger (default:
// a [MemoryStore] of its own, used as a ledger only) after Complete.
//
// Each method is safe for concurrent use and honours ctx. Check an
// implementation with synclayertest.TestLedger.
type Ledger interface {
	// Pushed records that h.Connector's partner was brought to h.Version
	// of h.Key by h.EventID. It keeps the newer of the stored and the
	// given version (a late write never lowers it) and clears Wanted once
	// the version reaches it.
	Pushed(ctx context.Context, h Holding) error
	// Want records that an event asked for version of key and the
	// partner does not have it yet (the route failed or is held). A
	// version not above the held one, or not above one already wanted,
	// changes nothing but keeps the earlier WantedAt.
	Want(ctx context.Context, connector, key string, version int64) error
	// Verified records the result d of a check of the key at time at
	// (the zero time: now), the moment its read of the partner began. A
	// check dated before the entry's PushedAt read a state the push
	// replaced: its verdict is dropped (VerifiedAt and Drift keep their
	// values, so the entry stays unverified and a push is not made
	// Behind by an older check). A durable ledger compares to the
	// millisecond it keeps, a check at the push's millisecond being
	// recorded.
	Verified(ctx context.Context, connector, key string, at time.Time, d Drift) error
	// Holding returns the entry of (connector, key), and false when the
	// ledger has none.
	Holding(ctx context.Context, connector, key string) (Holding, bool, error)
	// Holdings returns up to limit entries of connector whose keys sort
	// after after, in key order: a page of a walk over the ledger.
	Holdings(ctx context.Context, connector, after string, limit int) ([]Holding, error)
	// Summary counts connector's entries: see [LedgerSummary].
	Summary(ctx context.Context, connector string) (LedgerSummary, error)
}

// LedgerSummary is what a [Ledger] holds for one connector.
type LedgerSummary struct {
	Connector  string `json:"connector"`
	Keys       int    `json:"keys"`       // entries
	Behind     int    `json:"behind"`     // entries whose Behind() is true
	Unverified int    `json:"unverified"` // entries never verified, or pushed since their last check
	// OldestUnverified is the key of the unverified entry pushed first,
	// and OldestUnverifiedAt its PushedAt; "" and zero when none.
	OldestUnverified   string    `json:"oldestUnverified,omitempty"`
	OldestUnverifiedAt time.Time `json:"oldestUnverifiedAt,omitzero"`
	// OldestBehindAt is the earliest WantedAt (or, for a drifted entry,
	// VerifiedAt) of the entries behind; zero when none.
	OldestBehindAt time.Time `json:"oldestBehindAt,omitzero"`
}

// errNoLedger is what [Dispatcher.Holding] and [NoLedger] return when the
// ledger is off. Callers that must tell ask [Dispatcher.Ledger], which is
// nil then, as the delivery log's readers do with no delivery log.
var errNoLedger = errors.New("synclayer: no freshness ledger")

// unverified reports whether h counts as unverified in a summary.
func (h Holding) unverified() bool {
	return h.VerifiedAt.IsZero() || h.VerifiedAt.Before(h.PushedAt)
}

// behindSince is when h fell behind (see LedgerSummary.OldestBehindAt).
func (h Holding) behindSince() time.Time {
	if h.Wanted > h.Version {
		return h.WantedAt
	}
	return h.VerifiedAt
}

// Holding returns what connector's partner holds of key according to the
// freshness ledger, and false when the ledger has no entry for it. It
// returns an error when the ledger is off ([Dispatcher.Ledger] is nil).
func (d *Dispatcher) Holding(ctx context.Context, connector, key string) (Holding, bool, error) {
	if d.ledger == nil {
		return Holding{}, false, errNoLedger
	}
	return d.ledger.Holding(ctx, connector, key)
}

// Ledger returns the Dispatcher's freshness ledger (the store, when it is
// one), or nil when the ledger is off.
func (d *Dispatcher) Ledger() Ledger { return d.ledger }

// The in-memory ledger (the MemoryStore) walks its entries with
// eachHolding, which calls its function with every entry of one connector.

// pageOf is Ledger.Holdings over each: the entries whose keys sort after
// after, in key order, up to limit. It sorts on every call.
func pageOf(ctx context.Context, each func(func(Holding)), after string, limit int) ([]Holding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var all []Holding
	each(func(h Holding) {
		if h.Key > after {
			all = append(all, h)
		}
	})
	slices.SortFunc(all, func(a, b Holding) int { return strings.Compare(a.Key, b.Key) })
	if limit > 0 && len(all) > limit {
		all = all[:limit:limit]
	}
	return all, nil
}

// add counts h into s.
func (s *LedgerSummary) add(h Holding) {
	s.Keys++
	if h.Behind() {
		s.Behind++
		if t := h.behindSince(); s.OldestBehindAt.IsZero() || t.Before(s.OldestBehindAt) {
			s.OldestBehindAt = t
		}
	}
	if h.unverified() {
		s.Unverified++
		if s.OldestUnverified == "" || h.PushedAt.Before(s.OldestUnverifiedAt) {
			s.OldestUnverified, s.OldestUnverifiedAt = h.Key, h.PushedAt
		}
	}
}

// summaryOf is Ledger.Summary over each.
func summaryOf(ctx context.Context, connector string, each func(func(Holding))) (LedgerSummary, error) {
	if err := ctx.Err(); err != nil {
		return LedgerSummary{}, err
	}
	s := LedgerSummary{Connector: connector}
	each(s.add)
	return s, nil
}
