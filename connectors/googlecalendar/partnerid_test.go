package googlecalendar_test

import (
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
)

// TestSyncIDReturnsEventID: SyncID returns the id Google holds the key's
// event under, for an insert, an update, a stale push and a delete, and
// "" with the error when the push fails.
func TestSyncIDReturnsEventID(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	key := "WF-9/kickoff"
	syncID := func(version int64, del bool) string {
		t.Helper()
		id, err := c.SyncID(t.Context(), synclayer.Record{Key: key, Version: version, Delete: del, Payload: meetingEvent("Kickoff")})
		if err != nil {
			t.Fatalf("SyncID(v%d delete=%v): %v", version, del, err)
		}
		return id
	}
	inserted := syncID(1, false)
	want := only(t, f, key).Id
	if inserted != want || want != googlecalendar.EventID(googlecalendar.DefaultNamespace, key) {
		t.Fatalf("insert: id %q, Google holds the event under %q", inserted, want)
	}
	for _, step := range []struct {
		name    string
		version int64
		del     bool
	}{{"update", 2, false}, {"stale", 1, false}, {"delete", 3, true}, {"delete again", 4, true}} {
		if got := syncID(step.version, step.del); got != want {
			t.Errorf("%s: id %q, want %q", step.name, got, want)
		}
	}
	if ev, ok := f.Event(calID, want); !ok || ev.Status != "cancelled" {
		t.Errorf("after the delete Google holds %+v (found %v), want the event cancelled", ev, ok)
	}

	f.Inject(calendartest.Fault{Code: 503, Reason: "backendError"})
	id, err := c.SyncID(t.Context(), synclayer.Record{Key: "other", Payload: meetingEvent("x")})
	if err == nil || synclayer.IsPermanent(err) || id != "" {
		t.Errorf("SyncID against a 503 = %q, %v; want \"\" and a retryable error", id, err)
	}
}

// TestDeliveryCarriesEventID: through a Dispatcher, the delivery log keeps
// the Google event id as the partner id, so an operator can open the
// event in the calendar.
func TestDeliveryCarriesEventID(t *testing.T) {
	f, _, d, key := created(t)
	want := only(t, f, key).Id // the id Google holds the event under
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Version: 2, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Fatalf("delete: %v %v", r.Status, r.Err)
	}
	got, err := d.Deliveries(t.Context(), synclayer.DeliveryFilter{Key: key})
	if err != nil || len(got) != 2 {
		t.Fatalf("deliveries of %s = %+v, %v; want two", key, got, err)
	}
	for _, dl := range got {
		if dl.State != synclayer.StatusSynced || dl.PartnerID != want {
			t.Errorf("delivery of event %s: state %v, partner id %q; want synced with the event id %q", dl.EventID, dl.State, dl.PartnerID, want)
		}
	}
}
