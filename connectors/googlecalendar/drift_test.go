package googlecalendar_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/drift"
	sloption "github.com/hmsplatform/synclayer/internal/option"
)

// review is the record the drift tests push: 09:00-10:00 UTC, written
// in Berlin time, with two attendees.
func review(key string, version int64) synclayer.Record {
	return synclayer.Record{Key: key, Version: version, Payload: &calendar.Event{
		Summary:     "Design review",
		Description: "Agenda:\nscope\nrisks",
		Location:    "Room 4",
		Start:       &calendar.EventDateTime{DateTime: "2026-03-10T10:00:00+01:00", TimeZone: "Europe/Berlin"},
		End:         &calendar.EventDateTime{DateTime: "2026-03-10T11:00:00+01:00", TimeZone: "Europe/Berlin"},
		Attendees:   []*calendar.EventAttendee{{Email: "ana@example.org"}, {Email: "bo@example.org", Optional: true}},
	}}
}

// pushed makes a fake calendar and a connector to it, and pushes
// review(key, version) through the connector.
func pushed(t *testing.T, key string, version int64) (*fakeCalendar, *googlecalendar.Connector, synclayer.Record) {
	t.Helper()
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	rec := review(key, version)
	conntest.Push(t, c, rec)
	return f, c, rec
}

// stored returns the event of key as the fake holds it.
func stored(t *testing.T, f *fakeCalendar, c *googlecalendar.Connector, key string) calendar.Event {
	t.Helper()
	ev, ok := f.Event(calID, c.EventID(key))
	if !ok {
		t.Fatalf("no event for %s", key)
	}
	return ev
}

func TestVerifyInSync(t *testing.T) {
	f, c, rec := pushed(t, "WF-1", 1)
	f.ResetLog()
	v := conntest.Verify(t, c, rec, drift.InSync)
	if got := methods(f.Log()); got != "GET" {
		t.Errorf("Verify sent %s, want one GET", got)
	}
	if ev := stored(t, f, c, rec.Key); v.ETag == "" || v.ETag != ev.Etag {
		t.Errorf("Verdict.ETag %q, the event's is %q", v.ETag, ev.Etag)
	}
	conntest.Verify(t, c, synclayer.Record{Key: "WF-never", Delete: true}, drift.InSync)
	allDay := synclayer.Record{Key: "WF-day", Payload: meetingEvent("Go live")}
	conntest.Push(t, c, allDay)
	conntest.Verify(t, c, allDay, drift.InSync)
}

func TestVerifyEditedAndRepaired(t *testing.T) {
	f, c, rec := pushed(t, "WF-2", 2)
	f.Edit(calID, c.EventID(rec.Key), func(ev *calendar.Event) {
		ev.Summary = "Design review (moved)"
		ev.Start = &calendar.EventDateTime{DateTime: "2026-03-10T10:00:00Z"} // an hour later
		ev.Location = ""
		ev.ColorId = "5"
		ev.Attendees = ev.Attendees[:1]
		ev.ExtendedProperties.Private[googlecalendar.PropertyVersion] = "1"
		ev.Sequence++ // Google's bookkeeping: not drift
	})
	v := conntest.Verify(t, c, rec, drift.Differs, "attendees", "colorId", "extendedProperties.private.synclayerVersion", "location", "start", "summary")
	conntest.Repair(t, c, rec, v)
	ev := stored(t, f, c, rec.Key)
	if ev.Summary != "Design review" || ev.Location != "Room 4" || ev.ColorId != "" || len(ev.Attendees) != 2 || ev.Start.DateTime != "2026-03-10T10:00:00+01:00" {
		t.Errorf("after Repair: %+v", ev)
	}
	conntest.Verify(t, c, rec, drift.InSync)
}

func TestVerifyDeletedAndRepaired(t *testing.T) {
	for _, how := range []string{"cancelled", "purged"} {
		t.Run(how, func(t *testing.T) {
			f, c, rec := pushed(t, "WF-3", 1)
			id := c.EventID(rec.Key)
			if how == "cancelled" {
				f.Edit(calID, id, func(ev *calendar.Event) { ev.Status = "cancelled" })
			} else {
				f.Remove(calID, id)
			}
			v := conntest.Verify(t, c, rec, drift.Missing)
			conntest.Repair(t, c, rec, v)
			if ev := stored(t, f, c, rec.Key); ev.Status != "confirmed" || ev.Summary != "Design review" {
				t.Errorf("after Repair: status %q, summary %q", ev.Status, ev.Summary)
			}
			conntest.Verify(t, c, rec, drift.InSync)
		})
	}
}

func TestVerifyAddedAndRepaired(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	gone := synclayer.Record{Key: "WF-4", Version: 2, Delete: true}
	conntest.Verify(t, c, gone, drift.InSync)
	// Someone puts the event back by hand.
	f.Put(calID, calendar.Event{Id: c.EventID(gone.Key), Summary: "restored", Start: &calendar.EventDateTime{Date: "2026-03-10"}, End: &calendar.EventDateTime{Date: "2026-03-11"},
		ExtendedProperties: &calendar.EventExtendedProperties{Private: map[string]string{googlecalendar.PropertyKey: gone.Key}}})
	v := conntest.Verify(t, c, gone, drift.Unexpected)
	if v.ETag == "" {
		t.Error("an Unexpected verdict has no ETag")
	}
	conntest.Repair(t, c, gone, v)
	if ev := stored(t, f, c, gone.Key); ev.Status != "cancelled" {
		t.Errorf("after Repair the event is %q", ev.Status)
	}
	conntest.Verify(t, c, gone, drift.InSync)
}

// TestVerifyNormalised stores the event as Google returns it: times in
// another offset, addresses in other case, Google's own fields and
// defaults. It is the same event.
func TestVerifyNormalised(t *testing.T) {
	f, c, rec := pushed(t, "WF-5", 1)
	yes := true
	f.Edit(calID, c.EventID(rec.Key), func(ev *calendar.Event) {
		ev.Start = &calendar.EventDateTime{DateTime: "2026-03-10T09:00:00Z", TimeZone: "UTC"}
		ev.End = &calendar.EventDateTime{DateTime: "2026-03-10T04:00:00-06:00"}
		ev.Description = "Agenda:\r\nscope\r\nrisks"
		ev.Attendees = []*calendar.EventAttendee{
			{Email: "Bo@Example.org", Optional: true, ResponseStatus: "accepted", DisplayName: "Bo"},
			{Email: "ana@example.org", ResponseStatus: "needsAction"},
		}
		ev.Kind, ev.HtmlLink, ev.ICalUID, ev.Sequence = "calendar#event", "https://calendar.google.com/x", "x@google.com", 3
		ev.Created, ev.Updated, ev.EventType = "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "default"
		ev.Creator = &calendar.EventCreator{Email: "svc@example.org"}
		ev.Organizer = &calendar.EventOrganizer{Email: "team@group.calendar.google.com", Self: true}
		ev.Reminders = &calendar.EventReminders{UseDefault: true}
		ev.Transparency, ev.Visibility, ev.GuestsCanInviteOthers = "opaque", "default", &yes
		ev.ConferenceData = &calendar.ConferenceData{ConferenceId: "abc-defg-hij"} // Meet added by Google
	})
	conntest.Verify(t, c, rec, drift.InSync)
	f.Edit(calID, c.EventID(rec.Key), func(ev *calendar.Event) {
		ev.Attendees[0].Optional = false
		ev.Reminders = &calendar.EventReminders{Overrides: []*calendar.EventReminder{{Method: "popup", Minutes: 5}}}
		ev.End.DateTime = "2026-03-10T04:30:00-06:00"
	})
	conntest.Verify(t, c, rec, drift.Differs, "attendees", "end", "reminders")
}

func TestVerifyOwnedFields(t *testing.T) {
	f := newFakeCalendar(t)
	plain := newConnector(t, f)
	c, err := googlecalendar.New(googlecalendar.Config{Service: f.service(t), CalendarID: calID,
		OwnedFields: []string{"Description", "extendedProperties.shared.agencyRef"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := review("WF-6", 1)
	conntest.Push(t, c, rec)
	const notes = "Agency notes: bring the permits."
	f.Edit(calID, c.EventID(rec.Key), func(ev *calendar.Event) {
		ev.Description = notes
		ev.ExtendedProperties.Shared = map[string]string{"agencyRef": "AG-77"}
	})
	v := conntest.Verify(t, c, rec, drift.InSync)
	conntest.Repair(t, c, rec, v)
	conntest.Verify(t, plain, rec, drift.Differs, "description", "extendedProperties.shared.agencyRef")

	f.Edit(calID, c.EventID(rec.Key), func(ev *calendar.Event) { ev.Summary = "renamed" })
	v = conntest.Verify(t, c, rec, drift.Differs, "summary")
	conntest.Repair(t, c, rec, v)
	ev := stored(t, f, c, rec.Key)
	if ev.Summary != "Design review" || ev.Description != notes || ev.ExtendedProperties.Shared["agencyRef"] != "AG-77" {
		t.Errorf("after Repair: summary %q, description %q, shared %v", ev.Summary, ev.Description, ev.ExtendedProperties.Shared)
	}
	// A later update by Sync keeps them too.
	next := review(rec.Key, 2)
	next.Payload.(*calendar.Event).Summary = "Design review 2"
	conntest.Push(t, c, next)
	ev = stored(t, f, c, rec.Key)
	if ev.Summary != "Design review 2" || ev.Description != notes || ev.ExtendedProperties.Shared["agencyRef"] != "AG-77" {
		t.Errorf("after Sync: summary %q, description %q, shared %v", ev.Summary, ev.Description, ev.ExtendedProperties.Shared)
	}
	conntest.Verify(t, c, next, drift.InSync)
}

func TestRepairConflict(t *testing.T) {
	f, c, rec := pushed(t, "WF-7", 1)
	id := c.EventID(rec.Key)
	f.Edit(calID, id, func(ev *calendar.Event) { ev.Summary = "first edit" })
	v := conntest.Verify(t, c, rec, drift.Differs, "summary")
	f.Edit(calID, id, func(ev *calendar.Event) { ev.Summary = "second edit" })
	err := c.Repair(t.Context(), rec, v)
	if !errors.Is(err, drift.ErrConflict) || !errors.Is(err, partner.ErrConflict) || !strings.Contains(err.Error(), "412") {
		t.Fatalf("Repair over a newer edit: %v, want drift.ErrConflict", err)
	}
	if ev := stored(t, f, c, rec.Key); ev.Summary != "second edit" {
		t.Errorf("summary %q: the Repair overwrote the later edit", ev.Summary)
	}
	v = conntest.Verify(t, c, rec, drift.Differs, "summary")
	conntest.Repair(t, c, rec, v)
	conntest.Verify(t, c, rec, drift.InSync)

	// Purged, then made again by hand before the repair.
	f.Remove(calID, id)
	v = conntest.Verify(t, c, rec, drift.Missing)
	f.Put(calID, calendar.Event{Id: id, Summary: "made by hand", Start: &calendar.EventDateTime{Date: "2026-03-10"}, End: &calendar.EventDateTime{Date: "2026-03-11"}})
	if err := c.Repair(t.Context(), rec, v); !errors.Is(err, drift.ErrConflict) {
		t.Fatalf("Repair of a Missing verdict over a new event: %v, want drift.ErrConflict", err)
	}
	if ev := stored(t, f, c, rec.Key); ev.Summary != "made by hand" {
		t.Errorf("summary %q: the Repair overwrote the new event", ev.Summary)
	}

	// Deleted by hand between the check and the repair of an unexpected event.
	gone := synclayer.Record{Key: rec.Key, Version: 3, Delete: true}
	v = conntest.Verify(t, c, gone, drift.Unexpected)
	f.Edit(calID, id, nil)
	if err := c.Repair(t.Context(), gone, v); !errors.Is(err, drift.ErrConflict) {
		t.Fatalf("Repair (delete) over a newer edit: %v, want drift.ErrConflict", err)
	}
	if ev := stored(t, f, c, rec.Key); ev.Status == "cancelled" {
		t.Error("the Repair deleted an event edited after the check")
	}
}

func TestVerifyNewerVersion(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	conntest.Push(t, c, review("WF-9", 5))
	old := review("WF-9", 3)
	old.Payload.(*calendar.Event).Summary = "old title"
	conntest.Verify(t, c, old, drift.InSync)
	conntest.Verify(t, c, synclayer.Record{Key: "WF-9", Version: 4, Delete: true}, drift.InSync)
	conntest.Verify(t, c, synclayer.Record{Key: "WF-9", Version: 6, Delete: true}, drift.Unexpected)
}

func TestVerifyErrors(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	f.Put(calID, calendar.Event{Id: c.EventID("WF-1"), Start: &calendar.EventDateTime{Date: "2026-03-10"}, End: &calendar.EventDateTime{Date: "2026-03-11"},
		ExtendedProperties: &calendar.EventExtendedProperties{Private: map[string]string{googlecalendar.PropertyKey: "someone-else"}}})
	if _, err := c.Verify(t.Context(), review("WF-1", 1)); !errors.Is(err, partner.ErrKeyMismatch) || !synclayer.IsPermanent(err) {
		t.Errorf("event of another key: %v", err)
	}
	if _, err := c.Verify(t.Context(), synclayer.Record{Key: "WF-2", Payload: "text"}); !errors.Is(err, partner.ErrPayload) {
		t.Errorf("string payload: %v", err)
	}
	if err := c.Repair(t.Context(), review("WF-2", 1), drift.Verdict{Kind: drift.Differs}); err == nil || !synclayer.IsPermanent(err) {
		t.Errorf("Repair without the event read: %v", err)
	}
}

func TestOwnedFieldsValidation(t *testing.T) {
	f := newFakeCalendar(t)
	for _, name := range []string{"id", "status", "extendedProperties", "extendedProperties.private.synclayerKey",
		"extendedProperties.private.synclayerVersion", "extendedProperties.public.x", "extendedProperties.shared.", "notes"} {
		_, err := googlecalendar.New(googlecalendar.Config{Service: f.service(t), CalendarID: calID, OwnedFields: []string{name}})
		if !errors.Is(err, sloption.ErrInvalid) || !strings.Contains(err.Error(), "OwnedFields") {
			t.Errorf("OwnedFields %q: %v", name, err)
		}
	}
}
