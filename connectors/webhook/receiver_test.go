package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/webhook"
	"github.com/hmsplatform/synclayer/synclayertest"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// payload is what the tests send as Record.Payload.
type payload struct {
	Version int64  `json:"version"`
	Note    string `json:"note,omitempty"`
}

type fault func(w http.ResponseWriter, r *http.Request, apply func() int)

// receiver verifies every webhook and applies it as an upsert (or delete)
// by key; it also remembers the webhook-ids it applied.
type receiver struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	recs     map[string]payload
	ids      map[string]int // webhook-id -> times applied
	msgs     []webhook.Message
	headers  []http.Header
	faults   []fault
	rejected int // bad signatures
}

func newReceiver(t testing.TB) *receiver { return newReceiverBehind(t, nil) }

// newReceiverBehind serves the receiver through wrap (a chaos handler).
func newReceiverBehind(t testing.TB, wrap func(http.Handler) http.Handler) *receiver {
	rc := &receiver{t: t, recs: map[string]payload{}, ids: map[string]int{}}
	var h http.Handler = rc
	if wrap != nil {
		h = wrap(rc)
	}
	rc.srv = httptest.NewServer(h)
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) inject(fs ...fault) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.faults = append(rc.faults, fs...)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if err := webhook.Verify(testSecret, r.Header, body); err != nil {
		rc.mu.Lock()
		rc.rejected++
		rc.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var m webhook.Message
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.msgs = append(rc.msgs, m)
	rc.headers = append(rc.headers, r.Header.Clone())
	var f fault
	if len(rc.faults) > 0 {
		f, rc.faults = rc.faults[0], rc.faults[1:]
	}
	rc.mu.Unlock()
	apply := func() int {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.ids[r.Header.Get(webhook.HeaderID)]++
		if m.Deleted {
			delete(rc.recs, m.Key)
			return http.StatusNoContent
		}
		var p payload
		if err := json.Unmarshal(m.Data, &p); err != nil {
			return http.StatusBadRequest
		}
		rc.recs[m.Key] = p
		return http.StatusOK
	}
	if f != nil {
		f(w, r, apply)
		return
	}
	w.WriteHeader(apply())
}

func (rc *receiver) lookup(_ context.Context, key string) ([]int64, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if p, ok := rc.recs[key]; ok {
		return []int64{p.Version}, nil
	}
	return []int64{}, nil
}

func (rc *receiver) rejections() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.rejected
}

func (rc *receiver) messages() ([]webhook.Message, []http.Header) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]webhook.Message(nil), rc.msgs...), append([]http.Header(nil), rc.headers...)
}

func status(code int, header ...string) fault {
	return func(w http.ResponseWriter, _ *http.Request, _ func() int) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "injected")
	}
}

func lostResponse(w http.ResponseWriter, _ *http.Request, apply func() int) {
	apply()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		conn.Close()
	}
}

func stall(_ http.ResponseWriter, r *http.Request, _ func() int) { <-r.Context().Done() }

func (rc *receiver) fail(f synclayertest.Failure, times int) bool {
	var fl fault
	switch f {
	case synclayertest.FailRetryable:
		fl = status(http.StatusServiceUnavailable)
	case synclayertest.FailPermanent:
		fl = status(http.StatusUnprocessableEntity)
	case synclayertest.FailStall:
		fl = stall
	case synclayertest.FailLostResponse:
		fl = lostResponse
	default:
		return false
	}
	for range times {
		rc.inject(fl)
	}
	return true
}
