package arcgistest

import (
	"cmp"
	"net/http"
)

// Fault makes one request misbehave, as a real service or the network
// sometimes does. Each injected Fault is used once, by the first request
// it matches.
type Fault struct {
	// Op is the operation it matches: "query" or "applyEdits"; "" for any.
	Op string
	// Body, when set, is answered instead of handling the request, with
	// Status (default 200) and Header.
	Body   string
	Status int
	Header http.Header
	// Lost handles the request, then drops the connection unanswered.
	Lost bool
	// Stall holds the request, unhandled, until the client gives up.
	Stall bool
	// Before runs before the request is handled, outside the layer's lock
	// (a concurrent editor, say).
	Before func()
	// FeatureCode refuses the first add or update of an applyEdits with
	// this error code; with rollbackOnFailure the whole request is undone.
	FeatureCode int
}

// Inject queues faults for the coming requests.
func (l *Layer) Inject(faults ...Fault) { l.faults.Inject(faults...) }

// takeFault removes and returns the first queued fault matching op, or
// nil.
func (l *Layer) takeFault(op string) *Fault {
	return l.faults.Take(func(f Fault) bool { return f.Op == "" || f.Op == op })
}

// answer writes the canned answer of f.
func (f *Fault) answer(w http.ResponseWriter) {
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(cmp.Or(f.Status, http.StatusOK))
	_, _ = w.Write([]byte(f.Body))
}

// discard is a ResponseWriter that keeps nothing: the answer to a request
// whose answer is lost.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
