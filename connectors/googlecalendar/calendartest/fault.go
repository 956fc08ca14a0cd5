package calendartest

import (
	"net/http"
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
func (f *Fake) Inject(faults ...Fault) { f.faults.Inject(faults...) }

// takeFault removes and returns the first queued fault matching method,
// or nil.
func (f *Fake) takeFault(method string) *Fault {
	return f.faults.Take(func(fl Fault) bool { return fl.Method == "" || fl.Method == method })
}
