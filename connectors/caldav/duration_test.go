package caldav_test

import (
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/drift"
)

// TestVerifyDurationInDaysIsNominal: a DURATION in days or weeks is
// nominal, the same local time that many days later, and one in hours,
// minutes and seconds exact (RFC 5545 §3.3.6). An event held from 10:00
// Saturday 28 March 2026 in Berlin with DURATION:P1D ends 10:00 Sunday,
// after the clocks went forward: 23 hours later, which is the record's
// end. Read as 24 hours, Verify would report drift in DTEND on an
// unchanged event. The autumn change makes a day 25 hours.
func TestVerifyDurationInDaysIsNominal(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	record := func(start, end time.Time) synclayer.Record {
		return synclayer.Record{Key: "k", Version: 1, Payload: caldav.Event{Summary: "s", Start: start, End: end}}
	}
	spring := time.Date(2026, 3, 28, 10, 0, 0, 0, berlin)  // 09:00Z
	autumn := time.Date(2026, 10, 24, 10, 0, 0, 0, berlin) // 08:00Z
	for _, tt := range []struct {
		name, times string
		rec         synclayer.Record
		kind        drift.Kind
		fields      []string
	}{
		{"P1D into summer time", "DTSTART;TZID=Europe/Berlin:20260328T100000\r\nDURATION:P1D\r\n",
			record(spring, time.Date(2026, 3, 29, 10, 0, 0, 0, berlin)), drift.InSync, nil},
		{"P1D out of summer time", "DTSTART;TZID=Europe/Berlin:20261024T100000\r\nDURATION:P1D\r\n",
			record(autumn, time.Date(2026, 10, 25, 10, 0, 0, 0, berlin)), drift.InSync, nil},
		{"P1W over the change", "DTSTART;TZID=Europe/Berlin:20260325T100000\r\nDURATION:P1W\r\n",
			record(time.Date(2026, 3, 25, 10, 0, 0, 0, berlin), time.Date(2026, 4, 1, 10, 0, 0, 0, berlin)), drift.InSync, nil},
		{"P1DT1H: the day nominal, the hour exact", "DTSTART;TZID=Europe/Berlin:20260328T100000\r\nDURATION:P1DT1H\r\n",
			record(spring, time.Date(2026, 3, 29, 11, 0, 0, 0, berlin)), drift.InSync, nil},
		{"PT24H is exact", "DTSTART;TZID=Europe/Berlin:20260328T100000\r\nDURATION:PT24H\r\n",
			record(spring, time.Date(2026, 3, 29, 11, 0, 0, 0, berlin)), drift.InSync, nil},
		{"PT24H is not a day", "DTSTART;TZID=Europe/Berlin:20260328T100000\r\nDURATION:PT24H\r\n",
			record(spring, time.Date(2026, 3, 29, 10, 0, 0, 0, berlin)), drift.Differs, []string{"DTEND"}},
		{"P1D in a Windows zone", "DTSTART;TZID=W. Europe Standard Time:20260328T100000\r\nDURATION:P1D\r\n",
			record(spring, time.Date(2026, 3, 29, 10, 0, 0, 0, berlin)), drift.InSync, nil},
		{"P1D in UTC is 24 hours", "DTSTART:20260328T090000Z\r\nDURATION:P1D\r\n",
			record(spring, spring.Add(24*time.Hour)), drift.InSync, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := holding(t, heldObject(vtimezone("Europe/Berlin", "+0100"), tt.times+"SUMMARY:s\r\n"))
			c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			conntest.Verify(t, c, tt.rec, tt.kind, tt.fields...)
		})
	}
}
