package caldav_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
)

// Example creates an all-day event. A stand-in for a CalDAV server prints
// the requests: a read that finds nothing, then a create that must not
// overwrite anything (If-None-Match: *).
func Example() {
	dav := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			fmt.Println("GET ->", http.StatusNotFound)
			http.NotFound(w, r)
		case http.MethodPut:
			body, _ := io.ReadAll(r.Body)
			fmt.Println("PUT If-None-Match:", r.Header.Get("If-None-Match"))
			for _, line := range strings.Split(string(body), "\r\n") {
				if strings.HasPrefix(line, "DT") || strings.HasPrefix(line, "SUMMARY") {
					fmt.Println("  ", line)
				}
			}
			w.Header().Set("ETag", `"1"`)
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer dav.Close()

	conn, err := caldav.New(caldav.Config{
		CollectionURL: dav.URL + "/alice/work/",
		HTTPClient:    dav.Client(), // in production: a client that adds the credentials
		Now:           func() time.Time { return time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = conn.Sync(context.Background(), synclayer.Record{
		Key:     "WF-123",
		Version: 1,
		Payload: caldav.Event{
			Summary: "Go live; WF-123, final",
			Start:   time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
			AllDay:  true, // DTEND is the next day, exclusive
		},
	})
	fmt.Println("error:", err)
	// Output:
	// GET -> 404
	// PUT If-None-Match: *
	//    DTEND;VALUE=DATE:20260311
	//    DTSTAMP:20260301T080000Z
	//    DTSTART;VALUE=DATE:20260310
	//    SUMMARY:Go live\; WF-123\, final
	// error: <nil>
}
