package caldav_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
)

// ExampleConnector_Verify finds an event someone renamed and moved in
// their calendar client, and repairs it. A stand-in for a CalDAV server
// holds the edited object, written in Berlin time with the client's
// bookkeeping (SEQUENCE, LAST-MODIFIED), which is not drift.
func ExampleConnector_Verify() {
	key := "WF-123"
	edited := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Some client//EN\r\nBEGIN:VEVENT\r\n" +
		"UID:" + caldav.UID(caldav.DefaultNamespace, key) + "\r\n" +
		"DTSTAMP:20260305T101010Z\r\nSEQUENCE:2\r\nLAST-MODIFIED:20260305T101010Z\r\n" +
		"DTSTART;TZID=Europe/Berlin:20260310T120000\r\n" + // 11:00 UTC: moved by two hours
		"DTEND:20260310T120000Z\r\n" +
		"SUMMARY:Go live (tentative)\r\n" +
		"X-SYNCLAYER-KEY:" + key + "\r\nX-SYNCLAYER-VERSION:1\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n"
	dav := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", `"v7"`)
			fmt.Fprint(w, edited)
		case http.MethodPut:
			fmt.Println("PUT If-Match:", r.Header.Get("If-Match"))
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer dav.Close()

	conn, err := caldav.New(caldav.Config{CollectionURL: dav.URL + "/alice/work/", HTTPClient: dav.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := synclayer.Record{Key: key, Version: 1, Payload: caldav.Event{
		Summary: "Go live",
		Start:   time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC),
		End:     time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC),
	}}
	v, err := conn.Verify(context.Background(), rec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Kind, strings.Join(v.Fields, " "), v.ETag)
	fmt.Println("repair:", conn.Repair(context.Background(), rec, v))
	// Output:
	// differs DTEND DTSTART SUMMARY "v7"
	// PUT If-Match: "v7"
	// repair: <nil>
}
