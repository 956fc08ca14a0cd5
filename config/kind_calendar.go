package config

import (
	"fmt"
	"time"
)

// calendarFields are the record fields of the calendar kinds.
var calendarFields = []Field{
	{Name: "summary", Type: String, Required: true, Doc: "the event's title"},
	{Name: "description", Type: String, Doc: "the event's description"},
	{Name: "location", Type: String, Doc: "where it takes place"},
	{Name: "start", Type: Timestamp, Required: true, Doc: `when it starts: date("2024-07-01"), timestamp("2024-07-01T09:00:00Z") or event.time`},
	{Name: "end", Type: Timestamp, Doc: "when it ends, exclusive (default: the day after start for an all-day event, start otherwise)"},
	{Name: "allDay", Type: Bool, Doc: "an all-day event: start and end are taken as dates (in UTC)"},
}

// conflictErrors is the problem of a calendar kind's maxConflicts
// setting, how often a write that meets a concurrent change is tried:
// none, or that it is negative.
func conflictErrors(maxConflicts int) []FieldError {
	if maxConflicts < 0 {
		return []FieldError{{"maxConflicts", "must not be negative"}}
	}
	return nil
}

// calendarEvent is a calendar record as the calendar kinds read it.
type calendarEvent struct {
	summary, description, location string
	start, end                     time.Time
	allDay                         bool
}

func readCalendarEvent(r RecordValue) (calendarEvent, error) {
	ev := calendarEvent{summary: r.String("summary"), description: r.String("description"), location: r.String("location")}
	start, _ := r.Get("start")
	ev.start, _ = start.(time.Time)
	if end, ok := r.Get("end"); ok {
		ev.end, _ = end.(time.Time)
	}
	if all, ok := r.Get("allDay"); ok {
		ev.allDay, _ = all.(bool)
	}
	if ev.allDay {
		ev.start = ev.start.UTC()
		if ev.end.IsZero() {
			ev.end = ev.start.AddDate(0, 0, 1)
		}
		ev.end = ev.end.UTC()
		if !dateOf(ev.end).After(dateOf(ev.start)) {
			return ev, fmt.Errorf("an all-day event's end (%s) must be a later date than its start (%s)", ev.end.Format(time.DateOnly), ev.start.Format(time.DateOnly))
		}
	} else if !ev.end.IsZero() && ev.end.Before(ev.start) {
		return ev, fmt.Errorf("end %s is before start %s", ev.end.Format(time.RFC3339), ev.start.Format(time.RFC3339))
	}
	return ev, nil
}

func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
