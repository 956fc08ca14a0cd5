package monitor

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer"
)

// ledgerQueue is how many deliveries the ledger holds between two reads of
// the status; past that it forgets them and reads the log again.
const ledgerQueue = 8192

// ledgerMax bounds the dead, failed and pending deliveries the ledger keeps
// track of; past that it reads the log again.
const ledgerMax = 100_000

// seedLimit is how many log entries of each kind a (re)seed reads.
const seedLimit = 10_000

// ledger keeps, per connector, what waits in the delivery log now: dead
// letters (and failed deliveries), which of them are superseded by a later
// sync of the same key, and pending deliveries. It reads the log once, at
// the first status, and then follows the dispatcher's deliveries through
// [synclayer.Dispatcher.Watch], so a status read costs no listing of the
// log. The Watch callback only hands the delivery to a buffered channel
// and never blocks; readers of the status apply what queued.
type ledger struct {
	in   chan synclayer.Delivery
	lost atomic.Bool // in overflowed: the ledger missed deliveries

	mu     sync.Mutex
	seeded bool
	capped bool // the last seed read seedLimit dead, failed and pending entries: the log may hold more
	open   map[dkey]*openEntry
	keys   map[kkey]*keyState
	counts map[string]*Waiting
}

type dkey struct{ event, connector string }
type kkey struct{ connector, key string }

// openEntry is a dead, failed or pending delivery.
type openEntry struct {
	key        string
	state      synclayer.Status
	updated    time.Time
	superseded bool
}

// keyState tracks a (connector, key) that has dead or failed deliveries.
type keyState struct {
	open       map[string]*openEntry // by event id
	lastSynced time.Time
}

func newLedger() *ledger {
	return &ledger{in: make(chan synclayer.Delivery, ledgerQueue)}
}

// watch is the Watch callback: it must never block.
func (l *ledger) watch(d synclayer.Delivery) {
	d.Event = nil
	select {
	case l.in <- d:
	default:
		l.lost.Store(true)
	}
}

// refresh brings the ledger up to date: it reads the log when it has not
// yet, or when it lost track (more than ledgerQueue deliveries since the
// last refresh), and applies the deliveries that queued. It returns false
// when the log cannot be read.
func (l *ledger) refresh(ctx context.Context, d *synclayer.Dispatcher) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.seeded || l.lost.Load() {
		if err := l.seed(ctx, d); err != nil {
			return false
		}
	}
	for n := len(l.in); n > 0; n-- {
		l.apply(<-l.in)
	}
	if len(l.open) > ledgerMax {
		l.lost.Store(true)
	}
	return true
}

// seed rebuilds the ledger from the log. Deliveries queued before are
// dropped: the log holds them, or newer states of them.
func (l *ledger) seed(ctx context.Context, d *synclayer.Dispatcher) error {
	for n := len(l.in); n > 0; n-- {
		<-l.in
	}
	l.lost.Store(false)
	open, err := d.Deliveries(ctx, synclayer.DeliveryFilter{Limit: seedLimit,
		States: []synclayer.Status{synclayer.StatusDead, synclayer.StatusFailed, synclayer.StatusPending}})
	if err != nil {
		l.lost.Store(true)
		return err
	}
	synced, err := d.Deliveries(ctx, synclayer.DeliveryFilter{Limit: seedLimit, States: []synclayer.Status{synclayer.StatusSynced}})
	if err != nil {
		l.lost.Store(true)
		return err
	}
	// Only the open read caps the counts. A capped synced read leaves
	// them exact: a letter superseded only by a sync older than those
	// read counts as a dead letter instead (see [Status].WaitingCapped).
	l.capped = len(open) >= seedLimit
	all := append(open, synced...)
	slices.SortStableFunc(all, func(a, b synclayer.Delivery) int { return a.Updated.Compare(b.Updated) })
	l.open, l.keys, l.counts = map[dkey]*openEntry{}, map[kkey]*keyState{}, map[string]*Waiting{}
	for _, dl := range all {
		l.apply(dl)
	}
	l.seeded = true
	return nil
}

// apply takes one delivery's new state into account. Deliveries come
// oldest first; one older than what the ledger holds for its (event,
// connector) is ignored.
func (l *ledger) apply(d synclayer.Delivery) {
	dk := dkey{d.EventID, d.Connector}
	if old, ok := l.open[dk]; ok {
		if d.Updated.Before(old.updated) {
			return
		}
		l.remove(dk, old)
	}
	switch d.State {
	case synclayer.StatusDead, synclayer.StatusFailed:
		kk := kkey{d.Connector, d.Key}
		ks := l.keys[kk]
		if ks == nil {
			ks = &keyState{open: map[string]*openEntry{}}
			l.keys[kk] = ks
		}
		e := &openEntry{key: d.Key, state: d.State, updated: d.Updated, superseded: ks.lastSynced.After(d.Updated)}
		ks.open[d.EventID] = e
		l.open[dk] = e
		c := l.count(d.Connector)
		if e.superseded {
			c.Superseded++
		} else {
			c.DeadLetters++
		}
	case synclayer.StatusPending:
		l.open[dk] = &openEntry{key: d.Key, state: d.State, updated: d.Updated}
		l.count(d.Connector).Queued++
	case synclayer.StatusSynced:
		ks := l.keys[kkey{d.Connector, d.Key}]
		if ks == nil || !d.Updated.After(ks.lastSynced) {
			return
		}
		ks.lastSynced = d.Updated
		c := l.count(d.Connector)
		for _, e := range ks.open {
			if !e.superseded && e.updated.Before(d.Updated) {
				e.superseded = true
				c.DeadLetters--
				c.Superseded++
			}
		}
	}
}

func (l *ledger) remove(dk dkey, e *openEntry) {
	delete(l.open, dk)
	c := l.count(dk.connector)
	switch {
	case e.state == synclayer.StatusPending:
		c.Queued--
		return
	case e.superseded:
		c.Superseded--
	default:
		c.DeadLetters--
	}
	kk := kkey{dk.connector, e.key}
	if ks := l.keys[kk]; ks != nil {
		delete(ks.open, dk.event)
		if len(ks.open) == 0 {
			delete(l.keys, kk)
		}
	}
}

func (l *ledger) count(connector string) *Waiting {
	c := l.counts[connector]
	if c == nil {
		c = &Waiting{}
		l.counts[connector] = c
	}
	return c
}

// waiting returns the counts per connector, and whether the last seed's
// read of dead, failed and pending entries was capped at seedLimit (see
// [Status].WaitingCapped). Call it after
// refresh.
func (l *ledger) waiting() (map[string]Waiting, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]Waiting, len(l.counts))
	for name, c := range l.counts {
		out[name] = *c
	}
	return out, l.capped
}

// superseded reports whether the dead letter of (event, connector) is
// superseded by a later sync of its key, judged by the deliveries'
// times: a Delivery carries no version. Call it after refresh.
func (l *ledger) superseded(event, connector string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.open[dkey{event, connector}]
	return e != nil && e.superseded
}
