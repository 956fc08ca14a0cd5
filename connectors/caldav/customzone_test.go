package caldav_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/drift"
)

// customZone is the VTIMEZONE Outlook writes for a zone it has no
// Windows name for, under the TZID "Customized Time Zone": the EU rules
// of Central European Time, summer time from the last Sunday of March
// at 02:00 to the last Sunday of October at 03:00 (RFC 5545 §3.6.5).
func customZone(tzid string) string {
	return strings.Replace(outlookBerlin, "TZID:W. Europe Standard Time\r\n", "TZID:"+tzid+"\r\n", 1)
}

// TestVerifyInACustomZone: a time whose TZID names neither an IANA zone,
// a Windows zone, nor an IANA zone behind a path is read by the
// VTIMEZONE of that TZID the object carries: in winter at +01:00, in
// summer at +02:00, a local time the spring change skips with the offset
// before the gap and one the autumn change repeats as its first
// occurrence (RFC 5545 §3.3.5). Read as unknown, the time would be
// compared as written and differ from the record's.
func TestVerifyInACustomZone(t *testing.T) {
	const display = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"
	for _, tt := range []struct {
		name, tzid, param, zone, local string
		start                          time.Time
	}{
		{"winter", "Customized Time Zone", "Customized Time Zone", customZone("Customized Time Zone"), "20260115T100000", time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)},
		{"summer", "Customized Time Zone", "Customized Time Zone", customZone("Customized Time Zone"), "20260710T100000", time.Date(2026, 7, 10, 8, 0, 0, 0, time.UTC)},
		{"in the spring gap", "Customized Time Zone", "Customized Time Zone", customZone("Customized Time Zone"), "20260329T023000", time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		{"after the spring change", "Customized Time Zone", "Customized Time Zone", customZone("Customized Time Zone"), "20260329T030000", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"twice in autumn", "Customized Time Zone", "Customized Time Zone", customZone("Customized Time Zone"), "20261025T023000", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
		{"after the autumn change", "Customized Time Zone", "Customized Time Zone", customZone("Customized Time Zone"), "20261025T030000", time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC)},
		{"a display name, summer", display, `"` + display + `"`, customZone(strings.ReplaceAll(display, ",", `\,`)), "20260710T100000", time.Date(2026, 7, 10, 8, 0, 0, 0, time.UTC)},
		{"a display name, winter", display, `"` + display + `"`, customZone(display), "20261210T100000", time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := holding(t, heldObject(tt.zone, "DTSTART;TZID="+tt.param+":"+tt.local+"\r\nSUMMARY:s\r\n"))
			c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			rec := synclayer.Record{Key: "k", Version: 1, Payload: caldav.Event{Summary: "s", Start: tt.start}}
			conntest.Verify(t, c, rec, drift.InSync)
			moved := rec
			moved.Payload = caldav.Event{Summary: "s", Start: tt.start.Add(time.Hour)}
			conntest.Verify(t, c, moved, drift.Differs, "DTSTART")
		})
	}
}

// TestOwnedStartInACustomZone: with DTSTART owned by the partner, a kept
// start in a zone only the object's VTIMEZONE defines (Outlook's
// "Customized Time Zone") is read through it: the record's end follows
// it by the record's length, the start keeps its TZID as written, the
// VTIMEZONE comes along, and Verify finds the object written in sync.
// Read as unknown, the kept start would give way to the record's,
// overwriting the partner's, and Verify would report drift on the
// unchanged event.
func TestOwnedStartInACustomZone(t *testing.T) {
	const tzid = "Customized Time Zone"
	// The record: 09:00Z to 11:00Z, two hours. The partner moved the
	// event to 15:00 to 16:00 local summer time, 13:00Z to 14:00Z.
	rec := synclayer.Record{Key: "k", Version: 2, Payload: caldav.Event{Summary: "Review",
		Start: time.Date(2026, 7, 10, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 7, 10, 11, 0, 0, 0, time.UTC)}}
	const start = "DTSTART;TZID=" + tzid + ":20260710T150000\r\n"
	held := heldObject(customZone(tzid), start+"DTEND;TZID="+tzid+":20260710T160000\r\nSUMMARY:Review\r\n")
	srv, object := holding(t, held)
	c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", OwnedFields: []string{"DTSTART"}, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	put := object()
	for _, line := range []string{start, "DTEND:20260710T150000Z\r\n", "X-SYNCLAYER-VERSION:2\r\n", "TZID:" + tzid + "\r\n", "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\n"} {
		if !strings.Contains(put, line) {
			t.Errorf("PUT body lacks %q:\n%s", line, put)
		}
	}
	if n := strings.Count(put, "BEGIN:VTIMEZONE"); n != 1 {
		t.Errorf("PUT body holds %d VTIMEZONEs, want 1:\n%s", n, put)
	}
	conntest.Verify(t, c, rec, drift.InSync)
}
