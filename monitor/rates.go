package monitor

import (
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

// rates keeps a short history of the dispatcher's counters, sampled when
// the status is read, to turn counts into rates without a goroutine.
type rates struct {
	window time.Duration

	mu      sync.Mutex
	samples []sample // oldest first
}

type sample struct {
	at     time.Time
	counts map[string]synclayer.ConnectorStatus
}

// sample records cur (at most once per window/30) and returns the sample
// to compute rates against, and the time since it: the newest sample at
// least a window old (older ones are dropped), so the span is at least
// the window, or, while no sample is that old, the oldest sample, over a
// shorter span. The span is 0 when there is no earlier sample, and longer
// than the window when no status was read for longer than it.
func (r *rates) sample(now time.Time, cur []synclayer.ConnectorStatus) (map[string]synclayer.ConnectorStatus, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Forget samples that fell out of the window, keeping the newest of them
	// when nothing newer exists, so a slow reader still gets a rate.
	cut := 0
	for cut < len(r.samples)-1 && now.Sub(r.samples[cut+1].at) >= r.window {
		cut++
	}
	r.samples = r.samples[cut:]
	if n := len(r.samples); n == 0 || now.Sub(r.samples[n-1].at) >= r.window/30 {
		m := make(map[string]synclayer.ConnectorStatus, len(cur))
		for _, c := range cur {
			m[c.Name] = c
		}
		r.samples = append(r.samples, sample{at: now, counts: m})
	}
	base := r.samples[0]
	return base.counts, now.Sub(base.at)
}

func done(c synclayer.ConnectorStatus) int64 { return c.Synced + c.Duplicate + c.Stale }
func bad(c synclayer.ConnectorStatus) int64  { return c.Failed + c.Dead }

// rateOf computes the rates of cur against base over span.
func rateOf(cur, base synclayer.ConnectorStatus, span time.Duration) Rates {
	if span <= 0 {
		return Rates{}
	}
	mins := span.Minutes()
	dDone, dBad := done(cur)-done(base), bad(cur)-bad(base)
	r := Rates{
		ThroughputPerMin: float64(dDone) / mins,
		AttemptsPerMin:   float64(cur.Attempts-base.Attempts) / mins,
	}
	if dDone+dBad > 0 {
		r.ErrorRate = float64(dBad) / float64(dDone+dBad)
	}
	return r
}

func addStatus(to *synclayer.ConnectorStatus, c synclayer.ConnectorStatus) {
	to.Synced += c.Synced
	to.Duplicate += c.Duplicate
	to.Stale += c.Stale
	to.Failed += c.Failed
	to.Dead += c.Dead
	to.Pending += c.Pending
	to.Attempts += c.Attempts
	to.Retries += c.Retries
	to.InFlight += c.InFlight
}
