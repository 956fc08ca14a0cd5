package guarantee

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/internal/testproc"
	"github.com/hmsplatform/synclayer/internal/testwait"
)

// crashEnv carries a crashConfig to the child process.
const crashEnv = "SYNCLAYER_CRASH_CHILD"

// crashConfig tells the child what to consume and where to push.
type crashConfig struct {
	Bus        string // "nats" or "redisstream"
	BusAddr    string
	Stream     string // NATS stream, or Redis key prefix
	Store      string // "postgres" or "sqlite"
	DSN        string
	Table      string
	PartnerURL string // REST records partner
	LayerURL   string // ArcGIS layer

	// Defaults runs the child with the library's default bus and lease
	// settings instead of the short ones the kill loop uses.
	Defaults bool
	// Paused starts the child with both connectors paused.
	Paused bool
	// Log is the delivery log: "" (the default MemoryLog) or "sql"
	// (sqlstore.NewLog in the store's database, table Table+"_log").
	Log string
}

const (
	crashType  = "ItemChanged"
	crashGroup = "crash"
	// crashLease is the kill loop's lease TTL: the dispatcher renews it
	// while a push runs, and a key a killed child held is free again
	// within it.
	crashLease = 2 * time.Second
	// pendingMark starts the line a child prints for each route it holds.
	pendingMark = "synclayer-crash: pending "
)

// TestCrashChild is the child process of TestCrash: it consumes the bus
// and pushes to the parent's partners until it is killed. It skips unless
// TestCrash started it.
func TestCrashChild(t *testing.T) {
	var cfg crashConfig
	testproc.Config(t, crashEnv, "TestCrash", &cfg)
	// The parent kills the child; the timeout only guards against an
	// orphan if the parent dies first.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := runChild(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

func runChild(ctx context.Context, cfg crashConfig) error {
	var bus interface {
		synclayer.Publisher
		synclayer.Subscriber
	}
	switch cfg.Bus {
	case "nats":
		nc, err := natsgo.Connect(cfg.BusAddr, natsgo.Timeout(3*time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		opts := []nats.Option{nats.WithGroup(crashGroup)}
		if !cfg.Defaults {
			opts = append(opts, nats.WithAckWait(2*time.Second), nats.WithRedeliveryDelay(50*time.Millisecond), nats.WithMaxDeliveries(1000))
		}
		b, err := nats.NewBus(ctx, nc, cfg.Stream, opts...)
		if err != nil {
			return err
		}
		bus = b
	case "redisstream":
		rdb := redis.NewClient(&redis.Options{Addr: cfg.BusAddr})
		defer rdb.Close()
		opts := []redisstream.Option{redisstream.WithGroup(crashGroup)}
		if !cfg.Defaults {
			opts = append(opts, redisstream.WithClaimIdle(time.Second), redisstream.WithRedeliveryDelay(50*time.Millisecond), redisstream.WithMaxDeliveries(1000))
		}
		b, err := redisstream.NewBus(rdb, cfg.Stream, opts...)
		if err != nil {
			return err
		}
		bus = b
	default:
		return fmt.Errorf("unknown bus %q", cfg.Bus)
	}
	store, db, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	restConn, err := rest.New(rest.Config{BaseURL: cfg.PartnerURL})
	if err != nil {
		return err
	}
	arcConn, err := arcgis.New(arcgis.Config{LayerURL: cfg.LayerURL, KeyField: "KEY", VersionField: "VERSION"})
	if err != nil {
		return err
	}
	policy := synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 50, InitialInterval: 5 * time.Millisecond,
		MaxInterval: 50 * time.Millisecond, MaxElapsed: 3 * time.Second})
	mapper := func(payload func(item) any) synclayer.Mapper {
		return synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, it item) (synclayer.Record, error) {
			return synclayer.Record{Key: it.Key, Version: it.Version, Payload: payload(it)}, nil
		})
	}
	reg := new(synclayer.Registry)
	if err := reg.Register("records", restConn, synclayer.Route(crashType, mapper(func(it item) any { return it })),
		policy, synclayer.WithTimeout(time.Second)); err != nil {
		return err
	}
	if err := reg.Register("gis", arcConn, synclayer.Route(crashType, mapper(func(it item) any {
		return arcgis.Feature{Attributes: map[string]any{"TITLE": it.Title}}
	})), policy, synclayer.WithTimeout(time.Second)); err != nil {
		return err
	}
	opts := []synclayer.Option{synclayer.WithStore(store), synclayer.WithPublisher(bus), synclayer.WithObserver(synclayer.NoObserver)}
	if !cfg.Defaults {
		opts = append(opts, synclayer.WithLeaseTTL(crashLease))
	}
	if cfg.Log == "sql" {
		log, err := openLog(ctx, cfg, db)
		if err != nil {
			return err
		}
		opts = append(opts, synclayer.WithDeliveryLog(log))
	}
	d, err := synclayer.NewDispatcher(reg, opts...)
	if err != nil {
		return err
	}
	stop := d.Watch(func(dl synclayer.Delivery) {
		if dl.State == synclayer.StatusPending {
			fmt.Printf("%s%s %s\n", pendingMark, dl.EventID, dl.Connector)
		}
	})
	defer stop()
	if cfg.Paused {
		for _, name := range reg.Connectors() {
			if err := d.Pause(name); err != nil {
				return err
			}
		}
	}
	return d.Run(ctx, bus)
}

// openLog opens the SQL delivery log of cfg beside its store.
func openLog(ctx context.Context, cfg crashConfig, db *sql.DB) (*sqlstore.Log, error) {
	dialect := sqlstore.Postgres
	if cfg.Store == "sqlite" {
		dialect = sqlstore.SQLite
	}
	log, err := sqlstore.NewLog(db, dialect, cfg.Table+"_log")
	if err != nil {
		return nil, err
	}
	return log, log.Migrate(ctx)
}

// openStore opens the child's (or the parent's) view of the shared store.
func openStore(cfg crashConfig) (*sqlstore.Store, *sql.DB, error) {
	driver, dialect := "pgx", sqlstore.Postgres
	if cfg.Store == "sqlite" {
		driver, dialect = "sqlite", sqlstore.SQLite
	}
	db, err := sql.Open(driver, cfg.DSN)
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlstore.New(db, dialect, cfg.Table)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return store, db, nil
}

// slowPartner delays each request by up to 5ms, so that a kill often
// lands while pushes are in flight.
func slowPartner(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
		h.ServeHTTP(w, r)
	})
}

// oneFeatureAt reports whether fs is one feature, at version v. The
// layer holds the attributes as JSON decoded them; compared as JSON, a
// number matches whatever Go type holds it.
func oneFeatureAt(fs []arcgistest.Feature, v int64) bool {
	if len(fs) != 1 {
		return false
	}
	got, err := json.Marshal(fs[0].Attributes["VERSION"])
	return err == nil && string(got) == strconv.FormatInt(v, 10)
}

// startChild starts TestCrashChild with cfg.
func startChild(t *testing.T, cfg crashConfig) *testproc.Child {
	t.Helper()
	return testproc.Start(t, "TestCrashChild", crashEnv, cfg)
}

// kill SIGKILLs c and waits for it, failing t if c had exited before.
func kill(t *testing.T, c *testproc.Child) {
	t.Helper()
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
}

// crashSetup is one combination of bus and store.
type crashSetup struct {
	cfg       crashConfig
	publisher interface {
		synclayer.Publisher
		synclayer.Subscriber
	}
}

// TestCrash kills a consumer process with SIGKILL at random points, several
// times, and restarts it, while the parent keeps publishing: with NATS
// JetStream and the PostgreSQL store, then with Redis Streams and the
// SQLite store. The child pushes to the rest connector (a records partner)
// and the arcgis connector (an arcgistest layer, without a unique index, so
// a duplicate add would show as a second feature), both served by the
// parent. After the last run drains, no event may be lost (each is
// announced SyncCompleted at least once), no key may hold two records, and
// every key must hold its newest version.
func TestCrash(t *testing.T) {
	testproc.SkipInChild(t, crashEnv)
	t.Run("nats+postgres", func(t *testing.T) {
		cfg, bus := natsPostgres(t)
		crashRun(t, crashSetup{cfg: cfg, publisher: bus})
	})
	t.Run("redisstream+sqlite", func(t *testing.T) {
		addr := testenv.Redis.Need(t)
		sfx := fmt.Sprintf("%d_%x", time.Now().UnixNano()%1e9, rand.Uint32())
		cfg := crashConfig{Bus: "redisstream", BusAddr: addr, Stream: "crash-" + sfx, Store: "sqlite",
			DSN:   "file:" + filepath.Join(t.TempDir(), "store.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)",
			Table: "crash_" + sfx}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { rdb.Close() })
		bus, err := redisstream.NewBus(rdb, cfg.Stream, redisstream.WithGroup("observer"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if keys, err := rdb.Keys(ctx, "{"+cfg.Stream+"}*").Result(); err == nil && len(keys) > 0 {
				rdb.Del(ctx, keys...)
			}
		})
		crashRun(t, crashSetup{cfg: cfg, publisher: bus})
	})
}

// natsPostgres makes a fresh NATS stream and PostgreSQL table for a crash
// test, and a bus on the stream for the parent, in group "observer".
func natsPostgres(t *testing.T) (crashConfig, *nats.Bus) {
	t.Helper()
	natsURL := testenv.NATS.Need(t)
	dsn := testenv.Postgres.Need(t)
	sfx := fmt.Sprintf("%d_%x", time.Now().UnixNano()%1e9, rand.Uint32())
	cfg := crashConfig{Bus: "nats", BusAddr: natsURL, Stream: "crash-" + strings.ReplaceAll(sfx, "_", "-"),
		Store: "postgres", DSN: dsn, Table: "crash_" + sfx}
	nc, err := natsgo.Connect(natsURL, natsgo.Timeout(3*time.Second))
	if err != nil {
		testenv.Unavailable(t, "NATS JetStream", err)
	}
	t.Cleanup(nc.Close)
	bus, err := nats.NewBus(t.Context(), nc, cfg.Stream, nats.WithGroup("observer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		js, err := jetstream.New(nc)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = js.DeleteStream(ctx, cfg.Stream)
		}
	})
	return cfg, bus
}

func crashRun(t *testing.T, s crashSetup) {
	sd := seed(t)
	rng := rand.New(rand.NewPCG(sd, 0xc4a5))
	ctx := t.Context()
	cfg := s.cfg

	// The partners, held by the parent across the child's lives.
	restP := newRESTPartner()
	restSrv := httptest.NewServer(slowPartner(restP))
	t.Cleanup(restSrv.Close)
	layer := arcgistest.NewLayer("KEY")
	layerSrv := httptest.NewServer(slowPartner(layer))
	t.Cleanup(layerSrv.Close)
	cfg.PartnerURL = restSrv.URL
	cfg.LayerURL = layerSrv.URL + "/arcgis/rest/services/crash/FeatureServer/0"

	// The shared store, migrated once.
	store, db, err := openStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+cfg.Table)
		db.Close()
	})
	if err := store.Migrate(ctx); err != nil {
		testenv.Unavailable(t, cfg.Store, err)
	}

	// The observer: every announcement the children publish.
	var (
		mu  sync.Mutex
		ann = map[string][]string{}
	)
	obsCtx, stopObs := context.WithCancel(ctx)
	obsDone := make(chan error, 1)
	go func() {
		obsDone <- s.publisher.Subscribe(obsCtx, []string{synclayer.SyncCompleted, synclayer.SyncFailed}, func(_ context.Context, ev synclayer.Event) error {
			mu.Lock()
			ann[ev.Subject] = append(ann[ev.Subject], ev.Type)
			mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() {
		stopObs()
		<-obsDone
	})

	// The events: 40 keys x 5 versions, shuffled, about 10% published twice.
	keys, versions := 40, 5
	run := fmt.Sprintf("crash%x", rng.Uint32())
	unique, seq := soakEvents(rng, run, keys, versions)
	for i := range seq {
		seq[i].ev.Type = crashType
	}

	start := time.Now()
	published := make(chan error, 1)
	go func() {
		// Publish in 10 batches over about three seconds, while children
		// are killed and restarted.
		for i, se := range seq {
			if i%(len(seq)/10+1) == 0 {
				time.Sleep(300 * time.Millisecond)
			}
			if err := s.publisher.Publish(ctx, se.ev); err != nil {
				published <- fmt.Errorf("publish %s: %w", se.ev.ID, err)
				return
			}
		}
		published <- nil
	}()

	const kills = 5
	for range kills {
		c := startChild(t, cfg)
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		kill(t, c)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}

	want := map[string]int64{}
	for _, se := range unique {
		want[se.key] = max(want[se.key], se.version)
	}
	last := startChild(t, cfg)
	alive := func() {
		if err := last.Alive(); err != nil {
			t.Fatalf("the last child: %v", err)
		}
	}
	missing := func() (ids []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, se := range unique {
			if len(ann[se.ev.ID]) == 0 {
				ids = append(ids, se.ev.ID)
			}
		}
		return ids
	}
	// First the partners must reach the newest version of every key, then
	// every event must be announced.
	testwait.For(t, 90*time.Second, func() string {
		return fmt.Sprintf("%d of %d keys at the records partner, %d features in the layer; last child's output:\n%s",
			len(restP.versions()), len(want), len(layer.Features()), last.Output())
	}, func() bool {
		alive()
		got := restP.versions()
		for k, v := range want {
			if vs := got[k]; len(vs) != 1 || vs[0] != v {
				return false
			}
			if !oneFeatureAt(layer.ByKey(k), v) {
				return false
			}
		}
		return true
	})
	for deadline := time.Now().Add(30 * time.Second); len(missing()) > 0 && time.Now().Before(deadline); {
		alive()
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	kill(t, last)

	// No event lost: each announced, never as failed.
	mu.Lock()
	again := 0
	for _, se := range unique {
		kinds := ann[se.ev.ID]
		if slices.Contains(kinds, synclayer.SyncFailed) {
			t.Errorf("event %s announced %v; want SyncCompleted", se.ev.ID, kinds)
		}
		again += max(len(kinds)-1, 0)
	}
	mu.Unlock()
	lost := missing()

	// No duplicate record, every key at its newest version.
	for k, v := range want {
		if fs := layer.ByKey(k); !oneFeatureAt(fs, v) {
			t.Errorf("gis: key %q holds %d features %+v; want one at version %d", k, len(fs), fs, v)
		}
	}
	if n := len(layer.Features()); n != len(want) {
		t.Errorf("gis: the layer holds %d features for %d keys", n, len(want))
	}
	got := restP.versions()
	if len(got) != len(want) {
		t.Errorf("records: the partner holds %d keys, want %d", len(got), len(want))
	}
	restP.mu.Lock()
	regress, writes := slices.Clone(restP.regress), restP.writes
	restP.mu.Unlock()
	if len(regress) > 0 {
		// A child killed after the partner applied version n but before the
		// store recorded it leaves the key's version below n; once the lease
		// expires an older event of the key is pushed, and the records
		// partner (plain PUT, no version check) holds it until version n's
		// redelivery restores the newest. The final state is checked above;
		// the window is reported, not failed. Connectors with a version
		// guard (arcgis VersionField, googlecalendar) do not go back.
		t.Logf("records: %d transient writes of an older version over a newer one after a kill, first: %s", len(regress), regress[0])
	}
	summary := fmt.Sprintf("crash %s+%s: events=%d (+%d redelivered) keys=%d kills=%d records-writes=%d gis-edits=%d re-announced=%d transient-regressions=%d elapsed=%v seed=%d",
		cfg.Bus, cfg.Store, len(unique), len(seq)-len(unique), len(want), kills, writes, layer.Edits(), again, len(regress), elapsed.Round(time.Millisecond), sd)
	t.Log(summary)
	if testing.Verbose() {
		fmt.Println(summary)
	}
	if len(lost) > 0 {
		t.Errorf("%d events never announced: %q", len(lost), lost)
	}
}
