package googlecalendar

import (
	"testing"
	"time"
)

// TestInZoneFirstOccurrence reads every wall-clock time the clocks of a
// few zones show in 2026, quarter-hour by quarter-hour (Lord Howe moves
// its clocks by half an hour), back in its zone: inZone gives a moment
// showing that wall clock, and no later than the one it was taken from,
// so a time shown twice is its first occurrence.
func TestInZoneFirstOccurrence(t *testing.T) {
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		for at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); at.Before(end); at = at.Add(15 * time.Minute) {
			shown := at.In(loc)
			wall := time.Date(shown.Year(), shown.Month(), shown.Day(), shown.Hour(), shown.Minute(), 0, 0, time.UTC)
			got := inZone(wall, loc)
			if got.Format(localLayout) != wall.Format(localLayout) || got.After(at) {
				t.Fatalf("%s: inZone(%s) = %s, want that wall clock at %s or earlier", name, wall.Format(localLayout), got.Format(time.RFC3339), shown.Format(time.RFC3339))
			}
		}
	}
}
