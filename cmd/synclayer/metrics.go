package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/hmsplatform/synclayer"
)

// metrics is an Observer that counts pushes and results per partner and
// serves them in the Prometheus text format.
type metrics struct {
	mu       sync.Mutex
	attempts map[[2]string]int64 // partner, outcome ("ok" or "error")
	results  map[[2]string]int64 // partner, status
}

func newMetrics() *metrics {
	return &metrics{attempts: map[[2]string]int64{}, results: map[[2]string]int64{}}
}

// ObserveAttempt counts one push.
func (m *metrics) ObserveAttempt(_ context.Context, a synclayer.Attempt) {
	outcome := "ok"
	if a.Err != nil {
		outcome = "error"
	}
	m.mu.Lock()
	m.attempts[[2]string{a.Connector, outcome}]++
	m.mu.Unlock()
}

// ObserveResult counts one route's result.
func (m *metrics) ObserveResult(_ context.Context, _ synclayer.Event, r synclayer.Result) {
	m.mu.Lock()
	m.results[[2]string{r.Connector, r.Status.String()}]++
	m.mu.Unlock()
}

// ServeHTTP writes the counters.
func (m *metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	write := func(name, help, label string, counts map[[2]string]int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
		keys := make([][2]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
		for _, k := range keys {
			fmt.Fprintf(&b, "%s{partner=%q,%s=%q} %d\n", name, k[0], label, k[1], counts[k])
		}
	}
	write("synclayer_pushes_total", "Calls of a partner's connector (attempts), by outcome.", "outcome", m.attempts)
	write("synclayer_results_total", "Routes dispatched, by final status.", "status", m.results)
	_, _ = w.Write([]byte(b.String()))
}
