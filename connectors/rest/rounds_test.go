package rest_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/internal/benchrun"
)

// rounds is how many rounds a comparing benchmark splits b.N into.
const rounds = 10

// atConcurrencies runs bench as a sub-benchmark at concurrency 1 and at 64.
func atConcurrencies(b *testing.B, bench func(b *testing.B, conc int)) {
	for _, conc := range []int{1, 64} {
		b.Run("c="+strconv.Itoa(conc), func(b *testing.B) { bench(b, conc) })
	}
}

// clients returns what a comparing benchmark sets side by side: a raw
// client with the connector's pool for conc requests at a time, and a
// connector to baseURL with that concurrency. Both are closed when b
// ends.
func clients(b *testing.B, baseURL string, conc int) (*http.Client, *rest.Connector) {
	b.Helper()
	raw := rest.NewClient(conc)
	b.Cleanup(raw.CloseIdleConnections)
	conn, err := rest.New(rest.Config{BaseURL: baseURL, Concurrency: conc})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return raw, conn
}

// inRounds splits n operations into rounds and calls round with each
// round's first number (base) and size. The paths a benchmark compares
// take turns within each round, so that a change in the machine's load
// during the run hits them alike.
func inRounds(n int, round func(base, ops int)) {
	for r := range rounds {
		ops := n / rounds
		if r == rounds-1 {
			ops = n - ops*(rounds-1)
		}
		round(r*(n/rounds), ops)
	}
}

// runOps calls op ops times, numbered base+1 to base+ops, over conc
// workers, and returns the time taken. The first error fails b.
func runOps(b *testing.B, conc int, op func(int) error, base, ops int) time.Duration {
	took, err := benchrun.Spread(conc, int64(base+1), int64(base+ops+1), func(i int64) error { return op(int(i)) })
	if err != nil {
		b.Fatal(err)
	}
	return took
}

// median is the median of xs, 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
