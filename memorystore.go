package synclayer

import (
	"context"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
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
	// MaxEntries bounds the done-markers and the keys the store keeps,
	// each, to about MaxEntries (zero or less: 1,000,000). Past the bound
	// the oldest done-markers, and roughly the least recently used keys,
	// are forgotten first, even inside their retention window; a key
	// forgotten with its version no longer protects it from a stale push,
	// so size the bound above the number of keys in play. A key under a
	// live lease, or whose ledger entry is behind, is never forgotten.
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
	mu   sync.Mutex
	keys keyTable // per (connector, key): lease and last version
	// The done-markers, per (connector, event), queued in completion order
	// in markers, and found through done: the position of the newest marker
	// of each hash (see marker). An index of integers (hashIndex) is a
	// third of the size of a map keyed by two strings, and neither hashes
	// nor compares strings inside.
	markers          fifo[marker]
	done             hashIndex
	maxDone, maxKeys int
	// The slots of the keys from the least recently used: sweepKeys
	// forgets from the front, in constant time per key. A key's record is
	// live while its state holds the record's position (keyState.age); the
	// older records of a key used again, or removed (its slot then has
	// another key, or none), are stale, and skipped when they come to the
	// front. See settle for when a used key is queued again.
	ages fifo[uint32]
}

// keyState is what the store knows of one key. An entry with no live lease
// and no version is removed. Times are on the store's clock (see now).
type keyState struct {
	version int64
	token   string // "" when no lease
	expires int64  // of the lease
	age     uint64 // position of the key's live record in ages; 0 when none
	// The key's freshness ledger entry, held in place (one allocation and
	// one pointer less per key); valid when hasLed.
	led    ledgerState
	hasLed bool
}

func (s *MemoryStore) init() {
	s.max = s.MaxEntries
	if s.max <= 0 {
		s.max = 1_000_000
	}
	per := max(s.max/memoryShards, 1)
	s.seed = maphash.MakeSeed()
	s.epoch = time.Now().Add(-time.Nanosecond) // now() is never 0, which means "none" in the ledger
	for i := range s.shards {
		sh := &s.shards[i]
		sh.maxDone, sh.maxKeys = per, per
	}
}

// shard returns the shard of c's key, the hash of the key (see keyTable),
// and the hash of c's done-marker.
func (s *MemoryStore) shard(c *idempotency.Claim) (sh *memoryShard, keyHash, doneHash uint64) {
	s.once.Do(s.init)
	hc := maphash.String(s.seed, c.Connector)
	keyHash = pairHash(hc, maphash.String(s.seed, c.Key))
	return &s.shards[keyHash%memoryShards], keyHash, pairHash(hc, maphash.String(s.seed, c.EventID))
}

// pairHash combines the hashes of two strings.
func pairHash(a, b uint64) uint64 { return a*31 + b }

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
func (s *MemoryStore) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	if err := ctx.Err(); err != nil {
		return idempotency.ClaimResult{}, err
	}
	sh, hk, h := s.shard(&c)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if m, _ := sh.marker(ckey{c.Connector, c.EventID}, h); m != nil && now < m.expires {
		return idempotency.ClaimResult{Status: idempotency.ClaimDone}, nil
	}
	k := ckey{c.Connector, c.Key}
	ks, i := sh.keys.find(k, hk)
	if ks != nil {
		st := &ks.st
		if c.Version != 0 && c.Version <= st.version {
			return idempotency.ClaimResult{Status: idempotency.ClaimStale, Version: st.version}, nil
		}
		if st.token != "" && now < st.expires {
			return idempotency.ClaimResult{Status: idempotency.ClaimBusy, Version: st.version, Expires: s.epoch.Add(time.Duration(st.expires))}, nil
		}
	} else {
		ks, i = sh.keys.add(k, hk)
	}
	token := strconv.FormatUint(s.token.Add(1), 36)
	ks.st.token, ks.st.expires = token, after(now, c.LeaseTTL)
	version := ks.st.version
	sh.settle(ks, i, now)
	return idempotency.ClaimResult{Status: idempotency.ClaimAcquired, Token: token, Version: version}, nil
}

// Complete implements [Store].
func (s *MemoryStore) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh, hk, h := s.shard(&c)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ks, i := sh.keys.slot(ckey{c.Connector, c.Key}, hk)
	st := &ks.st
	if st.token == token {
		st.token, st.expires = "", 0
	}
	if c.Version == 0 || c.Version >= st.version {
		st.pushed(&c, now)
	}
	if c.Version > st.version {
		st.version = c.Version
	}
	sh.settle(ks, i, now)
	if c.Retention > 0 {
		sh.markDone(ckey{c.Connector, c.EventID}, h, now, after(now, c.Retention))
	}
	return nil
}

// Release implements [Store].
func (s *MemoryStore) Release(ctx context.Context, c idempotency.Claim, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh, hk, _ := s.shard(&c)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ks, i := sh.keys.find(ckey{c.Connector, c.Key}, hk); ks != nil && ks.st.token == token {
		ks.st.token, ks.st.expires = "", 0
		sh.settle(ks, i, s.now())
	}
	return nil
}

// settle is called after every use of a key (claim, complete, release,
// ledger update) that changed the state in its slot ks, number i: it
// forgets the key when its state holds nothing worth keeping, and keeps
// ages and the bound. A new key goes to the back of ages, and so does a
// used key whose record is in the older half of the queue; one in the
// newer half keeps its place: the Complete that follows a key's Claim
// costs no second record, and the order stays the order of use to within
// half the queue. ks is not to be used after settle.
func (sh *memoryShard) settle(ks *keySlot, i uint32, now int64) {
	st := &ks.st
	if st.token == "" && st.version == 0 && !st.hasLed {
		sh.keys.remove(i) // its record in ages is stale from now on
		return
	}
	if st.age <= sh.ages.popped+uint64(sh.ages.len()/2) {
		if sh.ages.len() >= 2*sh.keys.len()+64 {
			sh.compactAges()
		}
		st.age = sh.ages.push(i)
	}
	if sh.keys.len() > sh.maxKeys {
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
		done += sh.markers.len()
		sh.keys.each(func(ks *keySlot) {
			if ks.st.version != 0 {
				versions++
			}
			if ks.st.token != "" {
				leases++
			}
		})
		sh.mu.Unlock()
	}
	return done, versions, leases
}

// marker returns k's done-marker, or nil, and the position of the newest
// marker of hash h (0 if none).
func (sh *memoryShard) marker(k ckey, h uint64) (m *marker, newest uint64) {
	newest = sh.done.get(h)
	for p := newest; p != 0; {
		m := sh.markers.at(p)
		if m == nil {
			break // the rest of the chain has been swept
		}
		if m.k == k {
			return m, newest
		}
		p = m.older
	}
	return nil, newest
}

// markDone records k's done-marker (of hash h) until exp, then sweeps.
func (sh *memoryShard) markDone(k ckey, h uint64, now, exp int64) {
	if m, newest := sh.marker(k, h); m != nil {
		m.expires = exp // sweepDone queues it again when its turn comes
	} else {
		sh.done.set(h, sh.markers.push(marker{k: k, hash: h, queued: exp, expires: exp, older: newest}))
	}
	sh.sweepDone(now)
}

// sweepDone forgets done-markers from the oldest while they have expired or
// the shard is over its bound. Markers are queued in completion order; with
// one retention for all, that is expiry order.
func (sh *memoryShard) sweepDone(now int64) {
	for sh.markers.len() > 0 {
		m := *sh.markers.front()
		over := sh.markers.len() > sh.maxDone
		if !over && now < m.queued {
			return // the oldest marker is live: nothing to do
		}
		p := sh.markers.pop()
		newest := sh.done.get(m.hash)
		if !over && now < m.expires {
			// Completed again since it was queued: queue it again with its
			// new expiry, the newest of its hash.
			m.queued = m.expires
			if newest != p {
				m.older = newest
			} else {
				m.older = 0 // it was the oldest marker: none is older
			}
			sh.done.set(m.hash, sh.markers.push(m))
			continue
		}
		// Forget it (over the bound, the oldest goes, live or not). It is
		// the oldest marker, so the chain of its hash ends with it.
		if newest == p {
			sh.done.remove(m.hash)
		}
	}
}

// sweepKeys runs when the shard is over its bound: it forgets keys from
// the least recently used until the shard is back at its bound. A key
// under a live lease, or whose ledger entry is behind, is never forgotten:
// it goes to the back of the queue. Each call stops after a few such keys,
// so that a shard full of them costs little; the next call goes on.
func (sh *memoryShard) sweepKeys(now int64) {
	for kept := 0; sh.keys.len() > sh.maxKeys && sh.ages.len() > 0 && kept < 8; {
		i := *sh.ages.front()
		p := sh.ages.pop()
		st := &sh.keys.at(i).st
		if st.age != p {
			continue // stale: the key was used again, or removed
		}
		if st.token != "" && now >= st.expires {
			st.token, st.expires = "", 0 // an expired lease is no reason to keep it
		}
		if st.token != "" || st.hasLed && st.led.behind() {
			st.age = sh.ages.push(i)
			kept++
			continue
		}
		sh.keys.remove(i)
	}
}

// compactAges drops the stale records of ages. New positions continue
// after the old ones, so that no stale position can match a key's new one.
func (sh *memoryShard) compactAges() {
	old := sh.ages
	sh.ages = fifo[uint32]{popped: old.popped + uint64(old.n)}
	for old.len() > 0 {
		i := *old.front()
		p := old.pop()
		if st := &sh.keys.at(i).st; st.age == p {
			st.age = sh.ages.push(i)
		}
	}
}

// marker is a done-marker. Markers whose keys share a hash chain from the
// newest, whose position done holds, through older, so a collision costs a
// comparison, never a wrong answer. The oldest marker is always swept first,
// so a chain only ever loses its end.
type marker struct {
	k       ckey
	hash    uint64
	queued  int64  // the expiry it was queued with
	expires int64  // the expiry of its last Complete
	older   uint64 // position of the next older marker of the same hash, 0 if none
}

// fifo is a first-in, first-out queue in a ring buffer that doubles when
// full, halves when a quarter full, and is reused in between: no
// allocation and no copying in the steady state, where a slice queue
// (q = q[1:] then append) copies its whole window each time it outgrows
// its array. Each element has a position, counted from 1 in push order, by
// which at finds it while it is queued.
type fifo[T any] struct {
	buf    []T // len is zero or a power of two
	head   int
	n      int
	popped uint64 // how many have been popped: the front's position is popped+1
}

func (q *fifo[T]) len() int { return q.n }

// push queues v and returns its position.
func (q *fifo[T]) push(v T) uint64 {
	if q.n == len(q.buf) {
		q.resize(max(2*len(q.buf), 16))
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = v
	q.n++
	return q.popped + uint64(q.n)
}

// at returns the element at position p, or nil if it is no longer queued.
func (q *fifo[T]) at(p uint64) *T {
	i := p - q.popped - 1 // wraps to a huge number when p was popped
	if i >= uint64(q.n) {
		return nil
	}
	return &q.buf[(q.head+int(i))&(len(q.buf)-1)]
}

// front returns the oldest element; the queue must not be empty.
func (q *fifo[T]) front() *T { return &q.buf[q.head] }

// pop drops the oldest element and returns its position; the queue must
// not be empty.
func (q *fifo[T]) pop() uint64 {
	var zero T
	q.buf[q.head] = zero // let what it references be collected
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	q.popped++
	if len(q.buf) > 16 && q.n < len(q.buf)/4 {
		q.resize(len(q.buf) / 2)
	}
	return q.popped
}

// resize moves the elements to a buffer of size n, a power of two.
func (q *fifo[T]) resize(n int) {
	buf := make([]T, n)
	if q.head+q.n <= len(q.buf) {
		copy(buf, q.buf[q.head:q.head+q.n])
	} else {
		k := copy(buf, q.buf[q.head:])
		copy(buf[k:], q.buf[:q.n-k])
	}
	q.buf, q.head = buf, 0
}
