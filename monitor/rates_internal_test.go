package monitor

import (
	"math"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

func TestRates(t *testing.T) {
	r := rates{window: time.Minute}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(sec int, synced, dead, attempts int64) (synclayer.ConnectorStatus, time.Duration) {
		cur := synclayer.ConnectorStatus{Name: "c", Synced: synced, Dead: dead, Attempts: attempts}
		base, span := r.sample(t0.Add(time.Duration(sec)*time.Second), []synclayer.ConnectorStatus{cur})
		return base["c"], span
	}
	if _, span := at(0, 0, 0, 0); span != 0 {
		t.Fatalf("first sample span %v, want 0", span)
	}
	base, span := at(30, 27, 3, 40)
	got := rateOf(synclayer.ConnectorStatus{Synced: 27, Dead: 3, Attempts: 40}, base, span)
	if span != 30*time.Second || got.ThroughputPerMin != 54 || got.AttemptsPerMin != 80 || math.Abs(got.ErrorRate-0.1) > 1e-9 {
		t.Errorf("at 30s: span %v rates %+v", span, got)
	}
	// Samples older than the window are dropped, but the newest of those
	// stays as the base, so the span stays near the window.
	at(60, 60, 3, 70)
	base, span = at(100, 100, 3, 110)
	if span != 70*time.Second || base.Synced != 27 {
		t.Errorf("at 100s: span %v base %+v, want the 30s sample", span, base)
	}
	if n := len(r.samples); n > 32 {
		t.Errorf("%d samples kept", n)
	}
	// Reads closer together than window/30 add no sample.
	before := len(r.samples)
	at(100, 100, 3, 110)
	if len(r.samples) != before {
		t.Errorf("a read 0s later added a sample")
	}
	if got := rateOf(synclayer.ConnectorStatus{}, synclayer.ConnectorStatus{}, 0); got != (Rates{}) {
		t.Errorf("rates over no span = %+v", got)
	}
}
