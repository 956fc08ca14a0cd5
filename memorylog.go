package synclayer

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
)

// errLogFull is returned by [MemoryLog.Put] when the log is at its bound
// and everything it could forget is pending: a pending entry is never
// forgotten, so the new entry is not kept. The dispatcher then leaves a
// held route's event on the bus instead of acknowledging it.
var errLogFull = errors.New("delivery log full of pending entries")

// Defaults of a [MemoryLog]'s bounds.
const (
	defaultMemoryLogRecords = 20_000
	defaultMemoryLogBytes   = 64 << 20
)

// MemoryLog is the default [DeliveryLog]: in memory, bounded in records
// and in bytes, newest first.
//
// Every Put writes a record, and an entry is the newest record of its
// (event, connector). A route that is pushed once writes two: in progress,
// then its outcome. When no other Put came between them, the outcome takes
// the in-progress record's place; otherwise the older record stays until
// the log passes it, and counts toward the bound until then, so a log of n
// records shows the last n/2 routes or more.
//
// When full the log forgets the oldest records of entries that need no
// more work first (synced, duplicate, stale, in progress, failed), then the
// oldest dead letters. It never forgets a pending entry: when only pending
// entries are left to forget, Put refuses the new entry with errLogFull.
//
// Its entries are gone with the process, so it is not a [idempotency.DurableLog]:
// [Dispatcher.Run] does not acknowledge an event whose route it holds.
//
// Its zero value is an empty log with the default bounds, ready to use; set
// the bounds before the first use, as with an http.Server:
//
//	log := &synclayer.MemoryLog{MaxEntries: 50_000}
//
// A MemoryLog is safe for concurrent use.
type MemoryLog struct {
	// MaxEntries bounds how many records the log keeps, pending and dead
	// entries included (zero or less: 20,000).
	MaxEntries int
	// MaxBytes bounds the approximate memory the records take, kept events
	// included (zero or less: 64 MiB).
	MaxBytes int64

	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	// The records of every entry but pending and dead ones, oldest first:
	// a Put writes at the back and the bound forgets from the front, so a
	// Put neither hashes nor looks up, and once the log is full it writes
	// to the slot it has just freed, which is in cache (see ring). A record
	// is superseded by a newer record of its entry, here or in held.
	ring  ring[logRecord]
	held  map[logID]*logRecord // pending and dead entries, one record each
	dead  fifo[heldRef]        // dead letters in order of their Put; see forgetDead
	ndead int                  // dead entries in held
	bytes int64
	seq   uint64
}

// logID is the identity of an entry.
type logID struct{ eventID, connector string }

// logRecord is a Delivery as the log keeps it.
type logRecord struct {
	d    Delivery
	seq  uint64 // order of its Put; higher is newer
	size int64
}

func (r *logRecord) id() logID { return logID{r.d.EventID, r.d.Connector} }

// heldRef points at a dead letter in held while it has that seq.
type heldRef struct {
	id  logID
	seq uint64
}

// isHeld reports whether an entry in state s goes to held: it needs more
// work (pending) or an operator's eye (dead), so the ring must not pass it.
func isHeld(s Status) bool { return s == StatusPending || s == StatusDead }

// init applies the bounds at first use; the caller holds l.mu.
func (l *MemoryLog) init() {
	if l.maxEntries == 0 {
		l.maxEntries = l.MaxEntries
		if l.maxEntries <= 0 {
			l.maxEntries = defaultMemoryLogRecords
		}
		l.maxBytes = l.MaxBytes
		if l.maxBytes <= 0 {
			l.maxBytes = defaultMemoryLogBytes
		}
	}
}

// Put implements [DeliveryLog]. It returns errLogFull when the entry
// cannot be kept because the log is full of pending entries.
func (l *MemoryLog) Put(_ context.Context, d Delivery) error {
	size := deliverySize(&d)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	l.seq++
	id := logID{d.EventID, d.Connector}
	if len(l.held) > 0 {
		if r, ok := l.held[id]; ok {
			l.unhold(id, r) // this record supersedes it
		}
	}
	var added *logRecord
	if isHeld(d.State) {
		added = &logRecord{d: d, seq: l.seq, size: size}
		if l.held == nil {
			l.held = make(map[logID]*logRecord)
		}
		l.held[id] = added
		if d.State == StatusDead {
			l.ndead++
			l.dead.push(heldRef{id, l.seq})
		}
	} else if b := l.ring.back(); b != nil && b.d.State == StatusInProgress && b.id() == id {
		// The entry's in-progress record is the newest: its outcome
		// takes that slot, which is in cache, instead of a cold one, and
		// the superseded record costs no room, so the bound keeps up to
		// twice the routes. In BenchmarkLogCost 98% of outcomes took
		// that place; its log share, alternated with the code before:
		// store=full median 7.6% -> 5.2% (12 runs each), store=fresh
		// 8.4% -> 8.0% (18 runs each, within the benchmark's noise).
		l.bytes -= b.size
		b.d, b.seq, b.size = d, l.seq, size
	} else {
		var r *logRecord
		if l.ring.len() > 0 && l.ring.len()+len(l.held) >= l.maxEntries {
			l.bytes -= l.ring.front().size
			r = l.ring.rotate() // the oldest record's slot, just read, takes the new one
		} else {
			r = l.ring.add(l.maxEntries)
		}
		r.d, r.seq, r.size = d, l.seq, size
	}
	l.bytes += size
	return l.shrink(added)
}

// unhold drops id's entry r from held.
func (l *MemoryLog) unhold(id logID, r *logRecord) {
	delete(l.held, id)
	l.bytes -= r.size
	if r.d.State == StatusDead {
		l.ndead--
		if l.dead.len() > 2*l.ndead+64 {
			l.compactDead()
		}
	}
}

// shrink forgets records until the log is within its bounds: the oldest
// of the ring, then the oldest dead letter. added is the entry the Put
// just held, if any; when only pending entries are left over the bound in
// records, it is the one dropped, and shrink returns errLogFull.
func (l *MemoryLog) shrink(added *logRecord) error {
	for {
		overCount := l.ring.len()+len(l.held) > l.maxEntries
		switch {
		case !overCount && l.bytes <= l.maxBytes:
			return nil
		case l.ring.len() > 0:
			l.popRing()
		case l.ndead > 0:
			l.forgetDead()
		case overCount && added != nil && added.d.State == StatusPending:
			// Only pending entries are left. added is a new entry: an
			// update of a held one leaves the count as it was, and the
			// ring, where an older record of it could be, is empty.
			l.unhold(added.id(), added)
			return errLogFull
		default:
			return nil // over its bytes with only pending entries left: they stay
		}
	}
}

// popRing forgets the ring's oldest record.
func (l *MemoryLog) popRing() {
	l.bytes -= l.ring.front().size
	l.ring.pop()
}

// forgetDead forgets the oldest dead letter. dead lists every dead letter
// in order, and also those replaced since, which it skips: a ref is live
// while held has its entry dead with the ref's seq.
func (l *MemoryLog) forgetDead() {
	for l.dead.len() > 0 {
		ref := *l.dead.front()
		l.dead.pop()
		if r, ok := l.held[ref.id]; ok && r.seq == ref.seq && r.d.State == StatusDead {
			l.unhold(ref.id, r)
			return
		}
	}
}

// compactDead drops the refs of dead that are no longer live.
func (l *MemoryLog) compactDead() {
	old := l.dead
	l.dead = fifo[heldRef]{}
	for old.len() > 0 {
		ref := *old.front()
		old.pop()
		if r, ok := l.held[ref.id]; ok && r.seq == ref.seq && r.d.State == StatusDead {
			l.dead.push(ref)
		}
	}
}

// deliverySize approximates the memory a record takes.
func deliverySize(d *Delivery) int64 {
	const overhead = 256 // the record and its fixed fields
	n := overhead + len(d.EventID) + len(d.EventType) + len(d.Connector) + len(d.Key) +
		len(d.Error) + len(d.PartnerID) + len(d.PayloadHash)
	if ev := d.Event; ev != nil {
		n += 128 + len(ev.ID) + len(ev.Type) + len(ev.Source) + len(ev.Subject) + len(ev.Data)
		for k, v := range ev.Meta {
			n += 32 + len(k) + len(v)
		}
	}
	return int64(n)
}

// List implements [DeliveryLog]. It reads the records from the newest and
// skips those a newer record supersedes: a lookup of one (event,
// connector) costs a walk of the ring, which the log accepts so that Put,
// on every route, costs none.
func (l *MemoryLog) List(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	heldOnly := len(f.States) > 0 && !slices.ContainsFunc(f.States, func(s Status) bool { return !isHeld(s) })
	if f.EventID != "" && f.Connector != "" {
		id := logID{f.EventID, f.Connector}
		r := l.held[id]
		if r == nil && !heldOnly { // only pending or dead entries are wanted: none is in the ring
			r = l.lookup(id)
		}
		if r != nil && f.Match(&r.d) {
			return []Delivery{r.d}, nil
		}
		return nil, nil
	}
	n := f.Max()
	// The held entries that match, newest first. Each is its entry's
	// newest record.
	var held []*logRecord
	for _, r := range l.held {
		if f.Match(&r.d) {
			held = append(held, r)
		}
	}
	slices.SortFunc(held, func(a, b *logRecord) int { return cmp.Compare(b.seq, a.seq) })
	// The ring's entries that match, newest first, one at a time.
	i := l.ring.len() - 1
	if heldOnly {
		i = -1 // only pending or dead entries are wanted: none is in the ring
	}
	seen := map[logID]bool{}
	nextInRing := func() *logRecord {
		for ; i >= 0; i-- {
			r := l.ring.at(i)
			if id := r.id(); !seen[id] && l.held[id] == nil {
				seen[id] = true // older records of id are superseded
				if f.Match(&r.d) {
					i--
					return r
				}
			}
		}
		return nil
	}
	var out []Delivery
	r := nextInRing()
	for len(out) < n {
		switch {
		case len(held) > 0 && (r == nil || held[0].seq > r.seq):
			out = append(out, held[0].d)
			held = held[1:]
		case r != nil:
			out = append(out, r.d)
			r = nextInRing()
		default:
			return out, nil
		}
	}
	return out, nil
}

// lookup returns id's entry, or nil: its record in held, or its newest
// in the ring.
func (l *MemoryLog) lookup(id logID) *logRecord {
	if r := l.held[id]; r != nil {
		return r
	}
	for i := l.ring.len() - 1; i >= 0; i-- {
		if r := l.ring.at(i); r.d.EventID == id.eventID && r.d.Connector == id.connector {
			return r
		}
	}
	return nil
}

// Len returns the number of entries. It walks the log, as a lookup does.
func (l *MemoryLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make(map[logID]bool, l.ring.len())
	for i := range l.ring.len() {
		if id := l.ring.at(i).id(); l.held[id] == nil {
			ids[id] = true
		}
	}
	return len(ids) + len(l.held)
}

// ring is a first-in, first-out queue that grows by doubling up to a
// limit and never shrinks: the log's records, which stay at the bound once
// it is reached. Unlike fifo, at counts from the front, and the buffer
// need not be a power of two, so that in a full ring the newest record
// takes the oldest one's slot, which Put has just read: measured on the
// log against a fifo, whose push goes to another, cold slot,
// BenchmarkLogCost 14.3% -> 9.7% (medians of 8, same run). Filling that
// slot in place (rotate), rather than clearing it with a pop and copying a
// whole record in with a push, took BenchmarkMemoryLog from 97-103 to
// 72-77 ns and BenchmarkLogCost from 9.6% to 7.6% (medians of 6,
// alternated, same run).
type ring[T any] struct {
	buf  []T
	head int // index of the front
	n    int
}

func (q *ring[T]) len() int { return q.n }

// add makes room for one more element at the back, growing the buffer to
// at most limit elements (or one more than it holds, when it holds limit
// or more already), and returns it for the caller to fill.
func (q *ring[T]) add(limit int) *T {
	if q.n == len(q.buf) {
		buf := make([]T, max(min(2*len(q.buf), limit), 16, q.n+1))
		k := copy(buf, q.buf[q.head:])
		copy(buf[k:], q.buf[:q.head])
		q.buf, q.head = buf, 0
	}
	i := q.head + q.n
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	q.n++
	return &q.buf[i]
}

// rotate forgets the oldest element and returns the slot of a new one at
// the back, for the caller to overwrite whole. In a full buffer that is
// the oldest element's own slot, so nothing is cleared or moved. The ring
// must not be empty.
func (q *ring[T]) rotate() *T {
	if q.n < len(q.buf) {
		q.pop()
		return q.add(len(q.buf))
	}
	s := &q.buf[q.head]
	q.head++
	if q.head == len(q.buf) {
		q.head = 0
	}
	return s
}

// at returns the element i places from the front; 0 <= i < len.
func (q *ring[T]) at(i int) *T {
	i += q.head
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	return &q.buf[i]
}

// back returns the newest element, or nil when the queue is empty.
func (q *ring[T]) back() *T {
	if q.n == 0 {
		return nil
	}
	return q.at(q.n - 1)
}

// front returns the oldest element; the queue must not be empty.
func (q *ring[T]) front() *T { return &q.buf[q.head] }

// pop drops the oldest element; the queue must not be empty.
func (q *ring[T]) pop() {
	var zero T
	q.buf[q.head] = zero // let what it references be collected
	q.head++
	if q.head == len(q.buf) {
		q.head = 0
	}
	q.n--
}
