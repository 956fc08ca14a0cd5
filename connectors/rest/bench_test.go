package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

// BenchmarkPut compares the connector's Sync with a raw net/http client
// doing the same PUTs (same JSON body, same pool size, body drained), in
// the same run, at concurrency 1 and 64. It reports both throughputs, the
// ratio connector/raw, and the connections each opened.
//
//	go test -run '^$' -bench Put -benchtime 20000x ./connectors/rest/
func BenchmarkPut(b *testing.B) {
	for _, conc := range []int{1, 64} {
		b.Run("c="+strconv.Itoa(conc), func(b *testing.B) {
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
			raw := rest.NewClient(conc)
			defer raw.CloseIdleConnections()
			rawPut := func(i int) error {
				body, err := json.Marshal(payload{Key: "k" + strconv.Itoa(i), Version: int64(i)})
				if err != nil {
					return err
				}
				req, err := http.NewRequest(http.MethodPut, srv.URL+"/records/k"+strconv.Itoa(i), bytes.NewReader(body))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/json")
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

			conn, err := rest.New(rest.Config{BaseURL: srv.URL, Concurrency: conc})
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			connPut := func(i int) error {
				return conn.Sync(b.Context(), synclayer.Record{
					Key: "k" + strconv.Itoa(i), Version: int64(i),
					Payload: payload{Key: "k" + strconv.Itoa(i), Version: int64(i)},
				})
			}

			run := func(put func(int) error) (time.Duration, int64) {
				conns.Store(0)
				var next atomic.Int64
				var wg sync.WaitGroup
				var failed atomic.Value
				start := time.Now()
				for range conc {
					wg.Go(func() {
						for {
							i := int(next.Add(1))
							if i > b.N {
								return
							}
							if err := put(i); err != nil {
								failed.Store(err)
								return
							}
						}
					})
				}
				wg.Wait()
				d := time.Since(start)
				if err := failed.Load(); err != nil {
					b.Fatal(err)
				}
				return d, conns.Load()
			}

			b.ResetTimer()
			rawDur, rawConns := run(rawPut)
			connDur, connConns := run(connPut)
			b.StopTimer()

			rawRate := float64(b.N) / rawDur.Seconds()
			connRate := float64(b.N) / connDur.Seconds()
			b.ReportMetric(float64(connDur.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(connRate, "conn-put/s")
			b.ReportMetric(rawRate, "raw-put/s")
			b.ReportMetric(connRate/rawRate, "ratio")
			b.ReportMetric(float64(connConns), "conn-conns")
			b.ReportMetric(float64(rawConns), "raw-conns")
		})
	}
}
