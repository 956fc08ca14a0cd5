package kafka

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A record whose not-before time has not come stalls only its partition:
// the member keeps that record and the ones polled behind it in memory
// (the partition's tail), pauses fetching the partition, commits nothing
// of it from that record on, and polls and handles its other partitions
// meanwhile. When the time comes, it hands the tail to the partition's
// handler, in order, and resumes fetching the partition, which goes on
// after the tail: franz-go's position in a partition is past every record
// polled, and while the partition is paused it drops the records it
// fetched of it without moving that position. Nothing is seeked, so the
// fetches of the other partitions, in flight or buffered, go on (seeking
// restarts the whole fetch session and discards them).

// notBefore returns the time before which r is not handled, if it has one.
func notBefore(r *kgo.Record) (time.Time, bool) {
	ms, err := strconv.ParseInt(header(r, HeaderNotBefore), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// wait is a paused partition: its tail is handled at due.
type wait struct {
	tail []*kgo.Record // the waiting record, then those polled behind it
	due  time.Time
}

// waits are the partitions a subscriber paused. The poll loop holds and
// releases them while rebalances are blocked (kgo.BlockRebalanceOnPoll),
// so it never hands on a tail of, or resumes, a partition the member no
// longer owns; the group's revoke and lost callbacks, which run only
// while rebalances are allowed, forget the partitions the member loses,
// tails included. It is safe for concurrent use.
type waits struct {
	mu      sync.Mutex
	m       map[topicPartition]wait
	stopped bool // the poll loop ended: the client is about to close
}

// hold keeps tail, whose first record is not handled before due, and
// pauses fetching its partition: nothing more of it is polled until
// [waits.release] hands the tail back at due.
func (w *waits) hold(cl *kgo.Client, tail []*kgo.Record, due time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[topicPartition]wait{}
	}
	r := tail[0]
	w.m[topicPartition{r.Topic, r.Partition}] = wait{tail: slices.Clone(tail), due: due}
	cl.PauseFetchPartitions(map[string][]int32{r.Topic: {r.Partition}})
}

// keep adds r to the tail of its partition if the partition is paused,
// and reports whether it did. A paused partition is not polled, so this
// only guards the order should franz-go hand on a record of one: it comes
// after the tail.
func (w *waits) keep(r *kgo.Record) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	tp := topicPartition{r.Topic, r.Partition}
	wt, ok := w.m[tp]
	if ok {
		wt.tail = append(wt.tail, r)
		w.m[tp] = wt
	}
	return ok
}

// next returns the earliest due time of the paused partitions; false when
// none is paused.
func (w *waits) next() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, wt := range w.m {
		if first.IsZero() || wt.due.Before(first) {
			first = wt.due
		}
	}
	return first, !first.IsZero()
}

// release forgets every paused partition whose due time is not after now,
// resumes fetching it, and returns its tail, to be handled before anything
// polled of it from now on. The poll loop calls it while rebalances are
// blocked.
func (w *waits) release(cl *kgo.Client, now time.Time) map[topicPartition][]*kgo.Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	var (
		tails  map[topicPartition][]*kgo.Record
		resume = map[string][]int32{}
	)
	for tp, wt := range w.m {
		if wt.due.After(now) {
			continue
		}
		delete(w.m, tp)
		if tails == nil {
			tails = map[topicPartition][]*kgo.Record{}
		}
		tails[tp] = wt.tail
		resume[tp.topic] = append(resume[tp.topic], tp.partition)
	}
	if len(resume) > 0 {
		// Fetching goes on after the tail. A fetch in flight is not
		// cut short: the partition is in the next one to its broker.
		cl.ResumeFetchPartitions(resume)
	}
	return tails
}

// drop forgets the paused partitions in lost, which the member no longer
// owns, with their tails, and resumes fetching them, so that should the
// group give one back it is fetched from its committed offset. It is the
// client's OnPartitionsRevoked and OnPartitionsLost callback.
func (w *waits) drop(_ context.Context, cl *kgo.Client, lost map[string][]int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	resume := map[string][]int32{}
	for topic, partitions := range lost {
		for _, p := range partitions {
			tp := topicPartition{topic, p}
			if _, ok := w.m[tp]; ok {
				delete(w.m, tp)
				resume[topic] = append(resume[topic], p)
			}
		}
	}
	if len(resume) > 0 {
		cl.ResumeFetchPartitions(resume)
	}
}

// stop makes drop do nothing from now on: the poll loop ended and the
// client closes, leaving the group.
func (w *waits) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}
