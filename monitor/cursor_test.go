package monitor_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// cursorRig is a handler over a counting log of n synced deliveries to
// one connector, "c", with the ledger already started (so that only the
// lists read the log).
func cursorRig(t *testing.T, n int) (*countingLog, func(path string, v any) (int, string)) {
	t.Helper()
	log := &countingLog{MemoryLog: new(synclayer.MemoryLog)}
	d := logDispatcher(t, log)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		_ = log.Put(context.Background(), synclayer.Delivery{EventID: fmt.Sprintf("e%04d", i), Connector: "c",
			State: synclayer.StatusSynced, Updated: at.Add(time.Duration(i) * time.Second)})
	}
	h := newHandler(t, d)
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(p string, v any) (int, string) { return getURL(t, srv, "/"+p, v) }
	if code, body := get("api/status", nil); code != http.StatusOK {
		t.Fatalf("api/status: %d %s", code, body)
	}
	return log, get
}

// A cursor the server did not give for this query is a bad query (400,
// saying so) and reads nothing of the log: neither a malformed one nor a
// well-formed one crafted to name a row that is not there, which made the
// server read ever larger windows of the log, up to 10,000 rows, on every
// request.
func TestForgedCursor(t *testing.T) {
	log, get := cursorRig(t, 3000)
	crafted := func(ns int64, event, connector string) string {
		return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "[%d,%q,%q]", ns, event, connector))
	}
	var page struct{ Next string }
	if code, body := get("api/deliveries?limit=10", &page); code != http.StatusOK || page.Next == "" {
		t.Fatalf("first page: %d %s", code, body)
	}
	other := page.Next // a real cursor, of another query below
	for _, c := range []struct{ name, query string }{
		{"malformed", "limit=1&cursor=%21%21not-a-cursor"},
		{"crafted, naming no row", "limit=1&cursor=" + crafted(1, "nope", "c")},
		{"crafted, naming a row", "limit=1&cursor=" + crafted(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), "e0000", "c")},
		{"real, of another query", "connector=c&limit=10&cursor=" + url.QueryEscape(other)},
		{"real, tampered", "limit=10&cursor=" + url.QueryEscape(strings.ToUpper(other[:1])+strings.ToLower(other[1:]))},
	} {
		lists, rows := log.lists.Load(), log.rows.Load()
		code, body := get("api/deliveries?"+c.query, nil)
		if code != http.StatusBadRequest || !strings.Contains(body, "cursor") || !strings.Contains(body, "not the next of a page") {
			t.Errorf("%s: %d %s, want 400 about the cursor", c.name, code, body)
		}
		if n := log.lists.Load() - lists; n != 0 {
			t.Errorf("%s: the log was listed %d times (%d rows)", c.name, n, log.rows.Load()-rows)
		}
	}
}

// A page after a real cursor reads the log at most twice, and the first
// read is the window up to the cursor's page, not a window grown from the
// start: a walk's pages cost their depth, once.
func TestCursorBoundsWork(t *testing.T) {
	log, get := cursorRig(t, 3000)
	cursor, pages := "", 0
	for {
		lists, rows := log.lists.Load(), log.rows.Load()
		p := deliveriesPage(t, get, 100, cursor, pages)
		if n, r := log.lists.Load()-lists, log.rows.Load()-rows; n != 1 || r > int64((pages+2)*100+1) {
			t.Errorf("page %d: %d lists of %d rows, want one of at most %d", pages, n, r, (pages+2)*100+1)
		}
		pages++
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if pages != 30 {
		t.Errorf("%d pages, want 30", pages)
	}
}

// When more rows moved in front of a cursor's row than a page's room, the
// page reads the log a second time, once, and still goes on right after
// the cursor's row.
func TestCursorAfterLogGrew(t *testing.T) {
	log, get := cursorRig(t, 300)
	var p struct {
		Deliveries []struct{ EventID string }
		Next       string
	}
	get("api/deliveries?limit=10", &p)
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := range 50 { // newer than every row: in front of the cursor
		_ = log.Put(context.Background(), synclayer.Delivery{EventID: fmt.Sprintf("new%02d", i), Connector: "c",
			State: synclayer.StatusSynced, Updated: at.Add(time.Duration(i) * time.Second)})
	}
	lists := log.lists.Load()
	next := p.Next
	p.Deliveries, p.Next = nil, ""
	if code, body := get("api/deliveries?limit=10&cursor="+url.QueryEscape(next), &p); code != http.StatusOK {
		t.Fatalf("second page: %d %s", code, body)
	}
	if n := log.lists.Load() - lists; n != 2 {
		t.Errorf("the log was listed %d times, want 2", n)
	}
	if len(p.Deliveries) != 10 || p.Deliveries[0].EventID != "e0289" || p.Deliveries[9].EventID != "e0280" || p.Next == "" {
		t.Errorf("second page %+v next %q, want e0289 to e0280 and a next", p.Deliveries, p.Next)
	}
}

// A cursor is bound to what its query selects, not to how the query is
// written: the next page of a query takes its cursor under the same
// filter with the states in another order, repeated or comma-separated,
// an empty parameter, or since as the same time in another zone or the
// same duration written otherwise, and answers the same page. Another
// filter still refuses it.
func TestCursorSharedByEquivalentQueries(t *testing.T) {
	_, get := cursorRig(t, 50)
	type page struct {
		Deliveries []struct{ EventID string }
		Next       string
	}
	for _, c := range []struct {
		first string
		same  []string
		other string
	}{
		{
			first: "state=synced&state=dead&limit=10",
			same: []string{
				"limit=10&state=synced&state=dead",
				"state=dead&state=synced&limit=10",
				"state=synced,dead&limit=10",
				"state=dead,%20synced,dead&limit=10",
				"state=synced&state=dead&event=&limit=10",
			},
			other: "state=synced&limit=10",
		},
		{
			first: "since=2025-12-31T00:00:00Z&connector=c&limit=10",
			same:  []string{"connector=c&since=2025-12-31T01:00:00%2B01:00&limit=10"},
			other: "since=2025-12-31T00:00:01Z&connector=c&limit=10",
		},
		{
			first: "since=876000h&limit=10",
			same:  []string{"since=52560000m&limit=10"},
			other: "limit=10",
		},
	} {
		var p1, want page
		if code, body := get("api/deliveries?"+c.first, &p1); code != http.StatusOK || p1.Next == "" {
			t.Fatalf("%s: %d %s", c.first, code, body)
		}
		cur := "&cursor=" + url.QueryEscape(p1.Next)
		if code, body := get("api/deliveries?"+c.first+cur, &want); code != http.StatusOK || len(want.Deliveries) != 10 {
			t.Fatalf("%s, second page: %d %s", c.first, code, body)
		}
		for _, q := range c.same {
			var got page
			code, body := get("api/deliveries?"+q+cur, &got)
			if code != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s after a cursor of %s: %d %s, want the page %v", q, c.first, code, body, want)
			}
		}
		if code, body := get("api/deliveries?"+c.other+cur, nil); code != http.StatusBadRequest {
			t.Errorf("%s after a cursor of %s: %d %s, want 400", c.other, c.first, code, body)
		}
	}
}

// A walk lists every row that was in the log at its start and did not
// change, once. A row updated during the walk moves to the front, so it
// is listed at most once: not again when the walk had listed it, not at
// all when the walk had not reached it. Rows added during the walk are in
// front too, and not listed.
func TestWalkRowsUpdatedDuringIt(t *testing.T) {
	log, get := cursorRig(t, 30)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	put := func(event string) {
		at = at.Add(time.Second)
		_ = log.Put(context.Background(), synclayer.Delivery{EventID: event, Connector: "c", State: synclayer.StatusSynced, Updated: at})
	}
	seen := map[string]int{}
	cur := ""
	for pages := 0; ; pages++ {
		p := deliveriesPage(t, get, 10, cur, pages)
		for _, d := range p.Deliveries {
			seen[d.EventID]++
		}
		if pages == 0 { // listed e0029 to e0020
			put("e0025") // listed: updated
			put("e0005") // not reached yet: updated
			put("new1")  // added
		}
		if cur = p.Next; cur == "" {
			break
		}
	}
	for i := range 30 {
		id := fmt.Sprintf("e%04d", i)
		want := 1
		if id == "e0005" {
			want = 0
		}
		if seen[id] != want {
			t.Errorf("%s listed %d times, want %d", id, seen[id], want)
		}
	}
	if seen["new1"] != 0 {
		t.Errorf("new1, added during the walk, listed %d times, want 0", seen["new1"])
	}
}

// page is a page of api/deliveries, as the cursor tests read it.
type page struct {
	Deliveries []struct{ EventID string }
	Next       string
}

// deliveriesPage reads the n-th page of api/deliveries, of limit rows,
// after cursor ("" for the first).
func deliveriesPage(t *testing.T, get func(path string, v any) (int, string), limit int, cursor string, n int) page {
	t.Helper()
	path := fmt.Sprintf("api/deliveries?limit=%d", limit)
	if cursor != "" {
		path += "&cursor=" + url.QueryEscape(cursor)
	}
	var p page
	if code, body := get(path, &p); code != http.StatusOK {
		t.Fatalf("page %d: %d %s", n, code, body)
	}
	return p
}
