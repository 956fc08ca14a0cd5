package kafka

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A record whose not-before time has not come stalls only its partition:
// the member pauses fetching the partition, commits nothing of it from
// that record on, and polls and handles its other partitions meanwhile.
// When the time comes, it seeks the partition back to the record and
// resumes fetching it, so the record and those behind it are polled
// again, in order.

// notBefore returns the time before which r is not handled, if it has one.
func notBefore(r *kgo.Record) (time.Time, bool) {
	ms, err := strconv.ParseInt(header(r, HeaderNotBefore), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// wait is a paused partition: fetching it starts again at offset at due.
type wait struct {
	offset kgo.EpochOffset
	due    time.Time
}

// waits are the partitions a subscriber paused. The poll loop holds and
// releases them while rebalances are blocked (kgo.BlockRebalanceOnPoll),
// so it never seeks or resumes a partition the member no longer owns; the
// group's revoke and lost callbacks, which run only while rebalances are
// allowed, forget the partitions the member loses. It is safe for
// concurrent use.
type waits struct {
	mu      sync.Mutex
	m       map[topicPartition]wait
	stopped bool // the poll loop ended: the client is about to close
}

// hold pauses fetching r's partition until due: nothing more of it is
// polled until [waits.release] seeks it back to r at due.
func (w *waits) hold(cl *kgo.Client, r *kgo.Record, due time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[topicPartition]wait{}
	}
	w.m[topicPartition{r.Topic, r.Partition}] = wait{
		offset: kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset},
		due:    due,
	}
	cl.PauseFetchPartitions(map[string][]int32{r.Topic: {r.Partition}})
}

// holds reports whether tp is paused.
func (w *waits) holds(tp topicPartition) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.m[tp]
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

// release seeks every paused partition whose due time is not after now
// back to its waiting record and resumes fetching it. The poll loop calls
// it while rebalances are blocked.
func (w *waits) release(cl *kgo.Client, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	resume := map[string][]int32{}
	seek := map[string]map[int32]kgo.EpochOffset{}
	for tp, wt := range w.m {
		if wt.due.After(now) {
			continue
		}
		delete(w.m, tp)
		resume[tp.topic] = append(resume[tp.topic], tp.partition)
		if seek[tp.topic] == nil {
			seek[tp.topic] = map[int32]kgo.EpochOffset{}
		}
		seek[tp.topic][tp.partition] = wt.offset
	}
	if len(resume) == 0 {
		return
	}
	// Resume first: setting offsets restarts the fetch session, so the
	// partitions are in the next fetch instead of waiting for one in
	// flight to end.
	cl.ResumeFetchPartitions(resume)
	cl.SetOffsets(seek)
}

// drop forgets the paused partitions in lost, which the member no longer
// owns, and resumes fetching them, so that should the group give one back
// it is fetched from its committed offset. It is the client's
// OnPartitionsRevoked and OnPartitionsLost callback.
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
