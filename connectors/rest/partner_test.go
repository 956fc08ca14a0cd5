package rest_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// payload is the JSON body the tests push.
type payload struct {
	Key     string `json:"key"`
	Version int64  `json:"version"`
	Note    string `json:"note,omitempty"`
}

// fault answers one request instead of the partner (see conntest.Fault).
type fault = conntest.Fault

// seen is one request as the partner received it.
type seen struct {
	Method, Path string // Path as escaped on the wire
	Key          string
	Header       http.Header
	Body         []byte
}

// fakePartner is a records API on an httptest server: PUT and PATCH upsert the
// record at /records/{key}, POST appends one (so a non-idempotent client
// shows as duplicates), DELETE removes them.
type fakePartner struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	recs   map[string][][]byte // key -> stored bodies, one per record
	writes map[string]int      // key -> applied writes
	seen   []seen
	faults conntest.Faults // answer the next requests in its place, one each
	conns  atomic.Int32    // connections opened
}

func newPartner(t testing.TB) *fakePartner { return newPartnerBehind(t, nil) }

// newPartnerBehind serves the partner through wrap (a chaos handler, say).
func newPartnerBehind(t testing.TB, wrap func(http.Handler) http.Handler) *fakePartner {
	p := &fakePartner{t: t, recs: map[string][][]byte{}, writes: map[string]int{}}
	var h http.Handler = p
	if wrap != nil {
		h = wrap(p)
	}
	p.srv = httptest.NewUnstartedServer(h)
	p.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.conns.Add(1)
		}
	}
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakePartner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	esc := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(esc, "/records/")
	key, uerr := url.PathUnescape(rest)
	if !ok || strings.Contains(rest, "/") || uerr != nil {
		http.Error(w, "no such collection", http.StatusNotFound)
		return
	}
	p.mu.Lock()
	p.seen = append(p.seen, seen{Method: r.Method, Path: esc, Key: key, Header: r.Header.Clone(), Body: body})
	f := p.faults.Next()
	p.mu.Unlock()

	apply := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch r.Method {
		case http.MethodPut, http.MethodPatch:
			if !json.Valid(body) {
				return http.StatusBadRequest
			}
			p.writes[key]++
			if len(p.recs[key]) > 0 {
				p.recs[key] = [][]byte{body}
				return http.StatusOK
			}
			p.recs[key] = [][]byte{body}
			return http.StatusCreated
		case http.MethodPost:
			p.writes[key]++
			p.recs[key] = append(p.recs[key], body)
			return http.StatusCreated
		case http.MethodDelete:
			if len(p.recs[key]) == 0 {
				return http.StatusNotFound
			}
			p.writes[key]++
			delete(p.recs, key)
			return http.StatusNoContent
		}
		return http.StatusMethodNotAllowed
	}
	if f != nil {
		f(w, r, apply)
		return
	}
	status := apply()
	w.WriteHeader(status)
	if status == http.StatusCreated || status == http.StatusOK {
		_, _ = w.Write(body)
	}
}

// versions returns the version of each record held for key.
func (p *fakePartner) versions(key string) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []int64{}
	for _, b := range p.recs[key] {
		var pl payload
		if err := json.Unmarshal(b, &pl); err != nil {
			p.t.Errorf("partner holds non-JSON for %q: %q", key, b)
		}
		out = append(out, pl.Version)
	}
	return out
}

func (p *fakePartner) requests() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.seen...)
}

func (p *fakePartner) writesTo(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes[key]
}

// Faults.

func status(code int, header ...string) fault {
	return conntest.Status(code, `{"error":"injected `+http.StatusText(code)+`"}`, header...)
}

var lostResponse, stall fault = conntest.LostResponse, conntest.Stall

// failures maps the conformance suite's failures to faults.
func (p *fakePartner) fail(f synclayertest.Failure, times int) bool {
	return p.faults.Fail(f, times, status(http.StatusServiceUnavailable), status(http.StatusBadRequest))
}

func (p *fakePartner) lookup(_ context.Context, key string) ([]int64, error) {
	return p.versions(key), nil
}
