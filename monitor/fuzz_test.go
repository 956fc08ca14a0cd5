package monitor_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/monitor"
)

// FuzzParseFilter: any query either parses into a filter within bounds or
// fails with ErrBadQuery; it never panics.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "state=dead", "state=dead,synced&state=pending", "limit=10000", "since=15m",
		"since=2026-01-01T00:00:00Z", "key=%ZZ", "key=a%00b", "connector=a&connector=b", "x=1", ";;;&&=",
		"event=%E2%9C%93&type=WorkflowDeployed", "state=,", "limit=-1", "since=-1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		df, _, err := monitor.ParseFilter(q)
		if err != nil {
			if !errors.Is(err, monitor.ErrBadQuery) || !strings.HasPrefix(err.Error(), "monitor: bad query: ") {
				t.Fatalf("ParseFilter(%q) error %v does not wrap ErrBadQuery", q, err)
			}
		} else {
			if df.Limit < 1 || df.Limit > monitor.MaxLimit {
				t.Fatalf("ParseFilter(%q) limit %d", q, df.Limit)
			}
			for _, st := range df.States {
				if _, err := st.MarshalText(); err != nil {
					t.Fatalf("ParseFilter(%q) state %v", q, st)
				}
			}
			for _, s := range []string{df.EventID, df.EventType, df.Connector, df.Key} {
				if len(s) > 1024 {
					t.Fatalf("ParseFilter(%q) kept %d bytes", q, len(s))
				}
			}
		}
		rf, _, err := monitor.ParseReplayFilter(q)
		if err != nil && !errors.Is(err, monitor.ErrBadQuery) {
			t.Fatalf("ParseReplayFilter(%q) error %v does not wrap ErrBadQuery", q, err)
		}
		if err == nil && (rf.Limit < 1 || rf.Limit > monitor.MaxLimit) {
			t.Fatalf("ParseReplayFilter(%q) limit %d", q, rf.Limit)
		}
	})
}

// FuzzHandler: any method, path and query gets an answer from the known set
// of codes, with a JSON error body for every error; the handler never
// panics and never writes without a valid token.
func FuzzHandler(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "/api/status", ""}, {"GET", "/api/deliveries", "state=dead"}, {"GET", "/api/events/e1", ""},
		{"GET", "/api/events/%2e%2e", ""}, {"POST", "/api/replay", "all=1"}, {"POST", "/api/connectors/c/pause", ""},
		{"DELETE", "/api/status", ""}, {"GET", "//api//status", ""}, {"GET", "/assets/app.js", "x"}, {"GET", "/api/dead-letters", "limit=5"},
		{"GET", "/api/freshness", ""}, {"GET", "/api/freshness/records", "key=WF-1"}, {"GET", "/api/freshness/records", "after=a&limit=5"},
		{"POST", "/api/freshness/records", "key=WF-1"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	r := newRig(f, monitor.WithWrites(true))
	// A closed handler answers the live stream at once (503) instead of
	// holding it open; every other route works as usual.
	h := newHandler(f, r.d, monitor.WithWrites(true), monitor.WithAllowedHosts("example.com"))
	h.Close()
	f.Fuzz(func(t *testing.T, method, path, query string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") || !strings.HasPrefix(path, "/") {
			return
		}
		u := &url.URL{Path: path, RawQuery: query}
		req := httptest.NewRequest("GET", "/", nil)
		req.Method, req.URL = method, u
		w := httptest.NewRecorder()
		calls := r.records.calls.Load()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 403, 404, 405, 409, 503:
		default:
			t.Fatalf("%s %s?%s: code %d", method, path, query, w.Code)
		}
		if w.Code != 200 {
			var e monitor.Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || !strings.HasPrefix(e.Error, "monitor: ") {
				t.Fatalf("%s %s?%s: %d body %q is not a JSON error", method, path, query, w.Code, w.Body)
			}
		}
		if method != http.MethodGet && method != http.MethodHead && w.Code == 200 {
			t.Fatalf("%s %s?%s: a write without a token answered %d", method, path, query, w.Code)
		}
		if r.records.calls.Load() != calls {
			t.Fatalf("%s %s?%s pushed", method, path, query)
		}
	})
}
