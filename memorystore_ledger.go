package synclayer

import (
	"context"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
)

// The MemoryStore is a [Ledger]: each key's entry lives beside its lease
// and version, written by Complete under the lock it already holds, so the
// default in-process path keeps no second map of every key. It is bounded
// with the versions (MaxEntries), except that an entry behind (a version
// wanted and not pushed) is never the one forgotten.

// ledgerState is a key's ledger entry in the MemoryStore. Times are on the
// store's clock (see MemoryStore.now); 0 means none.
type ledgerState struct {
	event, hash      string
	pushed           int64
	wanted, wantedAt int64 // wanted is a version
	verified         int64
	drift            Drift
}

// behind reports whether the entry is behind (see Holding.Behind).
func (l *ledgerState) behind() bool {
	return l.wanted != 0 || l.drift.off()
}

// ledger returns the key's ledger entry, which it has from now on.
func (st *keyState) ledger() *ledgerState {
	st.hasLed = true
	return &st.led
}

// pushed applies a Complete of c at now to the key's ledger entry, by the
// rule of Ledger.Pushed; the caller checked that c.Version is 0 or not
// older than the key's. Synclayer's own namespaces ("$announce") get no
// entry.
func (st *keyState) pushed(c *idempotency.Claim, now int64) {
	if strings.HasPrefix(c.Connector, "$") {
		return
	}
	l := st.ledger()
	l.event, l.hash, l.pushed = c.EventID, c.Hash, now
	if l.wanted != 0 && max(c.Version, st.version) >= l.wanted {
		l.wanted, l.wantedAt = 0, 0
	}
	if l.drift != InSync {
		l.drift = 0 // the push replaced what was checked
	}
}

// clock turns a time into the store's clock (0 for the zero time).
func (s *MemoryStore) clock(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return int64(t.Sub(s.epoch))
}

// wall turns the store's clock into a time (the zero time for 0).
func (s *MemoryStore) wall(t int64) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return s.epoch.Add(time.Duration(t))
}

// holding is the Holding of k's state; false when it has no ledger entry.
func (s *MemoryStore) holding(k ckey, st keyState) (Holding, bool) {
	if !st.hasLed {
		return Holding{}, false
	}
	l := &st.led
	return Holding{Connector: k.conn, Key: k.id, Version: st.version, EventID: l.event, Hash: l.hash,
		PushedAt: s.wall(l.pushed), Wanted: l.wanted, WantedAt: s.wall(l.wantedAt),
		VerifiedAt: s.wall(l.verified), Drift: l.drift}, true
}

// ledgerUpdate applies f to the state of (connector, key) under its lock.
func (s *MemoryStore) ledgerUpdate(ctx context.Context, connector, key string, f func(st *keyState, now int64)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := idempotency.Claim{Connector: connector, Key: key}
	sh, hk, _ := s.shard(&c)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ks, i := sh.keys.slot(ckey{connector, key}, hk)
	f(&ks.st, now)
	sh.settle(ks, i, now)
	return nil
}

// Pushed implements [Ledger], for a push made outside this store's
// Complete.
func (s *MemoryStore) Pushed(ctx context.Context, h Holding) error {
	return s.ledgerUpdate(ctx, h.Connector, h.Key, func(st *keyState, now int64) {
		if h.Version != 0 && h.Version < st.version {
			return
		}
		c := idempotency.Claim{Connector: h.Connector, Key: h.Key, EventID: h.EventID, Version: h.Version, Hash: h.Hash}
		at := s.clock(h.PushedAt)
		if at == 0 {
			at = now
		}
		st.pushed(&c, at)
		st.version = max(st.version, h.Version)
	})
}

// Want implements [Ledger].
func (s *MemoryStore) Want(ctx context.Context, connector, key string, version int64) error {
	return s.ledgerUpdate(ctx, connector, key, func(st *keyState, now int64) {
		if version <= st.version || (st.hasLed && version <= st.led.wanted) {
			return
		}
		l := st.ledger()
		if l.wanted == 0 {
			l.wantedAt = now
		}
		l.wanted = version
	})
}

// Verified implements [Ledger]. A verdict dated before the entry's push
// (on the store's clock, to the nanosecond) is of a state the push
// replaced, and changes nothing.
func (s *MemoryStore) Verified(ctx context.Context, connector, key string, at time.Time, d Drift) error {
	return s.ledgerUpdate(ctx, connector, key, func(st *keyState, now int64) {
		v := s.clock(at)
		if v == 0 {
			v = now
		}
		if st.hasLed && st.led.pushed != 0 && v < st.led.pushed {
			return
		}
		l := st.ledger()
		l.verified, l.drift = v, d
	})
}

// Holding implements [Ledger].
func (s *MemoryStore) Holding(ctx context.Context, connector, key string) (Holding, bool, error) {
	if err := ctx.Err(); err != nil {
		return Holding{}, false, err
	}
	c := idempotency.Claim{Connector: connector, Key: key}
	sh, hk, _ := s.shard(&c)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := ckey{connector, key}
	if ks, _ := sh.keys.find(k, hk); ks != nil {
		h, ok := s.holding(k, ks.st)
		return h, ok, nil
	}
	return Holding{}, false, nil
}

// Holdings implements [Ledger]. It sorts the connector's keys on every
// call: a page costs O(n log n) in the store's keys.
func (s *MemoryStore) Holdings(ctx context.Context, connector, after string, limit int) ([]Holding, error) {
	return pageOf(ctx, func(f func(Holding)) { s.eachHolding(connector, f) }, after, limit)
}

// Summary implements [Ledger].
func (s *MemoryStore) Summary(ctx context.Context, connector string) (LedgerSummary, error) {
	return summaryOf(ctx, connector, func(f func(Holding)) { s.eachHolding(connector, f) })
}

// eachHolding calls f with every ledger entry of connector, one shard
// locked at a time.
func (s *MemoryStore) eachHolding(connector string, f func(Holding)) {
	s.once.Do(s.init)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.keys.each(func(ks *keySlot) {
			if ks.k.conn == connector {
				if h, ok := s.holding(ks.k, ks.st); ok {
					f(h)
				}
			}
		})
		sh.mu.Unlock()
	}
}
