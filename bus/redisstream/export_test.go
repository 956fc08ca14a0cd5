package redisstream

// HoldPublishes sets f to run before each round trip of Publish calls,
// with the number of calls it carries. Set it before the first Publish.
func HoldPublishes(b *Bus, f func(n int)) { b.gather.beforeSend = f }

// PublishRounds returns the round trips of Publish calls so far, and the
// calls they carried.
func PublishRounds(b *Bus) (rounds, calls uint64) {
	b.gather.mu.Lock()
	defer b.gather.mu.Unlock()
	return b.gather.rounds, b.gather.calls
}

// QueuedPublishes returns how many Publish calls wait for the round trip
// in flight (abandoned ones included, until that round trip ends).
func QueuedPublishes(b *Bus) int {
	b.gather.mu.Lock()
	defer b.gather.mu.Unlock()
	return len(b.gather.queue)
}
