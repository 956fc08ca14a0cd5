package synclayertest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/httpx"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// partner is a handler that counts the requests it handled and answers
// with a JSON body.
type partner struct{ handled atomic.Int64 }

const partnerBody = `{"ok":true,"padding":"0123456789abcdefghijklmnopqrstuvwxyz"}`

func (p *partner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	p.handled.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Partner", "yes")
	_, _ = io.WriteString(w, partnerBody)
}

// only returns a Chaos that injects fault f on every exchange.
func only(f synclayertest.ChaosFault) synclayertest.Chaos {
	c := synclayertest.Chaos{Seed: 7, StallFor: 5 * time.Second, SlowBodyDelay: time.Millisecond}
	rate := map[synclayertest.ChaosFault]*float64{
		synclayertest.ChaosServerError:   &c.ServerError,
		synclayertest.ChaosRateLimited:   &c.RateLimited,
		synclayertest.ChaosResetBefore:   &c.ResetBefore,
		synclayertest.ChaosLostResponse:  &c.LostResponse,
		synclayertest.ChaosStall:         &c.Stall,
		synclayertest.ChaosSlowBody:      &c.SlowBody,
		synclayertest.ChaosTruncatedBody: &c.TruncatedBody,
		synclayertest.ChaosErrorBody:     &c.ErrorBody,
	}
	if r := rate[f]; r != nil {
		*r = 1
	}
	return c
}

// outcome is what a client saw of one exchange.
type outcome struct {
	status     int
	retryAfter string
	body       string
	err        error // of the round trip or of reading the body
}

func exchange(t *testing.T, client *http.Client, url string, timeout time.Duration) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(`{"v":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return outcome{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b), err: err}
}

// checkFault asserts what the client saw and whether the partner was
// reached, for one fault.
func checkFault(t *testing.T, f synclayertest.ChaosFault, o outcome, reached bool) {
	t.Helper()
	want := map[synclayertest.ChaosFault]bool{
		synclayertest.ChaosNone: true, synclayertest.ChaosLostResponse: true,
		synclayertest.ChaosSlowBody: true, synclayertest.ChaosTruncatedBody: true,
	}[f]
	if reached != want {
		t.Errorf("%s: partner reached = %v, want %v", f, reached, want)
	}
	switch f {
	case synclayertest.ChaosServerError:
		if o.err != nil || o.status < 500 || o.status == 501 || o.status > 504 {
			t.Errorf("%s: got status %d, err %v; want 500, 502, 503 or 504", f, o.status, o.err)
		}
	case synclayertest.ChaosRateLimited:
		d, ok := httpx.ParseRetryAfter(o.retryAfter, time.Now())
		if o.err != nil || o.status != http.StatusTooManyRequests || !ok || d > 3*time.Second {
			t.Errorf("%s: got status %d, Retry-After %q (%v, %v), err %v", f, o.status, o.retryAfter, d, ok, o.err)
		}
	case synclayertest.ChaosResetBefore, synclayertest.ChaosLostResponse:
		if o.err == nil {
			t.Errorf("%s: exchange succeeded with %d %q; want a connection error", f, o.status, o.body)
		}
	case synclayertest.ChaosStall:
		if !errors.Is(o.err, context.DeadlineExceeded) {
			t.Errorf("%s: got status %d, err %v; want the client's deadline", f, o.status, o.err)
		}
	case synclayertest.ChaosSlowBody:
		if o.err != nil || o.body != partnerBody {
			t.Errorf("%s: got body %q, err %v; want the whole body", f, o.body, o.err)
		}
	case synclayertest.ChaosTruncatedBody:
		if !errors.Is(o.err, io.ErrUnexpectedEOF) || o.body != partnerBody[:len(partnerBody)/2] {
			t.Errorf("%s: got body %q, err %v; want half the body and an unexpected EOF", f, o.body, o.err)
		}
	case synclayertest.ChaosErrorBody:
		if o.err != nil || o.status != 200 || o.body != synclayertest.DefaultChaosErrorBody {
			t.Errorf("%s: got %d %q, err %v; want 200 with the ArcGIS error body", f, o.status, o.body, o.err)
		}
	}
}

var allFaults = []synclayertest.ChaosFault{
	synclayertest.ChaosNone, synclayertest.ChaosServerError, synclayertest.ChaosRateLimited,
	synclayertest.ChaosResetBefore, synclayertest.ChaosLostResponse, synclayertest.ChaosStall,
	synclayertest.ChaosSlowBody, synclayertest.ChaosTruncatedBody, synclayertest.ChaosErrorBody,
}

// count returns the counter of fault f.
func count(c synclayertest.ChaosCounts, f synclayertest.ChaosFault) int64 {
	return map[synclayertest.ChaosFault]int64{
		synclayertest.ChaosNone: c.Passed, synclayertest.ChaosServerError: c.ServerError,
		synclayertest.ChaosRateLimited: c.RateLimited, synclayertest.ChaosResetBefore: c.ResetBefore,
		synclayertest.ChaosLostResponse: c.LostResponse, synclayertest.ChaosStall: c.Stall,
		synclayertest.ChaosSlowBody: c.SlowBody, synclayertest.ChaosTruncatedBody: c.TruncatedBody,
		synclayertest.ChaosErrorBody: c.ErrorBody,
	}[f]
}

// TestChaosServerFaults injects each fault on the server side and checks
// what a plain net/http client sees and whether the partner was reached.
func TestChaosServerFaults(t *testing.T) {
	for _, f := range allFaults {
		t.Run(f.String(), func(t *testing.T) {
			p := &partner{}
			cs := synclayertest.NewChaosServer(p, only(f))
			srv := httptest.NewServer(cs)
			defer srv.Close()
			defer cs.Close()
			const n = 4
			for range n {
				o := exchange(t, srv.Client(), srv.URL+"/records/a", 300*time.Millisecond)
				before := p.handled.Swap(0)
				checkFault(t, f, o, before == 1)
			}
			c := cs.Counts()
			if c.Requests != n || count(c, f) != n || c.Faults() != map[bool]int64{true: 0, false: n}[f == synclayertest.ChaosNone] {
				t.Errorf("counts = %v; want %d requests, all %s", c, n, f)
			}
		})
	}
}

// TestChaosTransportFaults does the same on the client side.
func TestChaosTransportFaults(t *testing.T) {
	for _, f := range allFaults {
		t.Run(f.String(), func(t *testing.T) {
			p := &partner{}
			srv := httptest.NewServer(p)
			defer srv.Close()
			ct := synclayertest.NewChaosTransport(srv.Client().Transport, only(f))
			defer ct.Close()
			client := &http.Client{Transport: ct}
			const n = 4
			for range n {
				o := exchange(t, client, srv.URL+"/records/a", 300*time.Millisecond)
				checkFault(t, f, o, p.handled.Swap(0) == 1)
				if f == synclayertest.ChaosResetBefore || f == synclayertest.ChaosLostResponse {
					if !errors.Is(o.err, syscall.ECONNRESET) {
						t.Errorf("%s: err = %v, want ECONNRESET", f, o.err)
					}
				}
			}
			if c := ct.Counts(); c.Requests != n || count(c, f) != n {
				t.Errorf("counts = %v; want %d requests, all %s", c, n, f)
			}
		})
	}
}

// TestChaosStallBound checks that a stall ends after StallFor even when
// the client waits longer, with a 503 from the server and an error
// wrapping os.ErrDeadlineExceeded from the transport, and that Close ends
// stalls at once.
func TestChaosStallBound(t *testing.T) {
	c := only(synclayertest.ChaosStall)
	c.StallFor = 20 * time.Millisecond
	cs := synclayertest.NewChaosServer(&partner{}, c)
	srv := httptest.NewServer(cs)
	defer srv.Close()
	if o := exchange(t, srv.Client(), srv.URL, 10*time.Second); o.err != nil || o.status != http.StatusServiceUnavailable {
		t.Errorf("server stall past StallFor: got %d, %v; want 503", o.status, o.err)
	}
	ct := synclayertest.NewChaosTransport(srv.Client().Transport, c)
	if o := exchange(t, &http.Client{Transport: ct}, srv.URL, 10*time.Second); !errors.Is(o.err, os.ErrDeadlineExceeded) {
		t.Errorf("transport stall past StallFor: err %v; want os.ErrDeadlineExceeded", o.err)
	}

	c.StallFor = time.Hour
	cs2 := synclayertest.NewChaosServer(&partner{}, c)
	srv2 := httptest.NewServer(cs2)
	defer srv2.Close()
	done := make(chan outcome, 1)
	go func() { done <- exchange(t, srv2.Client(), srv2.URL, time.Minute) }()
	for cs2.Counts().Stall == 0 {
		time.Sleep(time.Millisecond)
	}
	cs2.Close()
	select {
	case o := <-done:
		if o.status != http.StatusServiceUnavailable {
			t.Errorf("stall after Close: got %d, %v; want 503", o.status, o.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not end the stall")
	}
}

// TestChaosRetryAfterForms checks that both forms of Retry-After occur
// and both parse.
func TestChaosRetryAfterForms(t *testing.T) {
	c := only(synclayertest.ChaosRateLimited)
	c.RetryAfter = 2 * time.Second
	ct := synclayertest.NewChaosTransport(http.DefaultTransport, c)
	client := &http.Client{Transport: ct}
	var secs, dates int
	for range 40 {
		o := exchange(t, client, "http://127.0.0.1:1/never-dialled", time.Second)
		if _, err := strconv.Atoi(o.retryAfter); err == nil {
			if o.retryAfter != "2" {
				t.Errorf("Retry-After = %q, want 2", o.retryAfter)
			}
			secs++
			continue
		}
		if _, err := http.ParseTime(o.retryAfter); err != nil {
			t.Fatalf("Retry-After %q is neither seconds nor an HTTP-date", o.retryAfter)
		}
		dates++
	}
	if secs == 0 || dates == 0 {
		t.Errorf("over 40 answers: %d in seconds, %d as dates; want both forms", secs, dates)
	}
}

// TestChaosReplay checks that one seed gives one sequence of faults, that
// another seed gives another, and that the observed rates are near the
// configured ones.
func TestChaosReplay(t *testing.T) {
	cfg := synclayertest.Chaos{Seed: 42, ServerError: 0.2, RateLimited: 0.05, ResetBefore: 0.05, ErrorBody: 0.1}
	run := func(seed uint64) ([]string, synclayertest.ChaosCounts) {
		c := cfg
		c.Seed = seed
		ct := synclayertest.NewChaosTransport(okTransport{}, c)
		client := &http.Client{Transport: ct}
		var seq []string
		for range 2000 {
			o := exchange(t, client, "http://partner.invalid/", time.Second)
			seq = append(seq, fmt.Sprint(o.status, o.err != nil))
		}
		return seq, ct.Counts()
	}
	a, ca := run(42)
	b, cb := run(42)
	c, _ := run(43)
	if fmt.Sprint(a) != fmt.Sprint(b) || ca != cb {
		t.Errorf("same seed, different runs: %v vs %v", ca, cb)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("seeds 42 and 43 gave the same 2000 outcomes")
	}
	near := func(name string, got int64, rate float64) {
		if want := rate * 2000; float64(got) < want*0.7 || float64(got) > want*1.3 {
			t.Errorf("%s: %d of 2000, want about %v", name, got, want)
		}
	}
	near("server-error", ca.ServerError, 0.2)
	near("error-body", ca.ErrorBody, 0.1)
	near("passed", ca.Passed, 0.6)
}

// TestChaosMatch checks that only matching exchanges are eligible.
func TestChaosMatch(t *testing.T) {
	c := only(synclayertest.ChaosServerError)
	c.Match = func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/applyEdits") }
	ct := synclayertest.NewChaosTransport(okTransport{}, c)
	client := &http.Client{Transport: ct}
	if o := exchange(t, client, "http://partner.invalid/layer/0/query", time.Second); o.status != 200 {
		t.Errorf("query: status %d, want 200", o.status)
	}
	if o := exchange(t, client, "http://partner.invalid/layer/0/applyEdits", time.Second); o.status < 500 {
		t.Errorf("applyEdits: status %d, want a 5xx", o.status)
	}
	if got := ct.Counts(); got.Requests != 2 || got.Passed != 1 || got.ServerError != 1 {
		t.Errorf("counts = %v", got)
	}
}

// TestChaosInvalidRates checks that bad rates are refused at construction.
func TestChaosInvalidRates(t *testing.T) {
	for _, c := range []synclayertest.Chaos{
		{ServerError: -0.1},
		{Stall: 1.5},
		{ServerError: 0.6, LostResponse: 0.6},
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "synclayertest: chaos:") {
					t.Errorf("%+v: panic %v, want a synclayertest: chaos: error", c, p)
				}
			}()
			synclayertest.NewChaosServer(&partner{}, c)
		}()
	}
}

// okTransport answers 200 to everything without a network.
type okTransport struct{}

func (okTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(partnerBody)),
		ContentLength: int64(len(partnerBody)), Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// A ChaosServer in front of a partner's handler answers some requests in
// the partner's place; its counts say which faults it injected.
func ExampleChaosServer() {
	partner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "stored")
	})
	cs := synclayertest.NewChaosServer(partner, synclayertest.Chaos{Seed: 1, RateLimited: 1})
	srv := httptest.NewServer(cs)
	defer srv.Close()
	defer cs.Close()

	resp, err := http.Get(srv.URL + "/records/a")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After") != "")
	fmt.Println(cs.Counts())
	// Output:
	// 429 true
	// requests=1 passed=0 rate-limited=1
}

// A ChaosTransport in a connector's client fails some exchanges on the
// client side; with rate 1 every exchange meets the fault, here a
// connection reset before the request leaves.
func ExampleChaosTransport() {
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "stored")
	}))
	defer partner.Close()
	ct := synclayertest.NewChaosTransport(partner.Client().Transport, synclayertest.Chaos{Seed: 1, ResetBefore: 1})
	client := &http.Client{Transport: ct}

	_, err := client.Get(partner.URL + "/records/a")
	fmt.Println(errors.Is(err, syscall.ECONNRESET))
	fmt.Println(ct.Counts())
	// Output:
	// true
	// requests=1 passed=0 reset-before=1
}
