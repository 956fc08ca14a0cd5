package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/webhook"
	"github.com/hmsplatform/synclayer/synclayertest"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// payload is what the tests send as Record.Payload.
type payload struct {
	Version int64  `json:"version"`
	Note    string `json:"note,omitempty"`
}

// fault answers one request instead of the receiver (see conntest.Fault).
type fault = conntest.Fault

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
	faults   conntest.Faults // answer the next requests in its place, one each
	rejected int             // bad signatures
}

func newReceiver(t testing.TB) *receiver { return newReceiverBehind(t, nil) }

// newReceiverBehind serves the receiver through wrap (a chaos handler).
func newReceiverBehind(t testing.TB, wrap func(http.Handler) http.Handler) *receiver {
	rc := &receiver{t: t, recs: map[string]payload{}, ids: map[string]int{}}
	rc.srv = conntest.Serve(t, rc, wrap)
	return rc
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
	f := rc.faults.Next()
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

func status(code int, header ...string) fault { return conntest.Status(code, "injected", header...) }

var lostResponse, stall fault = conntest.LostResponse, conntest.Stall

func (rc *receiver) fail(f synclayertest.Failure, times int) bool {
	return rc.faults.Fail(f, times, status(http.StatusServiceUnavailable), status(http.StatusUnprocessableEntity))
}
