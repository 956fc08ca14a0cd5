package faults

import (
	"net/http"
	"slices"
	"sync"
)

// Queue holds the faults injected into a fake, in order. The zero value is
// empty; it is safe for concurrent use.
type Queue[F any] struct {
	mu sync.Mutex
	q  []F
}

// Inject queues faults for the coming requests.
func (q *Queue[F]) Inject(faults ...F) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.q = append(q.q, faults...)
}

// Take removes and returns the first queued fault that matches, or nil.
func (q *Queue[F]) Take(matches func(F) bool) *F {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.q {
		if matches(f) {
			q.q = slices.Delete(q.q, i, i+1)
			return &f
		}
	}
	return nil
}

// Drop closes the connection of w without an answer.
func Drop(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}
