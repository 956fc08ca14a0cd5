package synclayertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/enum"
)

// ConnectorHarness is what [TestConnector] needs to know about a connector
// and the partner system it writes to.
//
// The suite builds its records with Payload and reads the partner back with
// [Partner.Lookup], so it needs no knowledge of the partner's format: the
// harness embeds the version in the payload it builds and recovers it from
// what the partner stores.
type ConnectorHarness struct {
	// NewPartner starts a fresh, empty partner system (an httptest server,
	// a scratch calendar, a test table, ...) and returns the connector
	// wired to it. It is called once per subtest; release what it starts
	// with t.Cleanup. Required.
	NewPartner func(t *testing.T) *Partner

	// Payload builds the Record.Payload of key at version (version >= 1),
	// in whatever form the connector takes. Different versions must give
	// different content that Lookup can tell apart. Required.
	Payload func(key string, version int64) any

	// Delete reports whether the connector supports Record.Delete. When
	// false, the delete rules are skipped.
	Delete bool

	// OddKeys lists record keys with characters that are special in some
	// protocol, each of which the connector must either store under
	// exactly that key or refuse with a permanent error. Nil means
	// [DefaultOddKeys]; an empty non-nil slice skips the rule.
	OddKeys []string

	// Timeout bounds each attempt of Sync (default 10s).
	Timeout time.Duration
}

// Partner is one fresh partner system made by [ConnectorHarness.NewPartner].
type Partner struct {
	// Connector writes to this partner. Required.
	Connector synclayer.Connector

	// Lookup reports the records the partner holds under key: one entry
	// per record, each the version Payload built its content from. No
	// record gives an empty slice; a duplicate (the bug the suite hunts)
	// gives two entries. Required.
	Lookup func(ctx context.Context, key string) ([]int64, error)

	// Fail makes the partner misbehave for the next times requests, as f
	// says, and reports whether it can. Nil, or false for a kind, skips the
	// rules that need it.
	Fail func(f Failure, times int) bool
}

// Failure is a way a partner misbehaves on request of [Partner.Fail].
type Failure int

const (
	// FailRetryable: the partner answers with a transient error (HTTP 503,
	// a SOAP Server fault, ...) without applying the write.
	FailRetryable Failure = iota + 1
	// FailPermanent: the partner refuses the request for good (HTTP 400, a
	// SOAP Client fault, ...) without applying the write.
	FailPermanent
	// FailStall: the partner holds the request without answering until the
	// client gives up (its context ends).
	FailStall
	// FailLostResponse: the partner applies the write, then the response
	// is lost (the connection drops before the reply).
	FailLostResponse
)

var failureNames = enum.Names{Type: "Failure", Names: []string{FailRetryable: "FailRetryable",
	FailPermanent: "FailPermanent", FailStall: "FailStall", FailLostResponse: "FailLostResponse"}}

// String names the failure, or gives "Failure(n)" for an unknown value.
func (f Failure) String() string { return failureNames.String(int(f)) }

// MarshalText encodes the failure as its name; an unknown value is an
// error.
func (f Failure) MarshalText() ([]byte, error) { return failureNames.MarshalText(int(f)) }

// UnmarshalText decodes a failure's name; anything else is an error.
func (f *Failure) UnmarshalText(b []byte) error { return enum.Decode(failureNames, b, f) }

// DefaultOddKeys are the keys of the OddKeys rule when the harness gives
// none: path separators and dot segments, percent signs (an escaped slash
// must not collide with a real one), quotes, spaces, XML and SQL
// specials, and non-ASCII text.
var DefaultOddKeys = []string{
	"a/b",
	"a%2Fb",
	"..",
	"../etc/passwd",
	"50%",
	`quote"d'key`,
	"with space",
	"x?y#z&w=1",
	"<tag>&amp;]]>",
	"Grüße-日本-🚀",
}

// conformanceEvent is the event type the suite dispatches.
const conformanceEvent = "synclayertest.ConformancePush"

// pushData is the Data of the suite's events.
type pushData struct {
	Key            string `json:"key"`
	Version        int64  `json:"version"`        // Record.Version
	PayloadVersion int64  `json:"payloadVersion"` // the version given to Payload
	Delete         bool   `json:"delete,omitempty"`
}

// TestConnector checks that a [synclayer.Connector] keeps the contract the
// dispatcher relies on, one subtest per rule. Each rule runs against a
// fresh partner from h.NewPartner, with keys unique to the run, and drives
// the connector through a real [synclayer.Dispatcher] the way users meet
// it (a fast retry policy, no observer), except where a rule says it calls
// Sync directly.
//
// The rules:
//
//   - UpsertIsIdempotent: pushing the same record for one key three times
//     (two events, then the same event again through a dispatcher that has
//     lost its store) leaves exactly one record holding that content.
//   - UpdateToNewerVersion: version 2 after version 1 leaves one record
//     holding version 2; a late version 1 is then skipped as stale and
//     leaves version 2 in place.
//   - KeysAreIndependent: two keys pushed concurrently with many others
//     each hold their own record; no write lands under another key.
//   - Delete (if h.Delete): deleting a key leaves no record; deleting it
//     again, and deleting a key that never existed, succeed.
//   - RecreateAfterDelete (if h.Delete): a newer version after a delete
//     creates the record again, once.
//   - OddKeys: each of h.OddKeys, after a unique prefix and a slash, is
//     stored under exactly that key or refused at once with a permanent
//     error; never stored under another key.
//   - CancelledContext: Sync called directly with a context that is
//     already cancelled returns an error and writes nothing.
//   - CancelWhileStalled (needs FailStall): while the partner holds the
//     request, cancelling the context makes Sync return, with an error.
//   - RetryableFailure (needs FailRetryable): two transient failures are
//     retried by the dispatcher and the record arrives once, in three
//     attempts; Sync called directly reports such a failure as not
//     permanent.
//   - PermanentFailure (needs FailPermanent): a refused request fails the
//     route after one attempt with an error that [synclayer.IsPermanent]
//     recognises, and writes nothing; a later push succeeds.
//   - LostResponse (needs FailLostResponse): the partner applies the
//     write but the response is lost; the retry leaves one record.
func TestConnector(t *testing.T, h ConnectorHarness) {
	t.Helper()
	if h.NewPartner == nil || h.Payload == nil {
		t.Fatal("synclayertest: ConnectorHarness needs NewPartner and Payload")
	}
	if h.Timeout <= 0 {
		h.Timeout = 10 * time.Second
	}
	if h.OddKeys == nil {
		h.OddKeys = DefaultOddKeys
	}
	runID := fmt.Sprintf("sltest-%08x", rand.Uint32())

	rules := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"UpsertIsIdempotent", testUpsertIdempotent},
		{"UpdateToNewerVersion", testUpdateNewer},
		{"KeysAreIndependent", testKeysIndependent},
		{"Delete", testDelete},
		{"RecreateAfterDelete", testRecreate},
		{"OddKeys", testOddKeys},
		{"CancelledContext", testCancelled},
		{"CancelWhileStalled", testCancelStalled},
		{"RetryableFailure", testRetryable},
		{"PermanentFailure", testPermanent},
		{"LostResponse", testLostResponse},
	}
	run := suiteRunner(t, "", func(t *testing.T, _ string) *suite {
		p := h.NewPartner(t)
		if p == nil || p.Connector == nil || p.Lookup == nil {
			t.Fatal("synclayertest: NewPartner must return a Partner with Connector and Lookup")
		}
		s := &suite{h: h, p: p, prefix: runID + "-" + path.Base(t.Name())}
		s.dispatcher = s.newDispatcher(t)
		return s
	})
	for _, r := range rules {
		run(r.name, r.fn)
	}
}

// suite is the state of one rule's run.
type suite struct {
	h          ConnectorHarness
	p          *Partner
	prefix     string
	dispatcher *synclayer.Dispatcher
	seq        int
	mu         sync.Mutex
}

// conformanceRetry retries quickly: rules must stay short.
var conformanceRetry = synclayer.RetryPolicy{
	MaxAttempts:     5,
	InitialInterval: 5 * time.Millisecond,
	MaxInterval:     50 * time.Millisecond,
	MaxElapsed:      time.Minute,
}

const connectorName = "conformance"

func (s *suite) newDispatcher(t *testing.T) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	mapper := synclayer.MapJSON(func(_ context.Context, ev synclayer.Event, d pushData) (synclayer.Record, error) {
		rec := synclayer.Record{Key: d.Key, Version: d.Version, Delete: d.Delete}
		if !d.Delete {
			rec.Payload = s.h.Payload(d.Key, d.PayloadVersion)
		}
		return rec, nil
	})
	err := reg.Register(connectorName, s.p.Connector,
		synclayer.Route(conformanceEvent, mapper),
		synclayer.WithRetry(conformanceRetry),
		synclayer.WithTimeout(s.h.Timeout),
		synclayer.WithConcurrency(16),
	)
	if err != nil {
		t.Fatalf("synclayertest: register: %v", err)
	}
	return NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
}

// key returns a key unique to this run and rule.
func (s *suite) key(name string) string { return s.prefix + "-" + name }

// event builds a push event with a fresh ID.
func (s *suite) event(d pushData) synclayer.Event {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("%s-evt-%d", s.prefix, s.seq)
	s.mu.Unlock()
	data, _ := json.Marshal(d)
	return synclayer.Event{ID: id, Type: conformanceEvent, Subject: d.Key, Data: data}
}

// push dispatches ev and returns its one result. It is safe to call from
// other goroutines: a dispatch that gives no single result is returned as a
// Result with Status 0.
func (s *suite) push(t *testing.T, d *synclayer.Dispatcher, ev synclayer.Event) synclayer.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, _ := d.Dispatch(ctx, ev)
	if len(rep.Results) != 1 {
		return synclayer.Result{Err: fmt.Errorf("synclayertest: Dispatch(%s): %d results, want 1 (report error: %w)", ev.ID, len(rep.Results), rep.Err())}
	}
	return rep.Results[0]
}

// mustSync pushes d and fails the test unless the route synced.
func (s *suite) mustSync(t *testing.T, d pushData) synclayer.Result {
	t.Helper()
	res := s.push(t, s.dispatcher, s.event(d))
	if res.Status != synclayer.StatusSynced {
		t.Fatalf("push key %q version %d delete %v: status %v, want synced: %v", d.Key, d.Version, d.Delete, res.Status, res.Err)
	}
	return res
}

// holds fails the test unless the partner holds exactly want for key.
func (s *suite) holds(t *testing.T, key string, want ...int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	got, err := s.p.Lookup(ctx, key)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", key, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("partner holds %v for key %q, want %v (one entry per record, each its version)", got, key, want)
	}
}

// fail asks the partner to misbehave or skips the rule.
func (s *suite) fail(t *testing.T, f Failure, times int) {
	t.Helper()
	if s.p.Fail == nil || !s.p.Fail(f, times) {
		t.Skipf("partner cannot simulate %v", f)
	}
}

func testUpsertIdempotent(t *testing.T, s *suite) {
	// Unversioned records (Version 0) are pushed every time, so the
	// connector, not the store, has to keep the partner at one record.
	key := s.key("one")
	d := pushData{Key: key, PayloadVersion: 1}
	s.mustSync(t, d)
	s.holds(t, key, 1)
	ev := s.event(d)
	if res := s.push(t, s.dispatcher, ev); res.Status != synclayer.StatusSynced {
		t.Fatalf("second push: %v: %v", res.Status, res.Err)
	}
	s.holds(t, key, 1)
	// The same event again through a dispatcher that lost its store, as
	// after a crash between push and done-marker.
	if res := s.push(t, s.newDispatcher(t), ev); res.Status != synclayer.StatusSynced {
		t.Fatalf("redelivered push: %v: %v", res.Status, res.Err)
	}
	s.holds(t, key, 1)
}

func testUpdateNewer(t *testing.T, s *suite) {
	key := s.key("upd")
	s.mustSync(t, pushData{Key: key, Version: 1, PayloadVersion: 1})
	s.holds(t, key, 1)
	s.mustSync(t, pushData{Key: key, Version: 2, PayloadVersion: 2})
	s.holds(t, key, 2)
	res := s.push(t, s.dispatcher, s.event(pushData{Key: key, Version: 1, PayloadVersion: 1}))
	if res.Status != synclayer.StatusStale {
		t.Fatalf("late version 1: status %v, want stale (%v)", res.Status, res.Err)
	}
	s.holds(t, key, 2)
}

func testKeysIndependent(t *testing.T, s *suite) {
	const n = 24
	keys := make([]string, n)
	for i := range keys {
		keys[i] = s.key(fmt.Sprintf("k%02d", i))
	}
	var wg sync.WaitGroup
	results := make([]synclayer.Result, n)
	for i, k := range keys {
		wg.Go(func() {
			results[i] = s.push(t, s.dispatcher, s.event(pushData{Key: k, Version: 1, PayloadVersion: int64(i + 1)}))
		})
	}
	wg.Wait()
	for i, res := range results {
		if res.Status != synclayer.StatusSynced {
			t.Fatalf("key %q: status %v: %v", keys[i], res.Status, res.Err)
		}
	}
	for i, k := range keys {
		s.holds(t, k, int64(i+1))
	}
}

func testDelete(t *testing.T, s *suite) {
	if !s.h.Delete {
		t.Skip("connector does not support Delete")
	}
	key := s.key("del")
	s.mustSync(t, pushData{Key: key, Version: 1, PayloadVersion: 1})
	s.holds(t, key, 1)
	s.mustSync(t, pushData{Key: key, Version: 2, Delete: true})
	s.holds(t, key)
	// Deleting what is gone is done, not an error: a retry after a lost
	// response does exactly that.
	s.mustSync(t, pushData{Key: key, Version: 3, Delete: true})
	s.holds(t, key)
	never := s.key("never")
	s.mustSync(t, pushData{Key: never, Delete: true})
	s.holds(t, never)
}

func testRecreate(t *testing.T, s *suite) {
	if !s.h.Delete {
		t.Skip("connector does not support Delete")
	}
	key := s.key("again")
	s.mustSync(t, pushData{Key: key, Version: 1, PayloadVersion: 1})
	s.mustSync(t, pushData{Key: key, Version: 2, Delete: true})
	s.mustSync(t, pushData{Key: key, Version: 3, PayloadVersion: 3})
	s.holds(t, key, 3)
	s.mustSync(t, pushData{Key: key, Version: 4, PayloadVersion: 4})
	s.holds(t, key, 4)
}

func testOddKeys(t *testing.T, s *suite) {
	if len(s.h.OddKeys) == 0 {
		t.Skip("no odd keys")
	}
	// The run's unique prefix comes first, then a slash, then the odd part,
	// so "a%2Fb" and "a/b" would collide under a connector that unescapes,
	// and ".." would climb out of the records collection under one that
	// does not escape.
	stored := make(map[string]int64)
	for i, odd := range s.h.OddKeys {
		key := s.prefix + "/" + odd
		v := int64(i + 1)
		res := s.push(t, s.dispatcher, s.event(pushData{Key: key, Version: 1, PayloadVersion: v}))
		switch {
		case res.Status == synclayer.StatusSynced:
			stored[key] = v
		case res.Status == synclayer.StatusFailed && synclayer.IsPermanent(res.Err) && res.Attempts <= 1:
			t.Logf("key %q refused: %v", key, res.Err)
		default:
			t.Errorf("key %q: status %v after %d attempts, want synced or refused at once with a permanent error: %v", key, res.Status, res.Attempts, res.Err)
		}
	}
	// Check at the end, so that a collision (a%2Fb landing on a/b) shows.
	for _, odd := range s.h.OddKeys {
		key := s.prefix + "/" + odd
		if v, ok := stored[key]; ok {
			s.holds(t, key, v)
		} else if !t.Failed() {
			s.holds(t, key)
		}
	}
}

func testCancelled(t *testing.T, s *suite) {
	key := s.key("cancelled")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec := synclayer.Record{Key: key, Version: 1, Payload: s.h.Payload(key, 1), Event: s.event(pushData{Key: key})}
	if err := s.p.Connector.Sync(ctx, rec); err == nil {
		t.Fatal("Sync with a cancelled context returned nil, want an error")
	}
	s.holds(t, key)
}

func testCancelStalled(t *testing.T, s *suite) {
	s.fail(t, FailStall, 1)
	key := s.key("stalled")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rec := synclayer.Record{Key: key, Version: 1, Payload: s.h.Payload(key, 1), Event: s.event(pushData{Key: key})}
	done := make(chan error, 1)
	go func() { done <- s.p.Connector.Sync(ctx, rec) }()
	// Let the request reach the partner, then cancel. Whether it did is
	// not important: Sync must return either way.
	select {
	case err := <-done:
		t.Fatalf("Sync returned %v before cancellation while the partner stalls", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	// A liveness bound, not a timing assertion: a connector that ignores
	// its context never returns.
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Sync returned nil after cancellation, want an error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Sync did not return after its context was cancelled")
	}
}

func testRetryable(t *testing.T, s *suite) {
	s.fail(t, FailRetryable, 1)
	key := s.key("transient")
	rec := synclayer.Record{Key: key, Version: 1, Payload: s.h.Payload(key, 1), Event: s.event(pushData{Key: key})}
	ctx, cancel := context.WithTimeout(t.Context(), s.h.Timeout)
	err := s.p.Connector.Sync(ctx, rec)
	cancel()
	if err == nil {
		t.Fatal("Sync returned nil while the partner failed")
	}
	if synclayer.IsPermanent(err) {
		t.Fatalf("a transient failure was reported permanent: %v", err)
	}
	s.holds(t, key)

	s.fail(t, FailRetryable, 2)
	res := s.mustSync(t, pushData{Key: key, Version: 1, PayloadVersion: 1})
	if res.Attempts != 3 {
		t.Errorf("attempts = %d, want 3 (two transient failures, then success)", res.Attempts)
	}
	s.holds(t, key, 1)
}

func testPermanent(t *testing.T, s *suite) {
	s.fail(t, FailPermanent, 1)
	key := s.key("refused")
	res := s.push(t, s.dispatcher, s.event(pushData{Key: key, Version: 1, PayloadVersion: 1}))
	if res.Status != synclayer.StatusFailed {
		t.Fatalf("status %v, want failed", res.Status)
	}
	if !synclayer.IsPermanent(res.Err) {
		t.Errorf("error not permanent: %v", res.Err)
	}
	if res.Attempts != 1 {
		t.Errorf("attempts = %d, want 1: a permanent error is not retried", res.Attempts)
	}
	var se *synclayer.SyncError
	if !errors.As(res.Err, &se) || se.Key != key {
		t.Errorf("error does not name the key: %v", res.Err)
	}
	s.holds(t, key)
	s.mustSync(t, pushData{Key: key, Version: 2, PayloadVersion: 2})
	s.holds(t, key, 2)
}

func testLostResponse(t *testing.T, s *suite) {
	s.fail(t, FailLostResponse, 1)
	key := s.key("lost")
	res := s.mustSync(t, pushData{Key: key, Version: 1, PayloadVersion: 1})
	if res.Attempts < 2 {
		t.Errorf("attempts = %d, want a retry after the lost response", res.Attempts)
	}
	s.holds(t, key, 1)
}
