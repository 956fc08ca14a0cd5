package googlecalendar_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
)

// Example pushes an all-day event. A stand-in for the Calendar API prints
// the requests the official client sends; in production the service is
// built with the caller's credentials instead.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","status":"confirmed"}`)
	}))
	defer api.Close()

	ctx := context.Background()
	svc, err := calendar.NewService(ctx, option.WithEndpoint(api.URL+"/"), option.WithoutAuthentication())
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: "primary"})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = conn.Sync(ctx, synclayer.Record{
		Key:     "WF-123",
		Version: 1,
		Payload: &calendar.Event{
			Summary: "Workflow WF-123 goes live",
			Start:   &calendar.EventDateTime{Date: "2026-03-10"},
			End:     &calendar.EventDateTime{Date: "2026-03-11"}, // exclusive
		},
	})
	fmt.Println("event id:", conn.EventID("WF-123"))
	fmt.Println("error:", err)
	// Output:
	// POST /calendars/primary/events
	// event id: psr1qc6vppnr4re3lgl6ob71cr2a3545pri7ap1pguc3j1n191sg
	// error: <nil>
}
