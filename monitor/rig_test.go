package monitor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/monitor"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// partner is a connector that fails permanently with failWith while it is
// set, and counts its successful writes per key.
type partner struct {
	mu       sync.Mutex
	failWith string
	writes   map[string]int
	last     map[string]any // the payload last written, per key
	calls    atomic.Int64
}

func (p *partner) Sync(_ context.Context, rec synclayer.Record) error {
	p.calls.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failWith != "" {
		return synclayer.Permanent(errors.New(p.failWith))
	}
	if p.writes == nil {
		p.writes, p.last = map[string]int{}, map[string]any{}
	}
	p.writes[rec.Key]++
	p.last[rec.Key] = rec.Payload
	return nil
}

// lastPayload returns the payload last written for key.
func (p *partner) lastPayload(key string) any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last[key]
}

func (p *partner) fail(msg string) {
	p.mu.Lock()
	p.failWith = msg
	p.mu.Unlock()
}

func (p *partner) written(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes[key]
}

// rig is a dispatcher with two partners, "calendar" and "records", both
// routed for WorkflowDeployed (key: the event's Subject), and its monitor
// served under /ops/sync/ as a service would mount it.
type rig struct {
	d         *synclayer.Dispatcher
	h         *monitor.Handler
	srv       *httptest.Server
	client    *http.Client // with a cookie jar: one browser session
	calendar  *partner
	records   *partner
	eventType string
}

func newRig(t testing.TB, opts ...monitor.Option) *rig {
	t.Helper()
	return newRigWith(t, nil, opts...)
}

// byKey maps an event to an unversioned record keyed by its Subject.
var byKey = synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
	return synclayer.Record{Key: ev.Subject, Payload: map[string]string{"id": ev.Subject}}, nil
})

// newRigWith is newRig with dispatcher options dopts too.
func newRigWith(t testing.TB, dopts []synclayer.Option, opts ...monitor.Option) *rig {
	t.Helper()
	return newRigMapped(t, byKey, dopts, opts...)
}

// newRigMapped is newRigWith with records routed through recordsMapper.
func newRigMapped(t testing.TB, recordsMapper synclayer.Mapper, dopts []synclayer.Option, opts ...monitor.Option) *rig {
	t.Helper()
	r := &rig{calendar: &partner{}, records: &partner{}, eventType: "WorkflowDeployed"}
	reg := new(synclayer.Registry)
	if err := reg.Register("calendar", r.calendar, synclayer.Route(r.eventType, byKey)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("records", r.records, synclayer.Route(r.eventType, recordsMapper)); err != nil {
		t.Fatal(err)
	}
	r.d = synclayertest.NewDispatcher(t, reg, append([]synclayer.Option{synclayer.WithObserver(synclayer.NoObserver)}, dopts...)...)
	r.h = newHandler(t, r.d, opts...)
	mux := http.NewServeMux()
	mux.Handle("/ops/sync/", http.StripPrefix("/ops/sync", r.h))
	r.srv = httptest.NewServer(mux)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	r.client = r.srv.Client()
	r.client.Jar = jar
	t.Cleanup(func() {
		r.h.Close()
		r.srv.Close()
	})
	return r
}

func (r *rig) url(path string) string {
	return r.srv.URL + "/ops/sync/" + strings.TrimPrefix(path, "/")
}

func (r *rig) dispatch(t *testing.T, id, key string) synclayer.Report {
	t.Helper()
	rep, _ := r.d.Dispatch(context.Background(), synclayer.Event{ID: id, Type: r.eventType, Subject: key, Data: []byte(`{}`)})
	return rep
}

// deadLetters dispatches the events given as id, key pairs while records
// fails with msg, so that each leaves a dead letter at records.
func (r *rig) deadLetters(t *testing.T, msg string, idKeys ...string) {
	t.Helper()
	r.records.fail(msg)
	for i := 0; i+1 < len(idKeys); i += 2 {
		r.dispatch(t, idKeys[i], idKeys[i+1])
	}
	r.records.fail("")
}

// do sends a request for path with the headers through the rig's
// client, decodes a 200 body into v (when not nil), and returns the
// status code and the raw body.
func (r *rig) do(t *testing.T, method, path string, hdr http.Header, v any) (int, string) {
	t.Helper()
	return send(t, r.client, newRequest(t, method, r.url(path), hdr), v)
}

// newRequest is http.NewRequest with the headers hdr added.
func newRequest(t *testing.T, method, url string, hdr http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	return req
}

// send sends req through client, decodes a 200 body into v (when not
// nil), and returns the status code and the raw body.
func send(t *testing.T, client *http.Client, req *http.Request, v any) (int, string) {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: decode %q: %v", req.Method, req.URL.Path, b, err)
		}
	}
	return res.StatusCode, string(b)
}

func (r *rig) get(t *testing.T, path string, v any) (int, string) {
	t.Helper()
	return r.do(t, http.MethodGet, path, nil, v)
}

// token starts (or renews) the rig client's session and returns a token
// bound to it, as the dashboard gets one.
func (r *rig) token(t *testing.T) string {
	t.Helper()
	var tok monitor.Token
	if code, body := r.get(t, "api/token", &tok); code != http.StatusOK || tok.Token == "" {
		t.Fatalf("api/token: %d %s", code, body)
	}
	return tok.Token
}

// post sends a write action with a valid session and token, as the
// dashboard does.
func (r *rig) post(t *testing.T, path string, v any) (int, string) {
	t.Helper()
	return r.do(t, http.MethodPost, path, http.Header{monitor.TokenHeader: {r.token(t)}, "Sec-Fetch-Site": {"same-origin"}}, v)
}

// newHandler is monitor.New for options that are valid.
func newHandler(t testing.TB, d *synclayer.Dispatcher, opts ...monitor.Option) *monitor.Handler {
	t.Helper()
	h, err := monitor.New(d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// syncBuffer is a buffer that goroutines of the server write while the
// test reads it (a slog handler's output, a response).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logDispatcher is a dispatcher over log with one connector, "c", that
// takes every event of type "T" to key "k" and succeeds.
func logDispatcher(t testing.TB, log synclayer.DeliveryLog) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	_ = reg.Register("c", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("T", synclayer.MapperFunc(func(context.Context, synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: "k"}, nil
		})))
	return synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
}
