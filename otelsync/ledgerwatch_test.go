package otelsync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/otelsync"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// ledgerRig is a dispatcher with connectors "ok" and "down" (which fails
// every push for good), routing versioned records, and an Observer that
// watches its ledger through a manual reader.
type ledgerRig struct {
	d      *synclayer.Dispatcher
	reader *sdkmetric.ManualReader
	stop   func() error
}

func newLedgerRig(t *testing.T, dopts ...synclayer.Option) *ledgerRig {
	t.Helper()
	r := &ledgerRig{reader: sdkmetric.NewManualReader()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	obs, err := otelsync.New(otelsync.WithMeterProvider(mp))
	must(t, err)
	byVersion := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject, Version: int64(len(ev.ID))}, nil
	})
	reg := new(synclayer.Registry)
	must(t, reg.Register("ok", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("WorkflowDeployed", byVersion)))
	must(t, reg.Register("down", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
		return synclayer.Permanent(errors.New("partner down"))
	}), synclayer.Route("WorkflowDeployed", byVersion)))
	r.d = synclayertest.NewDispatcher(t, reg, append([]synclayer.Option{synclayer.WithObserver(obs)}, dopts...)...)
	r.stop, err = obs.WatchLedger(r.d)
	must(t, err)
	return r
}

// ages collects the behind-age gauge, by connector.
func (r *ledgerRig) ages(t *testing.T) map[string]float64 {
	t.Helper()
	m, ok := metrics(t, r.reader)[otelsync.MetricLedgerBehindAge]
	if !ok {
		return nil
	}
	g, ok := m.Data.(metricdata.Gauge[float64])
	if !ok || m.Unit != "s" {
		t.Fatalf("%s: data %T unit %q, want a float64 gauge in s", m.Name, m.Data, m.Unit)
	}
	out := map[string]float64{}
	for _, p := range g.DataPoints {
		c, _ := p.Attributes.Value(otelsync.AttrConnector)
		if p.Attributes.Len() != 1 {
			t.Errorf("point attributes %v, want the connector alone", p.Attributes.ToSlice())
		}
		out[c.AsString()] = p.Value
	}
	return out
}

// A push that failed leaves its key behind at the partner; the gauge
// reports how long, per connector, and 0 once the key got there.
func TestLedgerBehindAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLedgerRig(t)
		ctx := t.Context()
		if got := r.ages(t); got["ok"] != 0 || got["down"] != 0 || len(got) != 2 {
			t.Fatalf("ages before any push = %v, want 0 for ok and down", got)
		}
		_, _ = r.d.Dispatch(ctx, synclayer.Event{ID: "e1", Type: "WorkflowDeployed", Subject: "WF-1"})
		time.Sleep(90 * time.Second)
		_, _ = r.d.Dispatch(ctx, synclayer.Event{ID: "e2", Type: "WorkflowDeployed", Subject: "WF-2"})
		time.Sleep(30 * time.Second)
		// down: WF-1 behind for 120s, WF-2 for 30s; the oldest counts.
		if got := r.ages(t); got["down"] != 120 || got["ok"] != 0 {
			t.Errorf("ages = %v, want down 120 and ok 0", got)
		}
		// The ledger says WF-1 reached down after all (a resync, say):
		// WF-2 is the oldest behind.
		must(t, r.d.Ledger().Pushed(ctx, synclayer.Holding{Connector: "down", Key: "WF-1", Version: 2, PushedAt: time.Now()}))
		if got := r.ages(t); got["down"] != 30 {
			t.Errorf("ages = %v, want down 30", got)
		}
		must(t, r.stop())
		if got := r.ages(t); got != nil {
			t.Errorf("ages after stop = %v, want no gauge", got)
		}
	})
}

// A ledger given with WithLedger is the one read; a drifted entry counts
// from its check.
func TestLedgerBehindAgeOwnLedger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := new(synclayer.MemoryStore)
		r := newLedgerRig(t, synclayer.WithLedger(l))
		defer r.stop()
		must(t, l.Verified(t.Context(), "ok", "WF-7", time.Now(), synclayer.DriftDiffers))
		time.Sleep(time.Hour)
		if got := r.ages(t); got["ok"] != 3600 || got["down"] != 0 {
			t.Errorf("ages = %v, want ok 3600 (drifted an hour ago), down 0", got)
		}
	})
}

// failingLedger cannot tell its summary.
type failingLedger struct{ synclayer.MemoryStore }

func (*failingLedger) Summary(_ context.Context, c string) (synclayer.LedgerSummary, error) {
	if c == "down" {
		return synclayer.LedgerSummary{}, errors.New("ledger unreachable")
	}
	return synclayer.LedgerSummary{Connector: c}, nil
}

// A summary that fails leaves its connector out and tells the reader.
func TestLedgerBehindAgeSummaryFails(t *testing.T) {
	r := newLedgerRig(t, synclayer.WithLedger(new(failingLedger)))
	defer r.stop()
	var rm metricdata.ResourceMetrics
	err := r.reader.Collect(t.Context(), &rm)
	if err == nil || !strings.Contains(err.Error(), "ledger summary of down: ledger unreachable") {
		t.Errorf("collect error %v, want the failing summary named", err)
	}
	var conns []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != otelsync.MetricLedgerBehindAge {
				continue
			}
			for _, p := range m.Data.(metricdata.Gauge[float64]).DataPoints {
				v, _ := p.Attributes.Value(otelsync.AttrConnector)
				conns = append(conns, v.AsString())
			}
		}
	}
	if len(conns) != 1 || conns[0] != "ok" {
		t.Errorf("points for %v, want ok alone", conns)
	}
}

// Without a ledger there is nothing to watch: WatchLedger says so.
func TestWatchLedgerWithoutLedger(t *testing.T) {
	obs, err := otelsync.New(otelsync.WithMeterProvider(sdkmetric.NewMeterProvider()))
	must(t, err)
	reg := new(synclayer.Registry)
	must(t, reg.Register("ok", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("WorkflowDeployed", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject}, nil
		}))))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithLedger(synclayer.NoLedger))
	if _, err := obs.WatchLedger(d); !errors.Is(err, synclayer.ErrInvalidOption) || !strings.Contains(err.Error(), "no freshness ledger") {
		t.Errorf("WatchLedger without a ledger: %v, want ErrInvalidOption naming the ledger", err)
	}
	if _, err := obs.WatchLedger(nil); !errors.Is(err, synclayer.ErrInvalidOption) {
		t.Errorf("WatchLedger(nil): %v; want an error wrapping ErrInvalidOption", err)
	}
}
