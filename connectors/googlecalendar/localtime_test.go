package googlecalendar_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/drift"
)

// TestDateTimeWithoutOffset pushes events whose dateTime has no UTC
// offset. The API takes one when timeZone names the zone it is in ("A
// time zone offset is required unless a time zone is explicitly
// specified in timeZone", EventDateTime): such an event is written as it
// is, its order checked in that zone, and Verify finds it in sync when
// Google gives it back with the offset. Without a timeZone the time means
// nothing and is refused.
func TestDateTimeWithoutOffset(t *testing.T) {
	local := func(dt, tz string) *calendar.EventDateTime {
		return &calendar.EventDateTime{DateTime: dt, TimeZone: tz}
	}
	ok := []struct {
		name       string
		start, end *calendar.EventDateTime
	}{
		{"both local in Berlin", local("2026-03-10T09:00:00", "Europe/Berlin"), local("2026-03-10T10:00:00", "Europe/Berlin")},
		{"fractional seconds", local("2026-03-10T09:00:00.5", "Europe/Berlin"), local("2026-03-10T10:00:00.250", "Europe/Berlin")},
		// 09:30 in Berlin is 08:30Z, after 08:00Z.
		{"one side with an offset", local("2026-03-10T08:00:00Z", ""), local("2026-03-10T09:30:00", "Europe/Berlin")},
		// 09:00 in New York is 14:00Z, after 10:00 in Berlin (09:00Z).
		{"two zones", local("2026-03-10T10:00:00", "Europe/Berlin"), local("2026-03-10T09:00:00", "America/New_York")},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCalendar(t)
			c := newConnector(t, f)
			rec := synclayer.Record{Key: "WF-1", Version: 1, Payload: &calendar.Event{Summary: "Review", Start: tc.start, End: tc.end}}
			if err := c.Sync(t.Context(), rec); err != nil {
				t.Fatalf("Sync = %v, want success", err)
			}
			ev := only(t, f, "WF-1")
			if ev.Start.DateTime != tc.start.DateTime || ev.Start.TimeZone != tc.start.TimeZone || ev.End.DateTime != tc.end.DateTime || ev.End.TimeZone != tc.end.TimeZone {
				t.Errorf("stored %+v to %+v, want %+v to %+v", ev.Start, ev.End, tc.start, tc.end)
			}
		})
	}

	// Google answers with the offset filled in: still the same instants.
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	rec := synclayer.Record{Key: "WF-2", Version: 1, Payload: &calendar.Event{Summary: "Review",
		Start: local("2026-03-10T09:00:00", "Europe/Berlin"), End: local("2026-03-10T10:00:00", "Europe/Berlin")}}
	conntest.Push(t, c, rec)
	f.Edit(calID, c.EventID("WF-2"), func(ev *calendar.Event) {
		ev.Start.DateTime, ev.End.DateTime = "2026-03-10T09:00:00+01:00", "2026-03-10T10:00:00+01:00"
	})
	conntest.Verify(t, c, rec, drift.InSync)
	f.Edit(calID, c.EventID("WF-2"), func(ev *calendar.Event) { ev.Start.DateTime = "2026-03-10T09:00:00Z" })
	conntest.Verify(t, c, rec, drift.Differs, "start")

	bad := []struct {
		name       string
		start, end *calendar.EventDateTime
		text       string
	}{
		{"no offset, no zone", local("2026-03-10T09:00:00", ""), local("2026-03-10T10:00:00", ""), "no UTC offset and no TimeZone"},
		{"end without either", local("2026-03-10T09:00:00", "Europe/Berlin"), local("2026-03-10T10:00:00", ""), "no UTC offset and no TimeZone"},
		{"end before start in the zone", local("2026-03-10T10:00:00", "Europe/Berlin"), local("2026-03-10T09:00:00", "Europe/Berlin"), "before its Start"},
		{"not a time", local("10 March 2026", "Europe/Berlin"), local("2026-03-10T10:00:00", "Europe/Berlin"), "RFC 3339"},
		{"unknown zone", local("2026-03-10T09:00:00", "Mars/Olympus"), local("2026-03-10T10:00:00", "Europe/Berlin"), "time zone"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCalendar(t)
			c := newConnector(t, f)
			err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: &calendar.Event{Start: tc.start, End: tc.end}})
			if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Sync = %v, want a permanent payload error naming %q", err, tc.text)
			}
			if n := len(f.Log()); n != 0 {
				t.Errorf("%d requests for an invalid payload", n)
			}
		})
	}
}

// TestDateTimeWithoutOffsetAtDSTChange verifies events whose wall-clock
// dateTime falls in a daylight saving change of their timeZone, which
// Google gives back with the offset filled in the RFC 5545 §3.3.5 way
// (java.time's too): a time that occurs twice (autumn overlap) is its
// first occurrence, and a time that never occurs (spring gap) is read with
// the offset before the gap, 02:30 becoming 03:30 after it. Verify finds
// them in sync, and a start an hour off still differs.
func TestDateTimeWithoutOffsetAtDSTChange(t *testing.T) {
	for _, tc := range []struct {
		name, zone, start, end string
		gStart, gEnd           string // as Google returns them
		otherStart             string // the same wall clock at the other offset, or an hour off
	}{
		{"overlap in Berlin", "Europe/Berlin", "2026-10-25T02:30:00", "2026-10-25T02:45:00",
			"2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00", "2026-10-25T02:30:00+01:00"},
		{"gap in New York", "America/New_York", "2026-03-08T02:30:00", "2026-03-08T04:00:00",
			"2026-03-08T03:30:00-04:00", "2026-03-08T04:00:00-04:00", "2026-03-08T02:30:00-04:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCalendar(t)
			c := newConnector(t, f)
			rec := synclayer.Record{Key: "WF-2", Version: 1, Payload: &calendar.Event{Summary: "Review",
				Start: &calendar.EventDateTime{DateTime: tc.start, TimeZone: tc.zone}, End: &calendar.EventDateTime{DateTime: tc.end, TimeZone: tc.zone}}}
			conntest.Push(t, c, rec)
			conntest.Verify(t, c, rec, drift.InSync)
			f.Edit(calID, c.EventID("WF-2"), func(ev *calendar.Event) {
				ev.Start.DateTime, ev.End.DateTime = tc.gStart, tc.gEnd
			})
			conntest.Verify(t, c, rec, drift.InSync)
			f.Edit(calID, c.EventID("WF-2"), func(ev *calendar.Event) { ev.Start.DateTime = tc.otherStart })
			conntest.Verify(t, c, rec, drift.Differs, "start")
		})
	}
}
