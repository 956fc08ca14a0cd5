package synclayer

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
)

// errLogFull is returned by [MemoryLog.Put] when the log is at its bound
// and everything it could forget is pending: a pending entry is never
// forgotten, so the new entry is not kept. The dispatcher then leaves a
// held route's event on the bus instead of acknowledging it.
var errLogFull = errors.New("delivery log full of pending entries")

// Defaults of a [MemoryLog]'s bounds.
const (
	defaultMemoryLogEntries = 10_000
	defaultMemoryLogBytes   = 64 << 20
)

// MemoryLog is the default [DeliveryLog]: in memory, bounded in entries and
// in bytes, newest first. When full it forgets the least recently updated
// entries that need no more work first (synced, duplicate, stale, in
// progress, failed), then the oldest dead letters. It never forgets a
// pending entry: when only pending entries are left to forget, Put refuses
// the new entry with errLogFull.
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
	// MaxEntries bounds how many entries the log keeps (zero or less:
	// 10,000).
	MaxEntries int
	// MaxBytes bounds the approximate memory the entries take, kept events
	// included (zero or less: 64 MiB).
	MaxBytes int64

	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	index      []logSlot // open addressing by logHash; see lookup
	size       int       // entries in index
	lists      [logClasses]logList
	bytes      int64
	seq        uint64
	free       *logEntry // forgotten entries, for reuse
}

// An entry's class decides the order in which entries are forgotten.
const (
	classSettled = iota // forgotten first
	classDead
	classPending // never forgotten
	logClasses
)

func classOf(s Status) int {
	switch s {
	case StatusPending:
		return classPending
	case StatusDead:
		return classDead
	}
	return classSettled
}

// logEntry keeps its links, hash, size and class first, in one cache
// line: forgetting the oldest entry unlinks it from its neighbour, which is
// cold and whose Delivery it never touches.
type logEntry struct {
	prev, next *logEntry // towards newer, towards older
	hash       uint64    // logHash(d.EventID, d.Connector)
	seq        uint64    // order of the last Put; higher is newer
	size       int64
	class      int
	d          Delivery
}

// logSlot is a slot of the index: an entry and its hash, so that probing
// past other entries does not read them.
type logSlot struct {
	hash uint64
	e    *logEntry // nil: empty
}

// logSeed seeds logHash. It is the same for every log, so that Put hashes
// before it takes the lock.
var logSeed = maphash.MakeSeed()

// logHash hashes an entry's identity, (event ID, connector). The index is
// a table of (hash, entry) slots with linear probing, at most half full:
// a lookup reads one or two slots of one cache line, and only the entry
// whose hash matches, where a Go map pays a probe, a tombstone and its
// regrowth on every insert and delete, and a chained table reads the cold
// entries it passes. Two identities with one hash are told apart by their
// strings, so a collision costs a comparison, never a wrong answer.
func logHash(eventID, connector string) uint64 {
	return maphash.String(logSeed, eventID)*31 + maphash.String(logSeed, connector)
}

// lookup returns the entry of (eventID, connector) and its slot, or nil
// and the empty slot where it would go (-1 when the index is empty).
func (l *MemoryLog) lookup(h uint64, eventID, connector string) (e *logEntry, slot int) {
	if len(l.index) == 0 {
		return nil, -1
	}
	mask := len(l.index) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &l.index[i]
		if s.e == nil {
			return nil, i
		}
		if s.hash == h && s.e.d.EventID == eventID && s.e.d.Connector == connector {
			return s.e, i
		}
	}
}

// grow doubles the index (from 64 slots) and puts every entry in it again.
func (l *MemoryLog) grow() {
	l.index = make([]logSlot, max(2*len(l.index), 64))
	mask := len(l.index) - 1
	for c := range l.lists {
		for e := l.lists[c].head; e != nil; e = e.next {
			i := int(e.hash) & mask
			for l.index[i].e != nil {
				i = (i + 1) & mask
			}
			l.index[i] = logSlot{e.hash, e}
		}
	}
}

// unindex empties e's slot, moving back the entries after it that would
// otherwise no longer be found from their home slots.
func (l *MemoryLog) unindex(e *logEntry) {
	mask := len(l.index) - 1
	i := int(e.hash) & mask
	for l.index[i].e != e {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; l.index[j].e != nil; j = (j + 1) & mask {
		// The entry at j stays unless its home slot lies cyclically in
		// (i, j]; otherwise it moves to the hole at i.
		home := int(l.index[j].hash) & mask
		if (j-home)&mask >= (j-i)&mask {
			l.index[i] = l.index[j]
			i = j
		}
	}
	l.index[i] = logSlot{}
}

// logList is a doubly linked list of entries, newest at head.
type logList struct {
	head, tail *logEntry
	n          int
}

func (l *logList) pushFront(e *logEntry) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	} else {
		l.tail = e
	}
	l.head = e
	l.n++
}

func (l *logList) remove(e *logEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
	l.n--
}

// init applies the bounds at first use; the caller holds l.mu.
func (l *MemoryLog) init() {
	if l.maxEntries == 0 {
		l.maxEntries = l.MaxEntries
		if l.maxEntries <= 0 {
			l.maxEntries = defaultMemoryLogEntries
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
	return l.put(logHash(d.EventID, d.Connector), &d)
}

// put is Put with the entry's hash worked out, so that a test can make
// hashes collide.
func (l *MemoryLog) put(h uint64, d *Delivery) error {
	size, class := deliverySize(d), classOf(d.State)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	e, slot := l.lookup(h, d.EventID, d.Connector)
	if e != nil {
		l.lists[e.class].remove(e)
		l.bytes -= e.size
	} else {
		if e = l.free; e != nil {
			l.free = e.next
			e.next = nil
		} else {
			e = new(logEntry)
		}
		if 2*(l.size+1) > len(l.index) {
			l.grow()
			_, slot = l.lookup(h, d.EventID, d.Connector)
		}
		e.hash = h
		l.index[slot] = logSlot{h, e}
		l.size++
	}
	l.seq++
	e.d, e.seq, e.size, e.class = *d, l.seq, size, class
	l.lists[e.class].pushFront(e)
	l.bytes += e.size
	for l.size > l.maxEntries || l.bytes > l.maxBytes {
		victim := l.lists[classSettled].tail
		if victim == nil {
			victim = l.lists[classDead].tail
		}
		full := victim == nil
		if full {
			victim = e // only pending entries are left: refuse the new one
		}
		l.forget(victim)
		if full {
			return errLogFull
		}
		if victim == e {
			return nil // the new entry needs no more work and went first, by the rule
		}
	}
	return nil
}

func (l *MemoryLog) forget(e *logEntry) {
	l.lists[e.class].remove(e)
	l.unindex(e)
	l.size--
	l.bytes -= e.size
	e.d = Delivery{}
	e.next, l.free = l.free, e
}

// deliverySize approximates the memory an entry takes.
func deliverySize(d *Delivery) int64 {
	const overhead = 256 // the entry, the index slot, the fixed fields
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

// List implements [DeliveryLog].
func (l *MemoryLog) List(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Delivery
	if f.EventID != "" && f.Connector != "" {
		if e, _ := l.lookup(logHash(f.EventID, f.Connector), f.EventID, f.Connector); e != nil && f.Match(&e.d) {
			out = append(out, e.d)
		}
		return out, nil
	}
	// Merge the class lists, newest first; skip the lists the filter's
	// states rule out.
	var cur [logClasses]*logEntry
	for c := range cur {
		if len(f.States) == 0 || l.classWanted(c, f.States) {
			cur[c] = l.lists[c].head
		}
	}
	n := f.Max()
	for len(out) < n {
		best := -1
		for c, e := range cur {
			if e != nil && (best < 0 || e.seq > cur[best].seq) {
				best = c
			}
		}
		if best < 0 {
			break
		}
		e := cur[best]
		cur[best] = e.next
		if f.Match(&e.d) {
			out = append(out, e.d)
		}
	}
	return out, nil
}

func (l *MemoryLog) classWanted(c int, states []Status) bool {
	for _, s := range states {
		if classOf(s) == c {
			return true
		}
	}
	return false
}

// Len returns the number of entries.
func (l *MemoryLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}
