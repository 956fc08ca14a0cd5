package conntest

import (
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/hmsplatform/synclayer/synclayertest"
)

// Fault answers one request in place of a partner fake. apply performs the
// request's write as the fake would, and returns the status the fake would
// have answered.
type Fault func(w http.ResponseWriter, r *http.Request, apply func() int)

// Faults is a partner fake's queue of faults, used one per request in
// order. The zero value is empty; it is safe for concurrent use.
type Faults struct {
	mu sync.Mutex
	q  []Fault
}

// Inject queues faults for the next requests, one each.
func (f *Faults) Inject(fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.q = append(f.q, fs...)
}

// Next removes and returns the fault of the next request, or nil.
func (f *Faults) Next() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.q) == 0 {
		return nil
	}
	fl := f.q[0]
	f.q = f.q[1:]
	return fl
}

// Fail queues times copies of the fault that stands for a failure of the
// conformance suite (synclayertest.ConnectorHarness.Fail): retryable and
// permanent are the partner's own answers for the first two kinds; stalls
// and lost responses are [Stall] and [LostResponse]. It reports whether
// the failure is one it knows.
func (f *Faults) Fail(failure synclayertest.Failure, times int, retryable, permanent Fault) bool {
	return Failer(f.Inject, retryable, permanent, Stall, LostResponse)(failure, times)
}

// Status answers code with body, after setting the header pairs given
// (name, value, name, value, ...). The write is not applied.
func Status(code int, body string, header ...string) Fault {
	return func(w http.ResponseWriter, _ *http.Request, _ func() int) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// LostResponse applies the write, then resets the connection without an
// answer.
func LostResponse(w http.ResponseWriter, r *http.Request, apply func() int) {
	apply()
	Reset(w, r, apply)
}

// Reset resets the connection without applying the write or answering.
func Reset(w http.ResponseWriter, _ *http.Request, _ func() int) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, not a clean close
		}
		conn.Close()
	}
}

// Stall holds the request, unapplied, until the client gives up.
func Stall(_ http.ResponseWriter, r *http.Request, _ func() int) { <-r.Context().Done() }
