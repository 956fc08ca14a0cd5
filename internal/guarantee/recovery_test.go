package guarantee

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/internal/testproc"
	"github.com/hmsplatform/synclayer/internal/testwait"
)

// gate stands in front of a records partner. Requests for keys starting
// with hold wait until the gate opens (or their client goes away, as when
// the process that sent them is killed); it notes when each key was first
// written.
type gate struct {
	next http.Handler
	hold string

	mu      sync.Mutex
	open    bool
	opened  chan struct{}
	waiting map[string]bool
	inside  int // requests held now
	written map[string]time.Time
}

func newGate(next http.Handler, hold string) *gate {
	return &gate{next: next, hold: hold, opened: make(chan struct{}), waiting: map[string]bool{}, written: map[string]time.Time{}}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := strings.CutPrefix(r.URL.EscapedPath(), "/records/")
	key, _ := url.PathUnescape(raw)
	g.mu.Lock()
	held := strings.HasPrefix(key, g.hold) && !g.open
	if held {
		g.waiting[key] = true
		g.inside++
	}
	g.mu.Unlock()
	if held && !g.wait(r) {
		return // the client left (or was killed): nothing written
	}
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	if rec.Code/100 == 2 {
		g.mu.Lock()
		if _, ok := g.written[key]; !ok {
			g.written[key] = time.Now()
		}
		g.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (g *gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		g.open = true
		close(g.opened)
	}
}

// wait holds r until the gate opens. It returns false when r's client went
// away first. It reads the body before it waits: the server notices a
// client that went away (and ends r's context) only once the body is read.
func (g *gate) wait(r *http.Request) bool {
	defer func() {
		g.mu.Lock()
		g.inside--
		g.mu.Unlock()
	}()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	select {
	case <-g.opened:
		return true
	case <-r.Context().Done():
		return false
	}
}

// insideCount returns how many requests the gate holds now.
func (g *gate) insideCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inside
}

func (g *gate) waitingCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}

func (g *gate) writtenAt(key string) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.written[key]
	return at, ok
}

// recoveryRig is a crash test's partners and shared store.
type recoveryRig struct {
	cfg   crashConfig
	bus   interface{ synclayer.Publisher }
	rest  *restPartner
	gate  *gate
	layer *arcgistest.Layer
}

func newRecoveryRig(t *testing.T, hold string) *recoveryRig {
	t.Helper()
	cfg, bus := natsPostgres(t)
	cfg.Defaults = true
	r := &recoveryRig{cfg: cfg, bus: bus, rest: newRESTPartner(), layer: arcgistest.NewLayer("KEY")}
	r.gate = newGate(r.rest, hold)
	restSrv := httptest.NewServer(r.gate)
	t.Cleanup(restSrv.Close)
	t.Cleanup(r.gate.Open) // let the server close
	layerSrv := httptest.NewServer(r.layer)
	t.Cleanup(layerSrv.Close)
	r.cfg.PartnerURL = restSrv.URL
	r.cfg.LayerURL = layerSrv.URL + "/arcgis/rest/services/crash/FeatureServer/0"
	store, db, err := openStore(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+r.cfg.Table)
		_, _ = db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+r.cfg.Table+"_log")
		db.Close()
	})
	if err := store.Migrate(t.Context()); err != nil {
		testenv.Unavailable(t, r.cfg.Store, err)
	}
	return r
}

func (r *recoveryRig) publish(t *testing.T, key string, version int64) {
	t.Helper()
	data, _ := json.Marshal(item{Key: key, Version: version, Title: fmt.Sprintf("%s v%d", key, version)})
	ev := synclayer.Event{ID: fmt.Sprintf("%s-v%d", key, version), Type: crashType, Source: "guarantee/recovery", Subject: key, Data: data}
	if err := r.bus.Publish(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
}

// holds reports whether both partners hold exactly one record of every key
// in want, at that version.
func (r *recoveryRig) holds(want map[string]int64) bool {
	got := r.rest.versions()
	for k, v := range want {
		if vs := got[k]; len(vs) != 1 || vs[0] != v {
			return false
		}
		if !oneFeatureAt(r.layer.ByKey(k), v) {
			return false
		}
	}
	return true
}

func (r *recoveryRig) checkHolds(t *testing.T, want map[string]int64) {
	t.Helper()
	got := r.rest.versions()
	for k, v := range want {
		if vs := got[k]; len(vs) != 1 || vs[0] != v {
			t.Errorf("records: key %q holds %v, want one record at v%d", k, vs, v)
		}
		if fs := r.layer.ByKey(k); !oneFeatureAt(fs, v) {
			t.Errorf("gis: key %q holds %d features, want one at v%d", k, len(fs), v)
		}
	}
	if n := len(r.layer.Features()); n != len(want) {
		t.Errorf("gis: %d features for %d keys", n, len(want))
	}
}

// TestRecoveryAfterKillMidPush kills a process while it holds the leases of
// 32 keys mid-push (the records partner does not answer them), then starts
// a new process with the library's default settings and publishes 100
// unrelated keys over 15 seconds. The new process must finish the held keys
// once their leases lapse, and the unrelated keys must not queue behind
// them: the figures (how long after the kill the held keys were written,
// the worst publish-to-write time of the others) are logged for the
// closing report, not asserted. Asserted: one record per key, at its
// version, at both partners.
//
// The first unrelated key is published a few milliseconds after the kill.
// When the broker has not yet seen the killed process's connection close,
// it hands that event to the dead process's waiting pull request, and the
// event comes back after the bus's ack wait (10s by default), as a held
// key's does: the worst figure is then about 10s (2 runs in 9 on
// 2026-11-30; the others 90-118ms). No store lease is involved.
func TestRecoveryAfterKillMidPush(t *testing.T) {
	testproc.SkipInChild(t, crashEnv)
	r := newRecoveryRig(t, "held-")
	want := map[string]int64{}
	first := startChild(t, r.cfg)
	for i := range 32 {
		k := fmt.Sprintf("held-%02d", i)
		r.publish(t, k, 1)
		want[k] = 1
	}
	testwait.For(t, 60*time.Second, func() string {
		return fmt.Sprintf("%d held requests at the partner; child:\n%s", r.gate.waitingCount(), first.Output())
	}, func() bool { return r.gate.waitingCount() >= 16 })
	kill(t, first)
	killed := time.Now()
	// The killed process's requests end as the server sees its connections
	// close; only then does the gate open, so that no write of the dead
	// process lands: what the figure below times is the new process's
	// recovery.
	testwait.For(t, 30*time.Second, func() string {
		return fmt.Sprintf("%d requests of the killed process still held", r.gate.insideCount())
	}, func() bool { return r.gate.insideCount() == 0 })
	r.gate.Open()

	second := startChild(t, r.cfg)
	published := map[string]time.Time{}
	for i := range 100 {
		k := fmt.Sprintf("free-%03d", i)
		published[k] = time.Now()
		r.publish(t, k, 1)
		want[k] = 1
		time.Sleep(150 * time.Millisecond)
	}
	testwait.For(t, 90*time.Second, func() string {
		return fmt.Sprintf("%d of %d keys at the records partner; child:\n%s", len(r.rest.versions()), len(want), second.Output())
	}, func() bool { return r.holds(want) })
	kill(t, second)
	r.checkHolds(t, want)

	var heldDone, worstFree time.Duration
	for k := range want {
		at, ok := r.gate.writtenAt(k)
		if !ok {
			t.Fatalf("no write time for %q", k)
		}
		if strings.HasPrefix(k, "held-") {
			heldDone = max(heldDone, at.Sub(killed))
		} else {
			worstFree = max(worstFree, at.Sub(published[k]))
		}
	}
	summary := fmt.Sprintf("recovery nats+postgres, defaults: 32 keys held by the killed process written %v after the kill; "+
		"100 unrelated keys: worst publish-to-write %v", heldDone.Round(10*time.Millisecond), worstFree.Round(time.Millisecond))
	t.Log(summary)
	if testing.Verbose() {
		fmt.Println(summary)
	}
}

// TestPausedRoutesSurviveAKill pauses both connectors of a process,
// publishes 20 events, waits until the process has held every route, kills
// it, and starts a new process that is not paused: every event must reach
// both partners. With the memory log the held events must still be
// unacknowledged on the bus when the process dies (they live only in
// memory); with the SQL log they are acknowledged, and the new process
// pushes them from the log.
func TestPausedRoutesSurviveAKill(t *testing.T) {
	testproc.SkipInChild(t, crashEnv)
	for _, log := range []string{"memory", "sql"} {
		t.Run(log, func(t *testing.T) {
			r := newRecoveryRig(t, "\x00never")
			if log == "sql" {
				r.cfg.Log = "sql"
			}
			cfg := r.cfg
			cfg.Paused = true
			paused := startChild(t, cfg)
			want := map[string]int64{}
			for k := range 10 {
				key := fmt.Sprintf("paused-%s-%d", log, k)
				for v := int64(1); v <= 2; v++ {
					r.publish(t, key, v)
				}
				want[key] = 2
			}
			testwait.For(t, 60*time.Second, func() string {
				return fmt.Sprintf("%d routes held; child:\n%s", len(paused.Lines(pendingMark)), paused.Output())
			}, func() bool { return len(paused.Lines(pendingMark)) >= 2*20 })
			if n := len(r.rest.versions()); n != 0 {
				t.Fatalf("a paused partner received %d keys", n)
			}
			// A route is marked held just before its handler returns, and
			// the bus acknowledges after that: with the durable log, wait
			// for the acknowledgements to land.
			if log == "sql" {
				testwait.For(t, 10*time.Second, func() string {
					return fmt.Sprintf("%d held events unacknowledged with a durable log", ackPending(t, r.cfg))
				}, func() bool { return ackPending(t, r.cfg) == 0 })
			} else if ackPending(t, r.cfg) == 0 {
				t.Fatal("held events were acknowledged while their routes lived only in memory")
			}
			kill(t, paused)

			resumed := startChild(t, r.cfg)
			testwait.For(t, 90*time.Second, func() string {
				return fmt.Sprintf("%d of %d keys at the records partner; child:\n%s", len(r.rest.versions()), len(want), resumed.Output())
			}, func() bool { return r.holds(want) })
			kill(t, resumed)
			r.checkHolds(t, want)
		})
	}
}

// ackPending returns how many messages the child's consumer has delivered
// and not had acknowledged.
func ackPending(t *testing.T, cfg crashConfig) int {
	t.Helper()
	nc, err := natsgo.Connect(cfg.BusAddr, natsgo.Timeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := js.Consumer(t.Context(), cfg.Stream, crashGroup+"-"+crashType)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.NumAckPending + int(info.NumPending)
}
