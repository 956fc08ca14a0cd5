package synclayer

import (
	"context"
	"hash/maphash"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// memoryShards spreads the store over independent locks. A key, its lease,
// its version and the done-markers of the events pushed for it live in one
// shard, so every Claim and Complete is atomic under one lock.
const memoryShards = 32

// MemoryStore is the in-process [Store]: fast, bounded, and gone with the
// process. Use it for one process, for tests, and as the default; use a
// durable store when several processes share the work or a restart must not
// push again. The zero value is an empty store with the default bound. It is safe for
// concurrent use.
//
// Done-markers are found through the record key they were completed with,
// so a Mapper must map an event to the same key every time (as it must for
// any store, for the partner's sake).
//
// Its zero value is an empty store, ready to use; set MaxEntries before the
// first use:
//
//	store := &synclayer.MemoryStore{MaxEntries: 5_000_000}
type MemoryStore struct {
	// MaxEntries bounds the done-markers and the versions the store keeps,
	// each, to about MaxEntries (zero or less: 1,000,000). Past the bound
	// the oldest are forgotten first, even inside their retention window; a
	// forgotten version no longer protects its key from a stale push, so
	// size it above the number of keys in play.
	MaxEntries int

	once   sync.Once
	max    int
	seed   maphash.Seed
	shards [memoryShards]memoryShard
	token  atomic.Uint64
}

type ckey struct{ conn, id string }

type memoryShard struct {
	mu               sync.Mutex
	keys             map[ckey]keyState  // per (connector, key): lease and last version
	done             map[ckey]time.Time // per (connector, event): done-marker expiry
	order            []marker           // done-marker keys in insertion order
	maxDone, maxKeys int
}

// keyState is what the store knows of one key. An entry with no live lease
// and no version is removed.
type keyState struct {
	version int64
	token   string    // "" when no lease
	expires time.Time // of the lease
	touched time.Time // when the version was last raised
	keep    time.Duration
}

func (s *MemoryStore) init() {
	s.max = s.MaxEntries
	if s.max <= 0 {
		s.max = 1_000_000
	}
	per := max(s.max/memoryShards, 1)
	s.seed = maphash.MakeSeed()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.keys = make(map[ckey]keyState)
		sh.done = make(map[ckey]time.Time)
		sh.maxDone, sh.maxKeys = per, per
	}
}

func (s *MemoryStore) shard(conn, key string) *memoryShard {
	s.once.Do(s.init)
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(conn)
	h.WriteByte(0)
	h.WriteString(key)
	return &s.shards[h.Sum64()%memoryShards]
}

// Claim implements [Store].
func (s *MemoryStore) Claim(ctx context.Context, c Claim) (ClaimResult, error) {
	if err := ctx.Err(); err != nil {
		return ClaimResult{}, err
	}
	now := time.Now()
	sh := s.shard(c.Connector, c.Key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if exp, ok := sh.done[ckey{c.Connector, c.EventID}]; ok && now.Before(exp) {
		return ClaimResult{Status: ClaimDone}, nil
	}
	k := ckey{c.Connector, c.Key}
	st := sh.keys[k]
	if c.Version != 0 && c.Version <= st.version {
		return ClaimResult{Status: ClaimStale, Version: st.version}, nil
	}
	if st.token != "" && now.Before(st.expires) {
		return ClaimResult{Status: ClaimBusy, Version: st.version, Expires: st.expires}, nil
	}
	st.token = strconv.FormatUint(s.token.Add(1), 36)
	st.expires = now.Add(c.LeaseTTL)
	sh.keys[k] = st
	if len(sh.keys) > sh.maxKeys {
		sh.sweepKeys(now)
	}
	return ClaimResult{Status: ClaimAcquired, Token: st.token, Version: st.version}, nil
}

// Complete implements [Store].
func (s *MemoryStore) Complete(ctx context.Context, c Claim, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	sh := s.shard(c.Connector, c.Key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := ckey{c.Connector, c.Key}
	st := sh.keys[k]
	if st.token == token {
		st.token, st.expires = "", time.Time{}
	}
	if c.Version > st.version {
		st.version, st.touched, st.keep = c.Version, now, c.Retention
	}
	sh.put(k, st, now)
	if c.Retention > 0 {
		dk := ckey{c.Connector, c.EventID}
		if _, ok := sh.done[dk]; !ok {
			sh.order = append(sh.order, marker{dk, now.Add(c.Retention)})
		}
		sh.done[dk] = now.Add(c.Retention)
		sh.sweepDone(now)
	}
	return nil
}

// Release implements [Store].
func (s *MemoryStore) Release(ctx context.Context, c Claim, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(c.Connector, c.Key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := ckey{c.Connector, c.Key}
	if st, ok := sh.keys[k]; ok && st.token == token {
		st.token, st.expires = "", time.Time{}
		sh.put(k, st, time.Now())
	}
	return nil
}

// put stores st, or drops the entry when it holds nothing worth keeping.
func (sh *memoryShard) put(k ckey, st keyState, now time.Time) {
	if st.token == "" && st.version == 0 {
		delete(sh.keys, k)
		return
	}
	sh.keys[k] = st
	if len(sh.keys) > sh.maxKeys {
		sh.sweepKeys(now)
	}
}

// Len reports how many done-markers, versions and leases the store holds,
// expired ones included until they are swept. It is meant for tests and
// metrics.
func (s *MemoryStore) Len() (done, versions, leases int) {
	s.once.Do(s.init)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		done += len(sh.done)
		for _, st := range sh.keys {
			if st.version != 0 {
				versions++
			}
			if st.token != "" {
				leases++
			}
		}
		sh.mu.Unlock()
	}
	return done, versions, leases
}

// sweepDone forgets done-markers from the oldest while they have expired or
// the shard is over its bound. Markers are queued in completion order; with
// one retention for all, that is expiry order.
func (sh *memoryShard) sweepDone(now time.Time) {
	for len(sh.order) > 0 {
		m := sh.order[0]
		if now.Before(m.expires) && len(sh.done) <= sh.maxDone {
			return // the oldest marker is live: nothing to do, no map lookup
		}
		sh.order[0] = marker{} // let its key be collected
		sh.order = sh.order[1:]
		if exp, ok := sh.done[m.k]; ok && now.Before(exp) && len(sh.done) <= sh.maxDone {
			// Completed again since it was queued: queue it again with its
			// new expiry.
			sh.order = append(sh.order, marker{m.k, exp})
			continue
		}
		delete(sh.done, m.k)
	}
}

// sweepKeys runs when the shard is over its bound: it forgets expired
// leases and versions, then, if still over, the least recently raised
// versions down to 3/4 of the bound, so the cost is amortised over many
// raises. A live lease is never dropped.
func (sh *memoryShard) sweepKeys(now time.Time) {
	for k, st := range sh.keys {
		if st.token != "" && !now.Before(st.expires) {
			st.token, st.expires = "", time.Time{}
		}
		if st.version != 0 && st.keep > 0 && now.Sub(st.touched) > st.keep {
			st.version = 0
		}
		if st.token == "" && st.version == 0 {
			delete(sh.keys, k)
		} else {
			sh.keys[k] = st
		}
	}
	target := sh.maxKeys * 3 / 4
	if len(sh.keys) <= target {
		return
	}
	ages := make([]time.Time, 0, len(sh.keys))
	for _, st := range sh.keys {
		ages = append(ages, st.touched)
	}
	slices.SortFunc(ages, time.Time.Compare)
	cut := ages[len(sh.keys)-target-1]
	for k, st := range sh.keys {
		if len(sh.keys) <= target {
			break
		}
		if st.token == "" && !st.touched.After(cut) {
			delete(sh.keys, k)
		}
	}
}

// marker is a done-marker's key with the expiry it was queued with.
type marker struct {
	k       ckey
	expires time.Time
}
