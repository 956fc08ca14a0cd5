package guarantee

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/internal/testproc"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// seed returns the seed of a randomised test: $SYNCLAYER_SEED when set (to
// replay a failure), else a fresh one. It is logged either way.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := rand.Uint64() >> 1
	if v := os.Getenv("SYNCLAYER_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SYNCLAYER_SEED=%q: %v", v, err)
		}
		s = n
	}
	t.Logf("seed %d (replay with SYNCLAYER_SEED=%d)", s, s)
	return s
}

// soakSize is the soak's size: 5,000 events over 500 keys, a tenth of it
// under -short. The full size takes about 6s, and 15s under the race
// detector, on two cores.
func soakSize() (keys, versions int) {
	if testing.Short() {
		return 50, 10
	}
	return 500, 10
}

// soakChaos is the fault mix of every soak partner: 20% 5xx, 5% 429, 5%
// resets before the partner, 5% lost responses, 2% stalls past the attempt
// timeout, plus 2% truncated and 1% slow bodies.
func soakChaos(seed uint64) synclayertest.Chaos {
	return synclayertest.Chaos{
		Seed:          seed,
		ServerError:   0.20,
		RateLimited:   0.05,
		ResetBefore:   0.05,
		LostResponse:  0.05,
		Stall:         0.02,
		TruncatedBody: 0.02,
		SlowBody:      0.01,
		RetryAfter:    time.Second, // capped by the policy's MaxInterval
		StallFor:      10 * time.Second,
		SlowBodyDelay: time.Millisecond,
	}
}

const (
	soakType       = "ItemChanged"
	attemptTimeout = 300 * time.Millisecond
)

// soakPolicy retries fast and long enough that no route gives up. With the
// soak's fault rates alone an ArcGIS attempt (two requests) fails about 65%
// of the time, so 60 attempts would fail in a row with odds of about 1e-11;
// but on a loaded machine (the race detector, other test binaries) many
// attempts also run out of attemptTimeout, and a route that gave up after
// 60 of those died. The bound is therefore the elapsed time, with an
// attempt count no run reaches before it.
var soakPolicy = synclayer.RetryPolicy{
	MaxAttempts:     100_000,
	InitialInterval: time.Millisecond,
	MaxInterval:     10 * time.Millisecond,
	MaxElapsed:      2 * time.Minute,
	Multiplier:      2,
	Jitter:          0.5,
}

// chaosPartner serves h behind a ChaosServer on a loopback port and returns
// the server and a client of its own; everything is shut down at cleanup.
func chaosPartner(t *testing.T, h http.Handler, c synclayertest.Chaos) (*synclayertest.ChaosServer, *httptest.Server, *http.Client) {
	t.Helper()
	cs := synclayertest.NewChaosServer(h, c)
	srv := httptest.NewServer(cs)
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	t.Cleanup(cs.Close) // ends stalls first, so that srv.Close does not wait for them
	return cs, srv, &http.Client{Transport: tr}
}

// soakEvent is one published event and what it carries.
type soakEvent struct {
	ev      synclayer.Event
	key     string
	version int64
}

// soakEvents makes versions events for each of keys keys, shuffled so that
// versions arrive out of order, with about 10% of them published a second
// time at a random later point. Some keys hold characters that are special
// in URLs and in ArcGIS where clauses.
func soakEvents(rng *rand.Rand, run string, keys, versions int) (unique []soakEvent, seq []soakEvent) {
	for k := range keys {
		key := fmt.Sprintf("%s-%04d", run, k)
		switch k % 10 {
		case 3:
			key += " O'Brien/è"
		case 7:
			key += " 50% ..?#&"
		}
		for v := 1; v <= versions; v++ {
			data, _ := json.Marshal(item{Key: key, Version: int64(v), Title: fmt.Sprintf("%s v%d", key, v)})
			unique = append(unique, soakEvent{
				ev:  synclayer.Event{ID: fmt.Sprintf("%s-%04d-v%02d", run, k, v), Type: soakType, Source: "guarantee/soak", Data: data},
				key: key, version: int64(v),
			})
		}
	}
	seq = slices.Clone(unique)
	rng.Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })
	n := len(seq)
	for i := range n {
		if rng.IntN(10) == 0 {
			at := i + 1 + rng.IntN(len(seq)-i)
			seq = slices.Insert(seq, at, seq[i])
		}
	}
	return unique, seq
}

// resend adds a second event for some versions: the same key and version
// under another ID and with another title, as a publisher that re-sends a
// state would. It does so for the newest version of every tenth key, and
// for about 2% of the other versions. Of the two events, only the first to
// be pushed may reach a partner; the other is stale, as its version is not
// newer than the one applied. The copies go to random places in seq.
func resend(rng *rand.Rand, unique, seq []soakEvent, versions int) (u, s []soakEvent, copies int) {
	n := len(unique)
	for i := range n {
		se := unique[i]
		newest := se.version == int64(versions)
		if !(newest && (i/versions)%10 == 5) && rng.IntN(50) != 0 {
			continue
		}
		var it item
		if err := json.Unmarshal(se.ev.Data, &it); err != nil {
			panic(err)
		}
		it.Title += " (re-sent)"
		data, _ := json.Marshal(it)
		again := se
		again.ev.ID += "-again"
		again.ev.Data = data
		unique = append(unique, again)
		seq = slices.Insert(seq, rng.IntN(len(seq)+1), again)
		copies++
	}
	return unique, seq, copies
}

// writeLog sits in front of a records partner, behind the chaos, and checks
// every write the partner accepts against the one it accepted before for
// the same key: the version must rise, or stay the same for another try of
// the same change (the same title). Anything else is a stale write: an
// older version over a newer one, or another event's copy of the version
// the partner already holds. It holds one lock across the partner's
// handler, so it sees the writes in the order the partner applied them.
type writeLog struct {
	next  http.Handler
	mu    sync.Mutex
	last  map[string]item
	stale []string
}

func newWriteLog(next http.Handler) *writeLog {
	return &writeLog{next: next, last: map[string]item{}}
}

func (l *writeLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		l.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var it item
	if err := json.Unmarshal(body, &it); err != nil {
		l.next.ServeHTTP(w, r) // the partner refuses it
		return
	}
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next.ServeHTTP(sw, r)
	if sw.code/100 != 2 {
		return
	}
	if prev, ok := l.last[it.Key]; ok && (it.Version < prev.Version || it.Version == prev.Version && it.Title != prev.Title) {
		l.stale = append(l.stale, fmt.Sprintf("%q: v%d %q over v%d %q", it.Key, it.Version, it.Title, prev.Version, prev.Title))
	}
	l.last[it.Key] = it
}

// staleWrites returns the stale writes seen so far.
func (l *writeLog) staleWrites() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.stale)
}

// statusWriter remembers the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// announcements collects SyncCompleted and SyncFailed events.
type announcements struct {
	mu     sync.Mutex
	byID   map[string][]string // source event id -> kinds announced
	failed []string
}

func (a *announcements) handle(_ context.Context, ev synclayer.Event) error {
	var an synclayer.Announcement
	if err := json.Unmarshal(ev.Data, &an); err != nil {
		return synclayer.Permanent(fmt.Errorf("announcement %s: %w", ev.ID, err))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.byID[an.EventID] = append(a.byID[an.EventID], ev.Type)
	if ev.Type == synclayer.SyncFailed {
		a.failed = append(a.failed, string(ev.Data))
	}
	return nil
}

func (a *announcements) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byID)
}

// TestSoak pushes thousands of events, several versions per key out of
// order, some delivered twice and some versions re-sent under another event
// ID, through bus/memory and Dispatcher.Run into the rest, arcgis and
// googlecalendar connectors, the first two partners behind a ChaosServer,
// the calendar's client on a ChaosTransport. Afterwards each partner must hold exactly one record per
// key at the newest version, no version may have been pushed twice or over
// a newer one, every event must have been announced exactly once and never
// as SyncFailed, and the dispatcher's counters and delivery log must agree
// with the partners.
func TestSoak(t *testing.T) {
	s := seed(t)
	rng := rand.New(rand.NewPCG(s, 0x50a4))
	keys, versions := soakSize()
	run := fmt.Sprintf("soak%x", rng.Uint32())
	unique, seq := soakEvents(rng, run, keys, versions)
	unique, seq, copies := resend(rng, unique, seq, versions)
	pairs := len(unique) - copies // distinct (key, version)
	ctx := t.Context()

	restP, arcP, calP := newRESTPartner(), newArcGISPartner(), newCalendarPartner()
	restWrites := newWriteLog(restP)
	restCS, restSrv, restClient := chaosPartner(t, restWrites, soakChaos(s+1))
	arcChaos := soakChaos(s + 2)
	arcChaos.ErrorBody = 0.03 // ArcGIS also fails inside 200s
	arcCS, arcSrv, arcClient := chaosPartner(t, arcP, arcChaos)
	// The calendar's faults are injected on the client side instead.
	calSrv := httptest.NewServer(calP)
	calTr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	calCT := synclayertest.NewChaosTransport(calTr, soakChaos(s+3))
	t.Cleanup(func() {
		calTr.CloseIdleConnections()
		calSrv.Close()
	})
	t.Cleanup(calCT.Close)
	calClient := &http.Client{Transport: calCT}

	restConn, err := rest.New(rest.Config{BaseURL: restSrv.URL, Client: restClient})
	if err != nil {
		t.Fatal(err)
	}
	arcConn, err := arcgis.New(arcgis.Config{LayerURL: arcSrv.URL + layerPath, KeyField: "KEY", VersionField: "VERSION", HTTPClient: arcClient})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := calendar.NewService(ctx, option.WithEndpoint(calSrv.URL+"/"), option.WithHTTPClient(calClient))
	if err != nil {
		t.Fatal(err)
	}
	calConn, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: "soak@example.com", Namespace: run})
	if err != nil {
		t.Fatal(err)
	}

	mapper := func(payload func(it item) any) synclayer.Mapper {
		return synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, it item) (synclayer.Record, error) {
			return synclayer.Record{Key: it.Key, Version: it.Version, Payload: payload(it)}, nil
		})
	}
	reg := new(synclayer.Registry)
	for _, c := range []struct {
		name    string
		conn    synclayer.Connector
		payload func(item) any
	}{
		{"records", restConn, func(it item) any { return it }},
		{"gis", arcConn, func(it item) any {
			return arcgis.Feature{Attributes: map[string]any{"TITLE": it.Title},
				Geometry: arcgis.Point{X: 8.5, Y: 47.3, SpatialReference: arcgis.SpatialReference{WKID: 4326}}}
		}},
		{"calendar", calConn, func(it item) any {
			return &calendar.Event{Summary: it.Title,
				Start: &calendar.EventDateTime{Date: "2026-03-10"}, End: &calendar.EventDateTime{Date: "2026-03-11"}}
		}},
	} {
		if err := reg.Register(c.name, c.conn, synclayer.Route(soakType, mapper(c.payload)),
			synclayer.WithRetry(soakPolicy), synclayer.WithTimeout(attemptTimeout)); err != nil {
			t.Fatal(err)
		}
	}
	conns := reg.Connectors()

	bus, err := memory.New(memory.WithConcurrency(32), memory.WithRedeliveryDelay(time.Millisecond),
		memory.WithBacklog(4*len(seq)))
	if err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithPublisher(bus), synclayer.WithObserver(synclayer.NoObserver),
		// Every Put is a record: a synced route writes two, a retried or
		// redelivered one more. The bound keeps them all.
		synclayer.WithDeliveryLog(&synclayer.MemoryLog{MaxEntries: 4 * len(conns) * len(seq)}))

	ann := &announcements{byID: map[string][]string{}}
	start := time.Now()
	live := runWithAnnouncements(ctx, d, bus, 30*time.Second, ann.handle)
	defer live.stop()

	for _, se := range seq {
		if err := bus.Publish(ctx, se.ev); err != nil {
			t.Fatalf("publish %s: %v", se.ev.ID, err)
		}
	}

	settled := func() bool {
		if ann.count() < len(unique) {
			return false
		}
		for _, st := range d.Status() {
			if st.Synced+st.Duplicate+st.Stale+st.Failed+st.Dead+st.Pending < int64(len(seq)) {
				return false
			}
		}
		return true
	}
	testwait.For(t, 3*time.Minute, func() string {
		// Name a few routes that failed for good: they say why the run
		// could not settle.
		dead, _ := d.Deliveries(context.Background(), synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusDead}, Limit: 5})
		var why []string
		for _, dl := range dead {
			why = append(why, fmt.Sprintf("%s %s: %s", dl.Connector, dl.EventID, dl.Error))
		}
		return fmt.Sprintf("%d of %d events announced; status %+v; dead: %q", ann.count(), len(unique), d.Status(), why)
	}, settled)
	elapsed := time.Since(start)

	runErr, closeErr, annErr := live.stop() // Close ends the subscriber after the announcements drained
	if runErr != nil || closeErr != nil || annErr != nil {
		t.Errorf("shutdown: Run: %v; bus.Close: %v; announcement subscriber: %v", runErr, closeErr, annErr)
	}
	restConn.Close()

	// 1. Each partner holds exactly one record per key, at the newest version.
	want := map[string]int64{}
	for _, se := range unique {
		want[se.key] = max(want[se.key], se.version)
	}
	partners := map[string]func() map[string][]int64{
		"records": restP.versions, "gis": arcP.versions, "calendar": calP.versions,
	}
	for _, name := range conns {
		got := partners[name]()
		if len(got) != len(want) {
			t.Errorf("%s holds %d keys, want %d", name, len(got), len(want))
		}
		bad := 0
		for k, v := range want {
			if vs := got[k]; len(vs) != 1 || vs[0] != v {
				if bad++; bad <= 5 {
					t.Errorf("%s: key %q holds versions %v, want exactly [%d]", name, k, vs, v)
				}
			}
		}
		if bad > 5 {
			t.Errorf("%s: %d keys wrong in all", name, bad)
		}
	}
	restP.mu.Lock()
	if len(restP.regress) > 0 {
		t.Errorf("records partner saw %d writes of an older version over a newer one, first: %s", len(restP.regress), restP.regress[0])
	}
	restApplied := restP.writes
	restP.mu.Unlock()
	if stale := restWrites.staleWrites(); len(stale) > 0 {
		t.Errorf("records partner accepted %d stale writes, first: %s", len(stale), stale[0])
	}

	// 2. Every event was announced exactly once, and nothing failed.
	ann.mu.Lock()
	for _, se := range unique {
		if kinds := ann.byID[se.ev.ID]; len(kinds) != 1 || kinds[0] != synclayer.SyncCompleted {
			t.Errorf("event %s announced %v, want exactly [SyncCompleted]", se.ev.ID, kinds)
		}
	}
	if len(ann.byID) != len(unique) {
		t.Errorf("%d events announced, want %d", len(ann.byID), len(unique))
	}
	if len(ann.failed) > 0 {
		t.Errorf("%d SyncFailed announcements, first: %s", len(ann.failed), ann.failed[0])
	}
	ann.mu.Unlock()
	if dl := bus.DeadLetters(); len(dl) > 0 {
		t.Errorf("%d events dead-lettered by the bus, first %s: %v", len(dl), dl[0].Event.ID, dl[0].Err)
	}

	// 3. The counters and the delivery log agree with the partners.
	version := map[string]soakEvent{}
	for _, se := range unique {
		version[se.ev.ID] = se
	}
	var attempts, retries, dups, stale int64
	for _, st := range d.Status() {
		attempts += st.Attempts
		retries += st.Retries
		dups += st.Duplicate
		stale += st.Stale
		if st.Failed != 0 || st.Dead != 0 || st.Pending != 0 || st.InFlight != 0 {
			t.Errorf("%s: status %+v, want no failed, dead, pending or in-flight route", st.Name, st)
		}
		if n := st.Synced + st.Duplicate + st.Stale; n != int64(len(seq)) {
			t.Errorf("%s: %d routes synced, duplicate or stale; want one per delivery, %d", st.Name, n, len(seq))
		}
		if st.Synced < int64(len(want)) || st.Synced > int64(pairs) {
			t.Errorf("%s: %d routes synced; want between %d keys and %d versions", st.Name, st.Synced, len(want), pairs)
		}
		if st.Name == "records" && int64(restApplied) < st.Synced {
			t.Errorf("records partner applied %d writes, fewer than the %d synced routes", restApplied, st.Synced)
		}
		log, err := d.Deliveries(ctx, synclayer.DeliveryFilter{Connector: st.Name, Limit: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != len(unique) {
			t.Errorf("%s: delivery log holds %d entries, want one per event, %d", st.Name, len(log), len(unique))
		}
		newest := map[string]int64{} // key -> newest version the log says was pushed
		type keyVersion struct {
			key     string
			version int64
		}
		pushedBy := map[keyVersion]string{} // the event that pushed each version
		for _, dl := range log {
			switch dl.State {
			case synclayer.StatusSynced, synclayer.StatusDuplicate:
				se := version[dl.EventID]
				if dl.Key != se.key {
					t.Errorf("%s: delivery %s has key %q, want %q", st.Name, dl.EventID, dl.Key, se.key)
				}
				newest[se.key] = max(newest[se.key], se.version)
				kv := keyVersion{se.key, se.version}
				if other, ok := pushedBy[kv]; ok {
					t.Errorf("%s: key %q version %d pushed by both %s and %s; the later one is stale", st.Name, se.key, se.version, other, dl.EventID)
				}
				pushedBy[kv] = dl.EventID
			case synclayer.StatusStale:
			default:
				t.Errorf("%s: delivery %s ended %s: %s", st.Name, dl.EventID, dl.State, dl.Error)
			}
		}
		got := partners[st.Name]()
		for k, v := range newest {
			if vs := got[k]; len(vs) != 1 || vs[0] != v {
				t.Errorf("%s: the log says key %q was pushed up to version %d, the partner holds %v", st.Name, k, v, vs)
			}
		}
		if len(newest) != len(got) {
			t.Errorf("%s: the log names %d pushed keys, the partner holds %d", st.Name, len(newest), len(got))
		}
	}

	// 4. The freshness ledger matches what every partner holds, key by key:
	// the version each holds, nothing wanted, and a summary that agrees.
	for _, name := range conns {
		got := partners[name]()
		for k, vs := range got {
			h, ok, err := d.Holding(ctx, name, k)
			if err != nil || !ok || len(vs) != 1 || h.Version != vs[0] || h.Behind() || h.Hash == "" || version[h.EventID].version != h.Version {
				t.Errorf("%s: ledger for %q is %+v (%v, %v); the partner holds %v", name, k, h, ok, err, vs)
				break
			}
		}
		sum, err := d.Ledger().Summary(ctx, name)
		if err != nil || sum.Keys != len(got) || sum.Behind != 0 {
			t.Errorf("%s: ledger summary %+v, %v; the partner holds %d keys, none behind", name, sum, err, len(got))
		}
	}

	faults := restCS.Counts().Add(arcCS.Counts()).Add(calCT.Counts())
	summary := fmt.Sprintf("soak: events=%d (%d re-sent versions, +%d redelivered) keys=%d connectors=%d attempts=%d retries=%d duplicates-suppressed=%d stale-skipped=%d elapsed=%v race=%v seed=%d; chaos: %v",
		len(unique), copies, len(seq)-len(unique), len(want), len(conns), attempts, retries, dups, stale,
		elapsed.Round(time.Millisecond), testproc.Race, s, faults)
	t.Log(summary)
	if testing.Verbose() {
		fmt.Println(summary)
	}
	for name, c := range map[string]synclayertest.ChaosCounts{"records": restCS.Counts(), "gis": arcCS.Counts(), "calendar": calCT.Counts()} {
		if c.ServerError == 0 || c.LostResponse == 0 || c.ResetBefore == 0 || c.RateLimited == 0 {
			t.Errorf("%s: chaos %v: some fault never happened; the soak proves less than it claims", name, c)
		}
	}
}
