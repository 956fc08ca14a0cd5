package monitor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/monitor"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// walk follows a list's next cursors from path (a query without cursor)
// and returns every row's eventId/connector, in order.
func walk(t *testing.T, get func(path string, v any) (int, string), path string, rows func(v any) []monitor.Delivery, next func(v any) string, newV func() any) []string {
	t.Helper()
	var out []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the walk does not end")
		}
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		v := newV()
		if code, body := get(p, v); code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		for _, d := range rows(v) {
			out = append(out, d.EventID+"/"+d.Connector)
		}
		if cursor = next(v); cursor == "" {
			return out
		}
	}
}

func walkDeliveries(t *testing.T, get func(string, any) (int, string), path string) []string {
	return walk(t, get, path,
		func(v any) []monitor.Delivery { return v.(*monitor.DeliveryPage).Deliveries },
		func(v any) string { return v.(*monitor.DeliveryPage).Next },
		func() any { return &monitor.DeliveryPage{} })
}

// once checks that got holds every item of want exactly once.
func once(t *testing.T, what string, got []string, want int) {
	t.Helper()
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
		if seen[g] == 2 {
			t.Errorf("%s: %s listed twice", what, g)
		}
	}
	if len(seen) != want || len(got) != want {
		t.Errorf("%s: %d rows, %d distinct, want %d", what, len(got), len(seen), want)
	}
}

// Every list pages with limit and cursor, and a walk of all pages lists
// every row exactly once, newest first.
func TestPagination(t *testing.T) {
	r := newRig(t)
	r.records.fail("down")
	const n = 57
	for i := range n {
		r.dispatch(t, fmt.Sprintf("e%02d", i), fmt.Sprintf("WF-%d", i))
	}
	get := func(p string, v any) (int, string) { return r.get(t, p, v) }

	all := walkDeliveries(t, get, "api/deliveries?limit=10")
	once(t, "deliveries", all, 2*n)
	if !strings.HasPrefix(all[0], fmt.Sprintf("e%02d/", n-1)) || !strings.HasPrefix(all[len(all)-1], "e00/") {
		t.Errorf("not newest first: first %s, last %s", all[0], all[len(all)-1])
	}
	once(t, "records deliveries", walkDeliveries(t, get, "api/deliveries?connector=records&limit=7"), n)
	once(t, "limit 1", walkDeliveries(t, get, "api/deliveries?state=synced&limit=1"), n)

	dead := walk(t, get, "api/dead-letters?connector=records&limit=5",
		func(v any) []monitor.Delivery { return v.(*monitor.DeadLetterPage).DeadLetters },
		func(v any) string { return v.(*monitor.DeadLetterPage).Next },
		func() any { return &monitor.DeadLetterPage{} })
	once(t, "dead letters", dead, n)

	// The default page is DefaultLimit rows, with a cursor to go on.
	var p monitor.DeliveryPage
	r.get(t, "api/deliveries", &p)
	if len(p.Deliveries) != monitor.DefaultLimit || p.Next == "" {
		t.Errorf("default page: %d rows, next %q", len(p.Deliveries), p.Next)
	}
	p = monitor.DeliveryPage{}
	r.get(t, "api/deliveries?limit=1000", &p)
	if len(p.Deliveries) != 2*n || p.Next != "" {
		t.Errorf("one page of all: %d rows, next %q", len(p.Deliveries), p.Next)
	}
}

// countingLog is a delivery log that counts its List calls and the rows
// they return.
type countingLog struct {
	*synclayer.MemoryLog
	lists, rows atomic.Int64
}

func (l *countingLog) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	out, err := l.MemoryLog.List(ctx, f)
	l.lists.Add(1)
	l.rows.Add(int64(len(out)))
	return out, err
}

// Rows updated at the same instant still page exactly once, however the
// page edges fall among them.
func TestPaginationTies(t *testing.T) {
	log := &countingLog{MemoryLog: new(synclayer.MemoryLog)}
	d := logDispatcher(t, log)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 40 {
		// Four instants, ten rows each, put in an order unlike the list's.
		_ = log.Put(context.Background(), synclayer.Delivery{EventID: fmt.Sprintf("e%02d", (i*7)%40), Connector: "c",
			State: synclayer.StatusSynced, Updated: at.Add(time.Duration(i%4) * time.Second)})
	}
	h := newHandler(t, d)
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(p string, v any) (int, string) { return getURL(t, srv, "/"+p, v) }
	for _, limit := range []int{1, 3, 4, 9, 10, 11, 39, 40} {
		got := walkDeliveries(t, get, fmt.Sprintf("api/deliveries?limit=%d", limit))
		once(t, fmt.Sprintf("limit %d", limit), got, 40)
	}
}

// Reading the status lists the log only once (to start the ledger); after
// that a status costs no listing, and its counts follow the deliveries.
func TestStatusReadsNoLog(t *testing.T) {
	log := &countingLog{MemoryLog: new(synclayer.MemoryLog)}
	p := &partner{}
	p.fail("down")
	reg := new(synclayer.Registry)
	_ = reg.Register("c", p, synclayer.Route("T", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
	for i := range 30 {
		_, _ = d.Dispatch(context.Background(), synclayer.Event{ID: fmt.Sprintf("old%d", i), Type: "T", Subject: fmt.Sprintf("k%d", i)})
	}
	h := newHandler(t, d)
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	var st monitor.Status
	getURL(t, srv, "/api/status", &st)
	if st.Connectors[0].DeadLetters != 30 {
		t.Fatalf("dead letters from the log: %+v", st.Connectors[0].Waiting)
	}
	lists := log.lists.Load()
	for i := range 20 {
		_, _ = d.Dispatch(context.Background(), synclayer.Event{ID: fmt.Sprintf("new%d", i), Type: "T", Subject: fmt.Sprintf("n%d", i)})
		getURL(t, srv, "/api/status", &st)
	}
	if n := log.lists.Load() - lists; n != 0 {
		t.Errorf("20 status reads listed the log %d times", n)
	}
	if st.Connectors[0].DeadLetters != 50 {
		t.Errorf("dead letters followed live: %+v", st.Connectors[0].Waiting)
	}
}

// A burst larger than the ledger's queue between two status reads is not
// lost: the ledger reads the log again.
func TestStatusAfterBurst(t *testing.T) {
	r := newRig(t)
	r.records.fail("down")
	var st monitor.Status
	r.get(t, "api/status", &st) // the ledger starts
	const n = 2100              // 4 deliveries each: over the ledger's queue of 8192
	for i := range n {
		r.dispatch(t, fmt.Sprintf("e%d", i), fmt.Sprintf("WF-%d", i))
	}
	r.get(t, "api/status", &st)
	if st.Connectors[1].DeadLetters != n || st.Connectors[0].DeadLetters != 0 {
		t.Errorf("after a burst: records %+v, calendar %+v", st.Connectors[1].Waiting, st.Connectors[0].Waiting)
	}
}

// getURL fetches srv's path and decodes a 200 body into v (when not nil).
func getURL(t *testing.T, srv *httptest.Server, path string, v any) (int, string) {
	t.Helper()
	return send(t, srv.Client(), newRequest(t, http.MethodGet, srv.URL+path, nil), v)
}
