package sqlstore

// SetTestHook sets a function that runs before each batch of s is sent,
// with the operation ("claim", "complete", "release", "renew") and the
// number of calls in the batch; an error it returns fails the batch as a
// failed statement would.
func SetTestHook(s *Store, f func(op string, n int) error) { s.testHook = f }

// SetRetryableHook sets a function that sees each error of s's statements
// that the dialect reports as rolled back and safe to repeat (a deadlock,
// a busy database), whether or not it is tried again.
func SetRetryableHook(s *Store, f func(error)) { s.testRetryable = f }

// Pending returns how many calls of op wait in s for a batch.
func Pending(s *Store, op string) int {
	for k, l := range s.lanes {
		if opNames[k] == op {
			l.mu.Lock()
			defer l.mu.Unlock()
			return len(l.pending)
		}
	}
	return -1
}
