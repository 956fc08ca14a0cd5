package redisstore

// Unbatched makes s send each call in a round trip of its own, as the
// store did before group commit: the baseline of the benchmarks.
func Unbatched(s *Store) { s.unbatched = true }

// BatchStats reports how the store's calls went to Redis so far: lone
// calls (sent at once by their caller, nothing being in flight), queued
// calls (they waited for a round trip in flight and went in the next one),
// and round trips and the operations they carried.
type BatchStats struct{ Lone, Queued, Rounds, Ops uint64 }

// Stats returns s's BatchStats.
func Stats(s *Store) BatchStats {
	b := &s.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	return BatchStats{b.lone, b.queued, b.rounds, b.ops}
}

// Waiting reports how many calls wait in the queue now.
func Waiting(s *Store) int {
	b := &s.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, o := range b.queue {
		if o.state == opQueued {
			n++
		}
	}
	return n
}

// MaxBatch is maxBatch, for tests.
const MaxBatch = maxBatch

// HashKey is the key of the hash of (connector, key), for tests that look
// at its TTL.
func HashKey(s *Store, connector, key string) string { return s.hashKey(connector, key) }
