package rest_test

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// fastRetry keeps the network tests short.
var fastRetry = synclayer.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: 30 * time.Second}

// setup wires a rest connector for p into a dispatcher routing "Push"
// events whose Subject is the key and version 1.
func setup(t *testing.T, p *fakePartner, policy synclayer.RetryPolicy, obs synclayer.Observer) *synclayer.Dispatcher {
	t.Helper()
	return setupTimeout(t, p, policy, obs, 300*time.Millisecond)
}

// setupTimeout is setup with the given per-attempt timeout.
func setupTimeout(t *testing.T, p *fakePartner, policy synclayer.RetryPolicy, obs synclayer.Observer, timeout time.Duration) *synclayer.Dispatcher {
	t.Helper()
	conn, err := rest.New(rest.Config{BaseURL: p.srv.URL, Name: "records"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	record := func(key string) synclayer.Record {
		return synclayer.Record{Key: key, Version: 1, Payload: payload{Key: key, Version: 1}}
	}
	return conntest.Dispatcher(t, "records", conn, record, policy, timeout, obs)
}

func push(t *testing.T, d *synclayer.Dispatcher, key string) synclayer.Result {
	t.Helper()
	rep, _ := d.Dispatch(t.Context(), synclayer.Event{ID: "evt-" + key, Type: "Push", Subject: key})
	if len(rep.Results) != 1 {
		t.Fatalf("%d results", len(rep.Results))
	}
	return rep.Results[0]
}

func TestNetworkFailuresDeliverOnce(t *testing.T) {
	tests := []struct {
		name  string
		fault fault
	}{
		{"ResetBeforeResponse", conntest.Reset},
		{"ResetMidResponse", func(w http.ResponseWriter, _ *http.Request, apply func() int) {
			apply()
			conntest.WriteRaw(w, "HTTP/1.1 200 OK\r\nContent-Ty")
		}},
		{"TruncatedSuccessBody", func(w http.ResponseWriter, _ *http.Request, apply func() int) {
			apply()
			conntest.WriteRaw(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"partial\":")
		}},
		{"StallPastAttemptTimeout", stall},
		{"LostResponse", lostResponse},
		{"ServiceUnavailable", status(503)},
		{"Redirect307", func(w http.ResponseWriter, r *http.Request, _ func() int) {
			http.Redirect(w, r, r.URL.Path+"?moved=1", http.StatusTemporaryRedirect)
		}},
		{"Redirect308", func(w http.ResponseWriter, r *http.Request, _ func() int) {
			http.Redirect(w, r, r.URL.Path+"?moved=1", http.StatusPermanentRedirect)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPartner(t)
			p.faults.Inject(tt.fault)
			d := setup(t, p, fastRetry, nil)
			res := push(t, d, "WF-1")
			if res.Status != synclayer.StatusSynced {
				t.Fatalf("status %v: %v", res.Status, res.Err)
			}
			if got := p.versions("WF-1"); len(got) != 1 || got[0] != 1 {
				t.Fatalf("partner holds %v, want one record at version 1", got)
			}
		})
	}
}

func TestSlowBodyWithinTimeout(t *testing.T) {
	p := newPartner(t)
	p.faults.Inject(func(w http.ResponseWriter, _ *http.Request, apply func() int) {
		w.WriteHeader(apply())
		rc := http.NewResponseController(w)
		for range 5 {
			_, _ = io.WriteString(w, "          ")
			_ = rc.Flush()
			time.Sleep(10 * time.Millisecond)
		}
	})
	// The timeout is far above the trickle, so a loaded machine cannot
	// turn this into a timeout test.
	res := push(t, setupTimeout(t, p, fastRetry, nil, 30*time.Second), "WF-1")
	if res.Status != synclayer.StatusSynced || res.Attempts != 1 {
		t.Fatalf("status %v after %d attempts: %v", res.Status, res.Attempts, res.Err)
	}
}

func TestLostResponseRetrySameIdempotencyKey(t *testing.T) {
	p := newPartner(t)
	p.faults.Inject(lostResponse)
	res := push(t, setup(t, p, fastRetry, nil), "WF-1")
	if res.Status != synclayer.StatusSynced || res.Attempts != 2 {
		t.Fatalf("status %v after %d attempts: %v", res.Status, res.Attempts, res.Err)
	}
	if got := p.versions("WF-1"); len(got) != 1 {
		t.Fatalf("partner holds %d records, want 1", len(got))
	}
	if n := p.writesTo("WF-1"); n != 2 {
		t.Errorf("partner applied %d writes, want 2 (the lost one and the retry)", n)
	}
	reqs := p.requests()
	if len(reqs) != 2 || reqs[0].Header.Get("Idempotency-Key") == "" || reqs[0].Header.Get("Idempotency-Key") != reqs[1].Header.Get("Idempotency-Key") {
		t.Errorf("retry did not repeat the Idempotency-Key: %d requests", len(reqs))
	}
}

func TestRedirectToGetIsPermanent(t *testing.T) {
	p := newPartner(t)
	p.faults.Inject(func(w http.ResponseWriter, r *http.Request, _ func() int) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	res := push(t, setup(t, p, fastRetry, nil), "WF-1")
	if res.Status != synclayer.StatusFailed || res.Attempts != 1 || !errors.Is(res.Err, partner.ErrRejected) {
		t.Fatalf("status %v after %d attempts: %v", res.Status, res.Attempts, res.Err)
	}
	if got := p.versions("WF-1"); len(got) != 0 {
		t.Errorf("partner holds %v", got)
	}
}

func TestRetryAfterForms(t *testing.T) {
	policy := synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Second, MaxElapsed: time.Minute}
	t.Run("Seconds", func(t *testing.T) {
		p := newPartner(t)
		p.faults.Inject(status(429, "Retry-After", "1"))
		obs := new(synclayertest.Attempts)
		res := push(t, setup(t, p, policy, obs), "WF-1")
		if res.Status != synclayer.StatusSynced || res.Attempts != 2 {
			t.Fatalf("status %v after %d attempts: %v", res.Status, res.Attempts, res.Err)
		}
		if w := obs.Waits(); w[0] != time.Second {
			t.Errorf("waited %v after the 429, want the partner's 1s", w[0])
		}
		if got := p.versions("WF-1"); len(got) != 1 {
			t.Errorf("partner holds %v", got)
		}
	})
	t.Run("HTTPDate", func(t *testing.T) {
		p := newPartner(t)
		date := time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
		p.faults.Inject(status(503, "Retry-After", date))
		obs := new(synclayertest.Attempts)
		res := push(t, setup(t, p, policy, obs), "WF-1")
		if res.Status != synclayer.StatusSynced || res.Attempts != 2 {
			t.Fatalf("status %v after %d attempts: %v", res.Status, res.Attempts, res.Err)
		}
		// The date has whole seconds, so the wait is between 1s and 2s;
		// the policy alone would have waited about 1ms.
		if w := obs.Waits(); w[0] < 500*time.Millisecond || w[0] > 2*time.Second {
			t.Errorf("waited %v after Retry-After %s", w[0], date)
		}
		if got := p.versions("WF-1"); len(got) != 1 {
			t.Errorf("partner holds %v", got)
		}
	})
}

// TestConnectionReuse checks the built client's pool: 64 workers sending
// 20 requests each open at most 64 connections.
func TestConnectionReuse(t *testing.T) {
	const workers, each = 64, 20
	p := newPartner(t)
	conn, err := rest.New(rest.Config{BaseURL: p.srv.URL, Concurrency: workers})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := "k-" + string(rune('A'+w%26)) + "-" + string(rune('a'+i%26)) + "-" + string(rune('0'+w/26))
				if err := conn.Sync(t.Context(), rec(key, int64(i+1))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := p.conns.Load(); n > workers {
		t.Errorf("%d connections opened for %d workers", n, workers)
	}
}
