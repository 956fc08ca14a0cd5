package calendartest

import (
	"net/http"
	"slices"
)

// Fault makes one request misbehave, as the real API or the network
// sometimes does. Each injected Fault is used once, by the first request
// it matches.
type Fault struct {
	Method string      // "POST", "GET", "PUT", "PATCH", "DELETE"; "" for any
	Code   int         // answer with this HTTP status and Google's error shape, without applying the request
	Reason string      // errors[0].reason of that answer ("backendError", "rateLimitExceeded", ...)
	Header http.Header // headers of that answer (a Retry-After, say)
	Lost   bool        // apply the request, then drop the connection without an answer
	Stall  bool        // hold the request, unapplied, until the client gives up
}

// Inject queues faults for the coming requests.
func (f *Fake) Inject(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, faults...)
}

// takeFault removes and returns the first queued fault matching method,
// or nil; f.mu is held.
func (f *Fake) takeFault(method string) *Fault {
	for i, fl := range f.faults {
		if fl.Method == "" || fl.Method == method {
			f.faults = slices.Delete(f.faults, i, i+1)
			return &fl
		}
	}
	return nil
}
