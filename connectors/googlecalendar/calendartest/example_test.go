package calendartest_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

// The googlecalendar connector, through the official client, against the
// fake: a second push of the same key updates the one event.
func Example() {
	fake := calendartest.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	svc, err := fake.Service(ctx, srv.URL, srv.Client())
	if err != nil {
		panic(err)
	}
	conn, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: "ops"})
	if err != nil {
		panic(err)
	}
	for v, day := range [][2]string{{"2024-07-01", "2024-07-02"}, {"2024-08-01", "2024-08-02"}} {
		err := conn.Sync(ctx, synclayer.Record{Key: "WF-123", Version: int64(v + 1), Payload: &calendar.Event{
			Summary: "Workflow goes live",
			Start:   &calendar.EventDateTime{Date: day[0]},
			End:     &calendar.EventDateTime{Date: day[1]}, // exclusive
		}})
		if err != nil {
			panic(err)
		}
	}
	for _, ev := range fake.Events("ops") {
		fmt.Println(ev.Status, ev.Start.Date, ev.ExtendedProperties.Private[googlecalendar.PropertyKey])
	}
	// Output: confirmed 2024-08-01 WF-123
}
