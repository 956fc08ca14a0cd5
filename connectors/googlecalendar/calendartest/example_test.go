package calendartest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
	"github.com/hmsplatform/synclayer/connectors/partner"
)

// A test meets the Calendar API's failures by injecting them: here the
// first insert is refused as over quota, with a Retry-After, as Google
// refuses it. The googlecalendar connector reports a rate limit with the
// hint, for the dispatcher to retry; the push after it goes through. The
// fake's Log shows both requests, the refused one included.
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
	rec := synclayer.Record{Key: "WF-123", Version: 1, Payload: &calendar.Event{
		Summary: "Workflow goes live",
		Start:   &calendar.EventDateTime{Date: "2024-07-01"},
		End:     &calendar.EventDateTime{Date: "2024-07-02"}, // exclusive
	}}
	// The next insert is refused as over quota.
	fake.Inject(calendartest.Fault{Method: http.MethodPost, Code: http.StatusTooManyRequests,
		Reason: "rateLimitExceeded", Header: http.Header{"Retry-After": {"30"}}})
	err = conn.Sync(ctx, rec)
	if ge, ok := errors.AsType[*googlecalendar.Error](err); ok {
		fmt.Println(errors.Is(err, partner.ErrRateLimited), ge.Code, ge.Reasons, ge.RetryAfter)
	}
	fmt.Println("again:", conn.Sync(ctx, rec))
	for _, line := range fake.Log() {
		fmt.Println(line)
	}
	// Output:
	// true 429 [rateLimitExceeded] 30s
	// again: <nil>
	// POST psr1qc6vppnr4re3lgl6ob71cr2a3545pri7ap1pguc3j1n191sg
	// POST psr1qc6vppnr4re3lgl6ob71cr2a3545pri7ap1pguc3j1n191sg
}
