package bench_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// A broker makes the bus of one run: fresh names on the broker, removed at
// the end of the benchmark.
type broker struct {
	name string
	open func(tb testing.TB, run string) *fixture
}

// fixture is one run's bus, with its raw client and its checks.
type fixture struct {
	bus interface {
		synclayer.Publisher
		synclayer.Subscriber
	}
	// raw consumes the run's n events with the broker's own client, as
	// the package doc says, and returns the time it took. Nil when the bus
	// has no broker.
	raw func(tb testing.TB, n int) time.Duration
	// settled checks the broker after the Dispatcher's run: no event of
	// the bus's group left unacknowledged, n announcements stored.
	settled func(tb testing.TB, n int)
	// rawSettled checks the same after the raw client's run.
	rawSettled func(tb testing.TB, n int)
}

// observers of the benchmark, by name.
var (
	noObserver  synclayer.Observer
	logObserver = synclayer.LogObserver(slog.New(slog.NewTextHandler(io.Discard, nil)))
)

// durableCases are the sub-benchmarks of BenchmarkDurable.
var durableCases = []struct {
	broker   broker
	store    storeKind
	observer string
}{
	{natsBroker, memoryStore, "none"},
	{natsBroker, memoryStore, "log"},
	{natsBroker, postgresStore, "none"},
	{redisBroker, memoryStore, "none"},
	{redisBroker, postgresStore, "none"},
	{redisBroker, redisStore, "none"},
	{amqpBroker, memoryStore, "none"},
	{amqpBroker, postgresStore, "none"},
	{memoryBroker, sqliteStore, "none"},
	{memoryBroker, memoryStore, "none"},
}

var runSeq atomic.Int64

// runName is unique to one run, and valid as a stream, exchange, key
// prefix and table name.
func runName() string {
	return fmt.Sprintf("bench_%d_%d", time.Now().UnixNano()%1e12, runSeq.Add(1))
}

// BenchmarkDurable measures one Dispatcher consuming 20,000 waiting events
// from a broker with a shared store, and the broker's raw client doing the
// same in the same run; see the package doc.
func BenchmarkDurable(b *testing.B) {
	for _, c := range durableCases {
		obs := noObserver
		if c.observer == "log" {
			obs = logObserver
		}
		b.Run(fmt.Sprintf("bus=%s/store=%s/observer=%s", c.broker.name, c.store.name, c.observer), func(b *testing.B) {
			benchDurable(b, c.broker, c.store, obs)
		})
	}
}

func benchDurable(b *testing.B, br broker, st storeKind, obs synclayer.Observer) {
	// Every other combination is paired with the baseline the targets
	// divide by, NATS with the memory store, run in the same iteration,
	// before or after it in turn.
	paired := (br.name != natsBroker.name || st.name != memoryStore.name) && natsReachable()
	var busTime, rawTime, baseTime time.Duration
	var pushes int64
	hasRaw := false
	for b.Loop() {
		b.StopTimer()
		run := runName()
		fx := br.open(b, run)
		store := st.open(b, run)
		publishAll(b, fx.bus, run, benchEvents)
		var base func()
		if paired {
			baseRun := runName()
			baseFx := natsBroker.open(b, baseRun)
			publishAll(b, baseFx.bus, baseRun, benchEvents)
			base = func() {
				out := runDispatcher(b, baseFx.bus, baseFx.bus, new(synclayer.MemoryStore), noObserver, benchEvents)
				baseFx.settled(b, benchEvents)
				baseTime += out.elapsed
			}
		}
		baseFirst := paired && runSeq.Load()%2 == 0
		if baseFirst {
			base()
		}
		b.StartTimer()
		out := runDispatcher(b, fx.bus, fx.bus, store, obs, benchEvents)
		b.StopTimer()
		fx.settled(b, benchEvents)
		busTime += out.elapsed
		pushes += out.pushes
		if paired && !baseFirst {
			base()
		}
		if fx.raw != nil {
			hasRaw = true
			rawTime += fx.raw(b, benchEvents)
			fx.rawSettled(b, benchEvents)
		}
		b.StartTimer()
	}
	events := float64(b.N * benchEvents)
	rate := events / busTime.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(pushes)/events, "pushes/event")
	if hasRaw {
		raw := events / rawTime.Seconds()
		b.ReportMetric(raw, "raw-events/s")
		b.ReportMetric(rate/raw, "of-raw")
	}
	if paired {
		base := events / baseTime.Seconds()
		b.ReportMetric(base, "nats-mem-events/s")
		b.ReportMetric(rate/base, "of-nats-mem")
	}
}

// natsReachable reports whether the NATS server accepts connections, so
// that a benchmark without NATS runs unpaired instead of being skipped.
func natsReachable() bool {
	addr := testenv.NATS.Addr()
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
