package googlecalendar_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

// fakeCalendar is the exported calendartest.Fake on an httptest server.
type fakeCalendar struct {
	*calendartest.Fake
	srv *httptest.Server
}

func newFakeCalendar(t testing.TB) *fakeCalendar {
	f := &fakeCalendar{Fake: calendartest.New()}
	f.srv = httptest.NewServer(f.Fake)
	t.Cleanup(f.srv.Close)
	return f
}

// service returns the official client pointed at the fake.
func (f *fakeCalendar) service(t testing.TB) *calendar.Service {
	svc, err := f.Service(t.Context(), f.srv.URL, f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// byKey returns the events (not cancelled) whose private key is key.
func (f *fakeCalendar) byKey(cal, key string) []calendar.Event {
	var out []calendar.Event
	for _, ev := range f.Events(cal) {
		if ev.Status != "cancelled" && ev.ExtendedProperties != nil && ev.ExtendedProperties.Private[googlecalendar.PropertyKey] == key {
			out = append(out, ev)
		}
	}
	return out
}

// methods lists the request log without ids, for sequence checks.
func methods(log []string) string {
	out := make([]string, len(log))
	for i, l := range log {
		out[i], _, _ = strings.Cut(l, " ")
	}
	return strings.Join(out, " ")
}
