package googlecalendar_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

// ExampleConnector_Verify finds an event someone moved and annotated in
// Google Calendar, and repairs it, keeping the notes: the connector
// leaves the description to the calendar's users (Config.OwnedFields).
// The in-memory calendartest fake stands in for the Calendar API.
func ExampleConnector_Verify() {
	fake := calendartest.New()
	api := httptest.NewServer(fake)
	defer api.Close()
	ctx := context.Background()
	svc, err := fake.Service(ctx, api.URL, api.Client())
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: "primary", OwnedFields: []string{"description"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := synclayer.Record{Key: "WF-123", Version: 1, Payload: &calendar.Event{
		Summary: "Go live",
		Start:   &calendar.EventDateTime{DateTime: "2026-03-10T09:00:00Z"},
		End:     &calendar.EventDateTime{DateTime: "2026-03-10T10:00:00Z"},
	}}
	if err := conn.Sync(ctx, rec); err != nil {
		fmt.Println(err)
		return
	}
	// In Google Calendar: an hour later, and a note.
	fake.Edit("primary", conn.EventID(rec.Key), func(ev *calendar.Event) {
		ev.Start.DateTime, ev.End.DateTime = "2026-03-10T11:00:00+01:00", "2026-03-10T12:00:00+01:00"
		ev.Description = "Bring the permits."
	})

	v, err := conn.Verify(ctx, rec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Kind, v.Fields)
	fmt.Println("repair:", conn.Repair(ctx, rec, v))
	ev, _ := fake.Event("primary", conn.EventID(rec.Key))
	fmt.Println(ev.Start.DateTime, ev.Description)
	// Output:
	// differs [end start]
	// repair: <nil>
	// 2026-03-10T09:00:00Z Bring the permits.
}
