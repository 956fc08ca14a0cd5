package wallclock

import (
	"testing"
	"time"
)

const layout = "2006-01-02T15:04"

// Every local time the clocks of a few zones show in 2026, quarter-hour by
// quarter-hour (Lord Howe moves its clocks by half an hour), read back in
// its zone: In gives an instant showing that local time, and no later than
// the one it was taken from, so a time shown twice is its first
// occurrence.
func TestInFirstOccurrence(t *testing.T) {
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		for at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); at.Before(end); at = at.Add(15 * time.Minute) {
			shown := at.In(loc)
			wall := time.Date(shown.Year(), shown.Month(), shown.Day(), shown.Hour(), shown.Minute(), 0, 0, time.UTC)
			got := In(wall, loc)
			if got.Format(layout) != wall.Format(layout) || got.After(at) {
				t.Fatalf("%s: In(%s) = %s, want that local time at %s or earlier", name, wall.Format(layout), got.Format(time.RFC3339), shown.Format(time.RFC3339))
			}
		}
	}
}

// The times a change repeats or skips, in both hemispheres' senses.
func TestInAtChanges(t *testing.T) {
	for _, tc := range []struct{ zone, wall, want string }{
		{"Europe/Berlin", "2026-10-25T02:30", "2026-10-25T00:30:00Z"},    // twice: the first
		{"Europe/Berlin", "2026-03-29T02:30", "2026-03-29T01:30:00Z"},    // skipped: offset before
		{"America/New_York", "2026-11-01T01:30", "2026-11-01T05:30:00Z"}, // twice: the first
		{"America/New_York", "2026-03-08T02:30", "2026-03-08T07:30:00Z"}, // skipped: offset before
		{"Asia/Kolkata", "2026-07-01T12:00", "2026-07-01T06:30:00Z"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		wall, err := time.Parse(layout, tc.wall)
		if err != nil {
			t.Fatal(err)
		}
		if got := In(wall, loc).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("%s %s = %s, want %s", tc.zone, tc.wall, got, tc.want)
		}
	}
}
