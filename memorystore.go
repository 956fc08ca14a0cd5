package synclayer

import (
	"context"
	"hash/maphash"
	"math"
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
	epoch  time.Time // the store's clock counts from here (see now)
	shards [memoryShards]memoryShard
	token  atomic.Uint64
}

type ckey struct{ conn, id string }

type memoryShard struct {
	mu               sync.Mutex
	keys             map[ckey]keyState // per (connector, key): lease and last version
	done             map[ckey]int64    // per (connector, event): done-marker expiry
	order            fifo[marker]      // done-marker keys in insertion order
	maxDone, maxKeys int
}

// keyState is what the store knows of one key. An entry with no live lease
// and no version is removed. Times are on the store's clock (see now).
type keyState struct {
	version int64
	token   string // "" when no lease
	expires int64  // of the lease
	touched int64  // when the version was last raised
	keep    time.Duration
}

func (s *MemoryStore) init() {
	s.max = s.MaxEntries
	if s.max <= 0 {
		s.max = 1_000_000
	}
	per := max(s.max/memoryShards, 1)
	s.seed = maphash.MakeSeed()
	s.epoch = time.Now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.keys = make(map[ckey]keyState)
		sh.done = make(map[ckey]int64)
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

// now reads the store's clock: nanoseconds since s.epoch. time.Since reads
// only the monotonic clock, half the cost of time.Now, and an int64 is a
// third of a time.Time in the maps.
func (s *MemoryStore) now() int64 {
	return int64(time.Since(s.epoch))
}

// after returns t+d on the store's clock, saturated instead of wrapping
// for a very long d.
func after(t int64, d time.Duration) int64 {
	if d > 0 && t > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return t + int64(d)
}

// Claim implements [Store].
func (s *MemoryStore) Claim(ctx context.Context, c Claim) (ClaimResult, error) {
	if err := ctx.Err(); err != nil {
		return ClaimResult{}, err
	}
	sh := s.shard(c.Connector, c.Key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if exp, ok := sh.done[ckey{c.Connector, c.EventID}]; ok && now < exp {
		return ClaimResult{Status: ClaimDone}, nil
	}
	k := ckey{c.Connector, c.Key}
	st := sh.keys[k]
	if c.Version != 0 && c.Version <= st.version {
		return ClaimResult{Status: ClaimStale, Version: st.version}, nil
	}
	if st.token != "" && now < st.expires {
		return ClaimResult{Status: ClaimBusy, Version: st.version, Expires: s.epoch.Add(time.Duration(st.expires))}, nil
	}
	st.token = strconv.FormatUint(s.token.Add(1), 36)
	st.expires = after(now, c.LeaseTTL)
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
	sh := s.shard(c.Connector, c.Key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := ckey{c.Connector, c.Key}
	st := sh.keys[k]
	if st.token == token {
		st.token, st.expires = "", 0
	}
	if c.Version > st.version {
		st.version, st.touched, st.keep = c.Version, now, c.Retention
	}
	sh.put(k, st, now)
	if c.Retention > 0 {
		dk := ckey{c.Connector, c.EventID}
		exp := after(now, c.Retention)
		if _, ok := sh.done[dk]; !ok {
			sh.order.push(marker{dk, exp})
		}
		sh.done[dk] = exp
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
		st.token, st.expires = "", 0
		sh.put(k, st, s.now())
	}
	return nil
}

// put stores st, or drops the entry when it holds nothing worth keeping.
func (sh *memoryShard) put(k ckey, st keyState, now int64) {
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
func (sh *memoryShard) sweepDone(now int64) {
	for sh.order.len() > 0 {
		m := sh.order.front()
		over := len(sh.done) > sh.maxDone
		if !over && now < m.expires {
			return // the oldest marker is live: nothing to do, no map lookup
		}
		sh.order.pop()
		if !over {
			if exp, ok := sh.done[m.k]; ok && now < exp {
				// Completed again since it was queued: queue it again with
				// its new expiry.
				sh.order.push(marker{m.k, exp})
				continue
			}
		}
		delete(sh.done, m.k) // over the bound, the oldest goes, live or not
	}
}

// sweepKeys runs when the shard is over its bound: it forgets expired
// leases and versions, then, if still over, the least recently raised
// versions down to 3/4 of the bound, so the cost is amortised over many
// raises. A live lease is never dropped.
func (sh *memoryShard) sweepKeys(now int64) {
	for k, st := range sh.keys {
		if st.token != "" && now >= st.expires {
			st.token, st.expires = "", 0
		}
		if st.version != 0 && st.keep > 0 && now > after(st.touched, st.keep) {
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
	ages := make([]int64, 0, len(sh.keys))
	for _, st := range sh.keys {
		ages = append(ages, st.touched)
	}
	slices.Sort(ages)
	cut := ages[len(sh.keys)-target-1]
	for k, st := range sh.keys {
		if len(sh.keys) <= target {
			break
		}
		if st.token == "" && st.touched <= cut {
			delete(sh.keys, k)
		}
	}
}

// marker is a done-marker's key with the expiry it was queued with.
type marker struct {
	k       ckey
	expires int64
}

// fifo is a first-in, first-out queue in a ring buffer that doubles when
// full and is reused as it drains: no allocation and no copying in the
// steady state, where a slice queue (q = q[1:] then append) copies its
// whole window each time it outgrows its array.
type fifo[T any] struct {
	buf  []T // len is zero or a power of two
	head int
	n    int
}

func (q *fifo[T]) len() int { return q.n }

func (q *fifo[T]) push(v T) {
	if q.n == len(q.buf) {
		grown := make([]T, max(2*len(q.buf), 16))
		k := copy(grown, q.buf[q.head:])
		copy(grown[k:], q.buf[:q.head])
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = v
	q.n++
}

// front returns the oldest element; the queue must not be empty.
func (q *fifo[T]) front() T { return q.buf[q.head] }

// pop drops the oldest element; the queue must not be empty.
func (q *fifo[T]) pop() {
	var zero T
	q.buf[q.head] = zero // let what it references be collected
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
}
