package caldav_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/drift"
)

// outlookBerlin is the VTIMEZONE Outlook and Exchange write for their
// zone "W. Europe Standard Time" (Europe/Berlin in the IANA database).
const outlookBerlin = "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n" +
	"END:VTIMEZONE\r\n"

// outlookObject is version of key k's calendar object as an
// Exchange-based server holds it: the VTIMEZONE of "W. Europe Standard
// Time" and a VEVENT "Review" whose DTSTART and end are the lines times.
func outlookObject(version, times string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n" + outlookBerlin +
		"BEGIN:VEVENT\r\nUID:" + caldav.UID(caldav.DefaultNamespace, "k") + "\r\nDTSTAMP:20260301T120000Z\r\n" + times +
		"SUMMARY:Review\r\nX-SYNCLAYER-KEY:k\r\nX-SYNCLAYER-VERSION:" + version + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// holding is a stand-in server holding one object (ETag "1" and up) for
// every GET, which a PUT replaces; it returns the server and a function
// that gives the object held.
func holding(t *testing.T, object string) (*httptest.Server, func() string) {
	var (
		mu   sync.Mutex
		etag = 1
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", strconv.Quote(strconv.Itoa(etag)))
			_, _ = io.WriteString(w, object)
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			object = string(b)
			etag++
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() string {
		mu.Lock()
		defer mu.Unlock()
		return object
	}
}

// TestOwnedStartInAWindowsZone: an Exchange-based server writes times in
// Windows zones ("W. Europe Standard Time"), with their VTIMEZONEs, names
// Go's time.LoadLocation does not know. With DTSTART owned by the
// partner, the kept start must still be read, through CLDR's
// Windows-to-IANA mapping (Europe/Berlin, in summer time in July): the
// record's end follows it by the record's length, and Verify finds the
// object written in sync. Read as unknown, the kept start would give way
// to the record's, overwriting the partner's, and Verify would find the
// end off.
func TestOwnedStartInAWindowsZone(t *testing.T) {
	// The record: 09:00Z to 11:00Z, two hours. The partner moved the
	// event to 15:00 to 16:00 Berlin time, 13:00Z to 14:00Z.
	rec := synclayer.Record{Key: "k", Version: 2, Payload: caldav.Event{Summary: "Review",
		Start: time.Date(2026, 7, 10, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 7, 10, 11, 0, 0, 0, time.UTC)}}
	const start = "DTSTART;TZID=W. Europe Standard Time:20260710T150000\r\n"
	owned := func(t *testing.T, srv *httptest.Server) *caldav.Connector {
		c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", OwnedFields: []string{"DTSTART"}, HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("sync", func(t *testing.T) {
		srv, held := holding(t, outlookObject("1", start+"DTEND;TZID=W. Europe Standard Time:20260710T160000\r\n"))
		c := owned(t, srv)
		if err := c.Sync(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		put := held()
		for _, line := range []string{start, "DTEND:20260710T150000Z\r\n", "X-SYNCLAYER-VERSION:2\r\n"} {
			if !strings.Contains(put, line) {
				t.Errorf("PUT body lacks %q:\n%s", line, put)
			}
		}
		if strings.Count(put, "BEGIN:VTIMEZONE") != 1 || !strings.Contains(put, "TZID:W. Europe Standard Time\r\n") {
			t.Errorf("PUT body should hold the VTIMEZONE of W. Europe Standard Time:\n%s", put)
		}
		conntest.Verify(t, c, rec, drift.InSync)
	})

	t.Run("verify", func(t *testing.T) {
		for _, tt := range []struct {
			name, end string
			kind      drift.Kind
			fields    []string
		}{
			{"unchanged", "DTEND:20260710T150000Z\r\n", drift.InSync, nil},
			{"unchanged, end in the zone", "DTEND;TZID=W. Europe Standard Time:20260710T170000\r\n", drift.InSync, nil},
			{"end moved by the partner", "DTEND;TZID=W. Europe Standard Time:20260710T160000\r\n", drift.Differs, []string{"DTEND"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv, _ := holding(t, outlookObject("2", start+tt.end))
				conntest.Verify(t, owned(t, srv), rec, tt.kind, tt.fields...)
			})
		}
	})
}

// TestOwnedEndInANamedZone: a kept DTEND whose TZID Go's
// time.LoadLocation does not know as written (a Windows zone, a
// Mozilla-style path ending in an IANA name) is read through the zone
// it names, moves with the record's start, and keeps its TZID, so the
// VTIMEZONE it names comes along (RFC 5545 §3.6.5).
func TestOwnedEndInANamedZone(t *testing.T) {
	for _, tzid := range []string{"W. Europe Standard Time", "/mozilla.org/20050126_1/Europe/Berlin", "Europe/Berlin"} {
		t.Run(tzid, func(t *testing.T) {
			// The held event: 09:00Z to 12:00 Berlin (11:00Z), two hours;
			// the record starts at 14:00Z, so the kept end is 16:00Z,
			// 17:00 Berlin.
			held := heldObject(vtimezone(tzid, "+0100"), "DTSTART:20260310T090000Z\r\nDTEND;TZID="+tzid+":20260310T120000\r\n")
			put := putOver(t, held, caldav.Event{Summary: "s", Start: time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)}, "DTEND")
			for _, line := range []string{"DTSTART:20260310T140000Z\r\n", "DTEND;TZID=" + tzid + ":20260310T170000\r\n", "TZID:" + tzid + "\r\n"} {
				if !strings.Contains(put, line) {
					t.Errorf("PUT body lacks %q:\n%s", line, put)
				}
			}
			if n := strings.Count(put, "BEGIN:VTIMEZONE"); n != 1 {
				t.Errorf("PUT body holds %d VTIMEZONEs, want 1:\n%s", n, put)
			}
		})
	}
}
