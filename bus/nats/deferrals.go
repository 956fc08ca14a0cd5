package nats

import (
	"slices"
	"sync"
)

// maxDeferred bounds how many messages a bus remembers deferrals for.
const maxDeferred = 100_000

// deferrals counts, per stream sequence, the deliveries of a message that
// its handler deferred with synclayer.Redeliver, so that they can be taken
// off JetStream's delivery count. The count lives in this process only:
// a redelivery that reaches another process, or this one after a restart,
// counts the deferrals as deliveries. Past maxDeferred messages, the
// oldest are forgotten first.
type deferrals struct {
	mu    sync.Mutex
	n     map[uint64]int
	order []uint64 // insertion order, for eviction; may hold forgotten ones
}

// add records one more deferral of the message with stream sequence seq
// (0: unknown, not recorded).
func (d *deferrals) add(seq uint64) {
	if seq == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = make(map[uint64]int)
	}
	if _, ok := d.n[seq]; !ok {
		d.order = append(d.order, seq)
	}
	d.n[seq]++
	for len(d.n) > maxDeferred {
		delete(d.n, d.order[0]) // a no-op when it was forgotten already
		d.order = d.order[1:]
	}
	if len(d.order) > 2*maxDeferred {
		d.order = slices.DeleteFunc(d.order, func(s uint64) bool { _, ok := d.n[s]; return !ok })
	}
}

// count returns the deferrals recorded for seq.
func (d *deferrals) count(seq uint64) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[seq]
}

// forget drops what is recorded for seq, once its message is settled.
func (d *deferrals) forget(seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.n) == 0 {
		return
	}
	delete(d.n, seq)
	if len(d.n) == 0 {
		d.order = d.order[:0]
	}
}
