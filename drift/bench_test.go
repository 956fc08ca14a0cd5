package drift_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/drift"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// BenchmarkCheck has a Reconciler verify 10,000 keys held by a local REST
// partner (map, GET, compare, ledger write), beside a raw net/http client
// making the same GETs one at a time, in the same iteration; the
// reconciler also verifies one key at a time. It reports both rates and
// check/raw:
//
//	go test -run '^$' -bench Check -benchtime 3x ./drift
func BenchmarkCheck(b *testing.B) {
	const n = 10_000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/records/")
		w.Header().Set("ETag", `"1"`)
		fmt.Fprintf(w, `{"name":"Policy %s","area":"north"}`, key)
	}))
	defer srv.Close()
	conn, err := rest.New(rest.Config{BaseURL: srv.URL, Concurrency: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	toRecord := synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, p policy) (synclayer.Record, error) {
		return synclayer.Record{Key: p.Key, Version: p.Version, Payload: map[string]string{"name": p.Name, "area": p.Area}}, nil
	})
	reg := new(synclayer.Registry)
	if err := reg.Register("records", conn, synclayer.Route("PolicyUpdated", toRecord)); err != nil {
		b.Fatal(err)
	}
	d := synclayertest.NewDispatcher(b, reg, synclayer.WithObserver(synclayer.NoObserver))
	r, err := drift.New(d, drift.Config{Rate: 1e9, Burst: 1000})
	if err != nil {
		b.Fatal(err)
	}
	ps := make([]policy, n)
	for i := range ps {
		ps[i] = policy{Key: fmt.Sprint(i), Version: 1, Name: fmt.Sprint("Policy ", i), Area: "north"}
	}
	raw := rest.NewClient(1)
	defer raw.CloseIdleConnections()
	var checkTime, rawTime time.Duration
	for b.Loop() {
		start := time.Now()
		for _, p := range ps {
			resp, err := raw.Get(srv.URL + "/records/" + p.Key)
			if err != nil {
				b.Fatal(err)
			}
			var v map[string]string
			err = json.NewDecoder(resp.Body).Decode(&v)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		rawTime += time.Since(start)
		start = time.Now()
		s, err := r.Check(b.Context(), events(ps))
		if err != nil || s.InSync != n {
			b.Fatalf("check: %+v, %v", s, err)
		}
		checkTime += time.Since(start)
	}
	keys := float64(b.N * n)
	b.ReportMetric(keys/checkTime.Seconds(), "checked/s")
	b.ReportMetric(keys/rawTime.Seconds(), "raw-get/s")
	b.ReportMetric(rawTime.Seconds()/checkTime.Seconds(), "check/raw")
}
