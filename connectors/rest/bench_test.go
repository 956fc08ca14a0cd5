package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// BenchmarkPut compares the connector's Sync with a raw net/http client
// doing the same PUTs (same URL, headers and JSON body, same pool size,
// body drained), in
// the same run, at concurrency 1 and 64, taking turns in rounds. It
// reports both throughputs, the ratio connector/raw (the median of the
// rounds' ratios), and the connections each opened; and, for context,
// the throughput of the same connector behind a Dispatcher (memory store,
// no observer) and its ratio to raw.
//
//	go test -run '^$' -bench Put -benchtime 20000x ./connectors/rest/
func BenchmarkPut(b *testing.B) {
	atConcurrencies(b, func(b *testing.B, conc int) {
		var conns atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
		defer srv.Close()

		// Baseline: a raw client with the same pool.
		raw, conn := clients(b, srv.URL, conc)
		rawPut := func(i int) error {
			body, err := json.Marshal(payload{Key: "k" + strconv.Itoa(i), Version: int64(i)})
			if err != nil {
				return err
			}
			req, err := http.NewRequest(http.MethodPut, srv.URL+"/records/k"+strconv.Itoa(i), bytes.NewReader(body))
			if err != nil {
				return err
			}
			// The same bytes on the wire as the connector's requests.
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("sl1-%032x", i))
			resp, err := raw.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}

		connPut := func(i int) error {
			return conn.Sync(b.Context(), synclayer.Record{
				Key: "k" + strconv.Itoa(i), Version: int64(i),
				Payload: payload{Key: "k" + strconv.Itoa(i), Version: int64(i)},
			})
		}

		// The same connector behind a Dispatcher, as users run it.
		reg := new(synclayer.Registry)
		mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject, Version: 1, Payload: payload{Key: ev.Subject, Version: 1}}, nil
		})
		if err := reg.Register("records", conn, synclayer.Route("Push", mapper), synclayer.WithConcurrency(conc)); err != nil {
			b.Fatal(err)
		}
		d := synclayertest.NewDispatcher(b, reg, synclayer.WithObserver(synclayer.NoObserver))
		dispatchPut := func(i int) error {
			k := "d" + strconv.Itoa(i)
			_, err := d.Dispatch(b.Context(), synclayer.Event{ID: k, Type: "Push", Subject: k})
			return err
		}

		// run does ops puts with put, numbered from base, over conc
		// workers, and returns the time taken and connections opened.
		run := func(put func(int) error, base, ops int) (time.Duration, int64) {
			conns.Store(0)
			d := runOps(b, conc, put, base, ops)
			return d, conns.Load()
		}

		// The three paths take turns in rounds.
		var rawDur, connDur, dispDur time.Duration
		var rawConns, connConns int64
		var connRatios, dispRatios []float64
		b.ResetTimer()
		inRounds(b.N, func(base, ops int) {
			rd, c := run(rawPut, base, ops)
			rawDur, rawConns = rawDur+rd, rawConns+c
			cd, c := run(connPut, base, ops)
			connDur, connConns = connDur+cd, connConns+c
			dd, _ := run(dispatchPut, base, ops)
			dispDur += dd
			if ops > 0 {
				connRatios = append(connRatios, rd.Seconds()/cd.Seconds())
				dispRatios = append(dispRatios, rd.Seconds()/dd.Seconds())
			}
		})
		b.StopTimer()

		dispRate := float64(b.N) / dispDur.Seconds()
		rawRate := float64(b.N) / rawDur.Seconds()
		connRate := float64(b.N) / connDur.Seconds()
		b.ReportMetric(float64(connDur.Nanoseconds())/float64(b.N), "ns/op")
		b.ReportMetric(connRate, "conn-put/s")
		b.ReportMetric(rawRate, "raw-put/s")
		// The ratio is the median of the rounds' ratios: a burst of
		// load from elsewhere spoils one round, not the figure.
		b.ReportMetric(median(connRatios), "ratio")
		b.ReportMetric(float64(connConns), "conn-conns")
		b.ReportMetric(float64(rawConns), "raw-conns")
		b.ReportMetric(dispRate, "dispatch-put/s")
		b.ReportMetric(median(dispRatios), "dispatch-ratio")
	})
}
