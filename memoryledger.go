package synclayer

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// ledgerShards spreads a MemoryLedger over independent locks.
const ledgerShards = 32

// MemoryLedger is an in-process [Ledger], the Dispatcher's default when its
// store keeps none (the [MemoryStore] does): fast, and gone with the
// process. Its zero value is an
// empty ledger, ready to use. It is safe for concurrent use.
//
// It keeps every key it is told of; a deployment with more keys than
// memory allows keeps its ledger in a durable store (idempotency/sqlstore,
// idempotency/redisstore), which is also what lets a resync resume after a
// restart.
type MemoryLedger struct {
	once   sync.Once
	seed   maphash.Seed
	shards [ledgerShards]ledgerShard
}

type ledgerShard struct {
	mu sync.Mutex
	m  map[ckey]Holding
}

func (l *MemoryLedger) init() {
	l.seed = maphash.MakeSeed()
	for i := range l.shards {
		l.shards[i].m = make(map[ckey]Holding)
	}
}

func (l *MemoryLedger) shard(conn, key string) *ledgerShard {
	l.once.Do(l.init)
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(conn)
	h.WriteByte(0)
	h.WriteString(key)
	return &l.shards[h.Sum64()%ledgerShards]
}

// update applies f to the entry of (conn, key) under its shard's lock.
func (l *MemoryLedger) update(ctx context.Context, conn, key string, f func(*Holding)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := l.shard(conn, key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := ckey{conn, key}
	h, ok := sh.m[k]
	if !ok {
		h = Holding{Connector: conn, Key: key}
	}
	f(&h)
	sh.m[k] = h
	return nil
}

// Pushed implements [Ledger].
func (l *MemoryLedger) Pushed(ctx context.Context, p Holding) error {
	return l.update(ctx, p.Connector, p.Key, func(h *Holding) { h.pushed(p) })
}

// pushed merges the push p into h by the rule of Ledger.Pushed.
func (h *Holding) pushed(p Holding) {
	if p.Version != 0 && p.Version < h.Version {
		return // a late write of an older version
	}
	h.Version, h.EventID, h.Hash, h.PushedAt = max(p.Version, h.Version), p.EventID, p.Hash, p.PushedAt
	if h.Wanted <= h.Version {
		h.Wanted, h.WantedAt = 0, time.Time{}
	}
	if h.Drift != InSync {
		h.Drift = 0 // the push replaced what was checked
	}
}

// Want implements [Ledger].
func (l *MemoryLedger) Want(ctx context.Context, connector, key string, version int64) error {
	now := time.Now()
	return l.update(ctx, connector, key, func(h *Holding) {
		if version > h.Version && version > h.Wanted {
			if h.Wanted == 0 {
				h.WantedAt = now
			}
			h.Wanted = version
		}
	})
}

// Verified implements [Ledger].
func (l *MemoryLedger) Verified(ctx context.Context, connector, key string, at time.Time, d Drift) error {
	return l.update(ctx, connector, key, func(h *Holding) { h.VerifiedAt, h.Drift = at, d })
}

// Holding implements [Ledger].
func (l *MemoryLedger) Holding(ctx context.Context, connector, key string) (Holding, bool, error) {
	if err := ctx.Err(); err != nil {
		return Holding{}, false, err
	}
	sh := l.shard(connector, key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	h, ok := sh.m[ckey{connector, key}]
	return h, ok, nil
}

// Holdings implements [Ledger]. It sorts the connector's keys on every
// call: a page costs O(n log n) in the connector's entries.
func (l *MemoryLedger) Holdings(ctx context.Context, connector, after string, limit int) ([]Holding, error) {
	return pageOf(ctx, func(f func(Holding)) { l.each(connector, f) }, after, limit)
}

// Summary implements [Ledger].
func (l *MemoryLedger) Summary(ctx context.Context, connector string) (LedgerSummary, error) {
	return summaryOf(ctx, connector, func(f func(Holding)) { l.each(connector, f) })
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

// each calls f with every entry of connector, one shard locked at a time.
func (l *MemoryLedger) each(connector string, f func(Holding)) {
	l.once.Do(l.init)
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, h := range sh.m {
			if k.conn == connector {
				f(h)
			}
		}
		sh.mu.Unlock()
	}
}
