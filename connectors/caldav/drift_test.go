package caldav_test

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/drift"
	"github.com/hmsplatform/synclayer/internal/caldavtest"
)

// kickoff is the record the drift tests push: 09:00-10:00 UTC.
func kickoff(key string, version int64) synclayer.Record {
	return synclayer.Record{Key: key, Version: version, Payload: caldav.Event{
		Summary:     "Kick-off, room 4",
		Description: strings.Repeat("Agenda: scope, risks, owners; ", 6) + "close.",
		Location:    "Room 4",
		Start:       time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC),
		End:         time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC),
	}}
}

// handEdit changes key's stored VEVENT as a calendar client would: it
// reads the object, lets fn edit the event, and PUTs it back without a
// precondition.
func (e *env) handEdit(t *testing.T, key string, fn func(ev *ical.Component)) {
	t.Helper()
	url := e.conn.ObjectURL(key)
	body, _, status := e.srv.Get(t, url)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", key, status)
	}
	cal, err := ical.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	fn(cal.Events()[0].Component)
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		t.Fatal(err)
	}
	e.srv.Put(t, url, buf.String())
}

// repaired returns key's event after a Repair, which must hold one, with
// kickoff's SUMMARY.
func (e *env) repaired(t *testing.T, key string) *ical.Event {
	t.Helper()
	ev, _, ok := e.object(t, key)
	if !ok {
		t.Fatal("no object after Repair")
	}
	if got := text(t, ev, ical.PropSummary); got != "Kick-off, room 4" {
		t.Errorf("SUMMARY after Repair = %q", got)
	}
	return ev
}

// handDelete deletes key's object without a precondition.
func (e *env) handDelete(t *testing.T, key string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, e.conn.ObjectURL(key), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE %s: %s", key, resp.Status)
	}
}

func TestDrift(t *testing.T) {
	onServers(t, []serverTest{
		{"InSync", onEnv(testVerifyInSync)},
		{"EditedAndRepaired", onEnv(testEditedAndRepaired)},
		{"DeletedAndRepaired", onEnv(testDeletedAndRepaired)},
		{"AddedAndRepaired", onEnv(testAddedAndRepaired)},
		{"Normalised", onEnv(testVerifyNormalised)},
		{"OwnedFields", testOwnedFields},
		{"ConcurrentEditDuringRepair", onEnv(testRepairConflict)},
		{"ConcurrentCreateDuringRepair", onEnv(testRepairCreateConflict)},
		{"NewerVersion", onEnv(testVerifyNewerVersion)},
	})
}

func testVerifyInSync(t *testing.T, e *env) {
	rec := kickoff("WF-1", 1)
	conntest.Push(t, e.conn, rec)
	e.tr.log.Reset()
	v := conntest.Verify(t, e.conn, rec, drift.InSync)
	if got := e.tr.log.Lines(); !slices.Equal(got, []string{"GET 200"}) {
		t.Errorf("Verify sent %q, want one GET", got)
	}
	if _, etag, _ := e.srv.Get(t, e.conn.ObjectURL(rec.Key)); v.ETag == "" || v.ETag != etag {
		t.Errorf("Verdict.ETag %q, the server's is %q", v.ETag, etag)
	}
	conntest.Verify(t, e.conn, synclayer.Record{Key: "WF-never", Delete: true}, drift.InSync)
	// An all-day event, whose dates are stored as dates.
	day := synclayer.Record{Key: "WF-day", Version: 1, Payload: caldav.Event{Summary: "Go live", Start: time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC), AllDay: true}}
	conntest.Push(t, e.conn, day)
	conntest.Verify(t, e.conn, day, drift.InSync)
}

func testEditedAndRepaired(t *testing.T, e *env) {
	rec := kickoff("WF-2", 2)
	conntest.Push(t, e.conn, rec)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	e.handEdit(t, rec.Key, func(ev *ical.Component) {
		ev.Props.SetText(ical.PropSummary, "Kick-off (moved)")
		// An hour later, written in Berlin time: 11:00 CET is 10:00 UTC.
		ev.Props.SetDateTime(ical.PropDateTimeStart, time.Date(2026, 3, 10, 11, 0, 0, 0, berlin))
		ev.Props.SetDateTime(ical.PropDateTimeEnd, time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC))
		ev.Props.Del(ical.PropLocation)
		ev.Props.SetText(ical.PropStatus, "CANCELLED")
		ev.Props.SetText(ical.PropSequence, "1") // what the client bumps: not drift
	})
	v := conntest.Verify(t, e.conn, rec, drift.Differs, "DTEND", "DTSTART", "LOCATION", "STATUS", "SUMMARY")
	conntest.Repair(t, e.conn, rec, v)
	ev := e.repaired(t, rec.Key)
	if got := text(t, ev, ical.PropLocation); got != "Room 4" {
		t.Errorf("LOCATION after Repair = %q", got)
	}
	if start, err := ev.DateTimeStart(time.UTC); err != nil || !start.Equal(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("DTSTART after Repair = %v, %v", start, err)
	}
	if ev.Props.Get(ical.PropStatus) != nil {
		t.Errorf("STATUS survived the Repair")
	}
	conntest.Verify(t, e.conn, rec, drift.InSync)
}

func testDeletedAndRepaired(t *testing.T, e *env) {
	rec := kickoff("WF-3", 1)
	conntest.Push(t, e.conn, rec)
	e.handDelete(t, rec.Key)
	v := conntest.Verify(t, e.conn, rec, drift.Missing)
	if v.ETag != "" {
		t.Errorf("a Missing verdict has ETag %q", v.ETag)
	}
	conntest.Repair(t, e.conn, rec, v)
	e.repaired(t, rec.Key)
	conntest.Verify(t, e.conn, rec, drift.InSync)
}

func testAddedAndRepaired(t *testing.T, e *env) {
	// The record was deleted; someone put an event back by hand.
	rec := kickoff("WF-4", 3)
	conntest.Push(t, e.conn, rec)
	gone := synclayer.Record{Key: rec.Key, Version: 4, Delete: true}
	conntest.Push(t, e.conn, gone)
	conntest.Verify(t, e.conn, gone, drift.InSync)
	body, err := caldav.New(caldav.Config{CollectionURL: e.cal, HTTPClient: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	conntest.Push(t, body, kickoff(rec.Key, 0)) // an unversioned write, as a restore would
	v := conntest.Verify(t, e.conn, gone, drift.Unexpected)
	if v.ETag == "" {
		t.Error("an Unexpected verdict has no ETag")
	}
	conntest.Repair(t, e.conn, gone, v)
	if _, _, ok := e.object(t, rec.Key); ok {
		t.Fatal("Repair left the object")
	}
	conntest.Verify(t, e.conn, gone, drift.InSync)
}

// berlinTZ defines Europe/Berlin for objects that use it.
const berlinTZ = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n" +
	"END:VTIMEZONE\r\n"

// testVerifyNormalised stores, as another client would write it, the
// event Sync writes for kickoff: lower-case names, Berlin time, a
// DURATION, other line folding, the client's own properties and an
// alarm. It is the same event.
func testVerifyNormalised(t *testing.T, e *env) {
	rec := kickoff("WF-5", 1)
	ev := rec.Payload.(caldav.Event)
	desc := strings.ReplaceAll(strings.ReplaceAll(ev.Description, ",", `\,`), ";", `\;`)
	var folded strings.Builder
	for i := 0; i < len(desc); i += 30 {
		if i > 0 {
			folded.WriteString("\r\n\t")
		}
		folded.WriteString(desc[i:min(i+30, len(desc))])
	}
	obj := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other//Client 9//EN\r\n" + berlinTZ +
		"BEGIN:VEVENT\r\n" +
		"uid:" + caldav.UID(caldav.DefaultNamespace, rec.Key) + "\r\n" +
		"dtstamp:20260305T101010Z\r\ncreated:20260305T101010Z\r\nlast-modified:20260305T101010Z\r\nsequence:4\r\n" +
		"dtstart;tzid=Europe/Berlin:20260310T100000\r\n" +
		"duration:PT1H\r\n" +
		"summary:Kick-off\\, room 4\r\n" +
		"Description:" + folded.String() + "\r\n" +
		"location:Room 4\r\n" +
		"transp:OPAQUE\r\n" +
		"X-MOZ-GENERATION:3\r\n" +
		"x-synclayer-key:" + rec.Key + "\r\n" +
		"x-synclayer-version:1\r\n" +
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:soon\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n"
	e.srv.Put(t, e.conn.ObjectURL(rec.Key), obj)
	conntest.Verify(t, e.conn, rec, drift.InSync)
	// The same object with another summary differs in it alone.
	e.srv.Put(t, e.conn.ObjectURL(rec.Key), strings.Replace(obj, "summary:Kick-off\\, room 4", "SUMMARY:Kick-off\\, room 5", 1))
	conntest.Verify(t, e.conn, rec, drift.Differs, "SUMMARY")
}

func testOwnedFields(t *testing.T, srv *caldavtest.Server) {
	e := newEnv(t, srv)
	owned, err := caldav.New(caldav.Config{CollectionURL: e.cal, HTTPClient: srv.Client(), OwnedFields: []string{"description", "Categories"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := kickoff("WF-6", 1)
	conntest.Push(t, owned, rec)
	const notes = "Agency notes: bring the permits."
	e.handEdit(t, rec.Key, func(ev *ical.Component) {
		ev.Props.SetText(ical.PropDescription, notes)
		ev.Props.SetText(ical.PropCategories, "AGENCY")
	})
	v := conntest.Verify(t, owned, rec, drift.InSync)
	if err := owned.Repair(t.Context(), rec, v); err != nil {
		t.Fatalf("Repair of an in-sync verdict: %v", err)
	}
	// The connector without owned fields sees the edit.
	conntest.Verify(t, e.conn, rec, drift.Differs, "CATEGORIES", "DESCRIPTION")

	e.handEdit(t, rec.Key, func(ev *ical.Component) { ev.Props.SetText(ical.PropSummary, "renamed") })
	v = conntest.Verify(t, owned, rec, drift.Differs, "SUMMARY")
	conntest.Repair(t, owned, rec, v)
	ev := e.repaired(t, rec.Key)
	if got := text(t, ev, ical.PropDescription); got != notes {
		t.Errorf("DESCRIPTION after Repair = %q, want the partner's %q", got, notes)
	}
	if got := text(t, ev, ical.PropCategories); got != "AGENCY" {
		t.Errorf("CATEGORIES after Repair = %q, want the partner's", got)
	}
	// A later update by Sync keeps them too.
	next := kickoff(rec.Key, 2)
	p := next.Payload.(caldav.Event)
	p.Summary = "Kick-off, room 7"
	next.Payload = p
	conntest.Push(t, owned, next)
	ev, _, _ = e.object(t, rec.Key)
	if got := text(t, ev, ical.PropSummary); got != "Kick-off, room 7" {
		t.Errorf("SUMMARY after Sync = %q", got)
	}
	if got := text(t, ev, ical.PropDescription); got != notes {
		t.Errorf("DESCRIPTION after Sync = %q, want the partner's %q", got, notes)
	}
	conntest.Verify(t, owned, next, drift.InSync)
}

func testRepairConflict(t *testing.T, e *env) {
	rec := kickoff("WF-7", 1)
	conntest.Push(t, e.conn, rec)
	e.handEdit(t, rec.Key, func(ev *ical.Component) { ev.Props.SetText(ical.PropSummary, "first edit") })
	v := conntest.Verify(t, e.conn, rec, drift.Differs, "SUMMARY")
	// Someone edits again between the check and the repair.
	e.handEdit(t, rec.Key, func(ev *ical.Component) { ev.Props.SetText(ical.PropSummary, "second edit") })
	err := e.conn.Repair(t.Context(), rec, v)
	if !errors.Is(err, drift.ErrConflict) || !errors.Is(err, partner.ErrConflict) {
		t.Fatalf("Repair over a newer edit: %v, want drift.ErrConflict", err)
	}
	if !strings.Contains(err.Error(), "412") || !strings.Contains(err.Error(), `"WF-7"`) {
		t.Errorf("error %q names neither the status nor the key", err)
	}
	ev, _, _ := e.object(t, rec.Key)
	if got := text(t, ev, ical.PropSummary); got != "second edit" {
		t.Errorf("SUMMARY = %q: the Repair overwrote the later edit", got)
	}
	// Read again, decide again: the repair goes through.
	v = conntest.Verify(t, e.conn, rec, drift.Differs, "SUMMARY")
	conntest.Repair(t, e.conn, rec, v)
	conntest.Verify(t, e.conn, rec, drift.InSync)
}

func testRepairCreateConflict(t *testing.T, e *env) {
	rec := kickoff("WF-8", 1)
	v := conntest.Verify(t, e.conn, rec, drift.Missing)
	other, err := caldav.New(caldav.Config{CollectionURL: e.cal, HTTPClient: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	mine := kickoff(rec.Key, 0)
	p := mine.Payload.(caldav.Event)
	p.Summary = "made elsewhere"
	mine.Payload = p
	conntest.Push(t, other, mine)
	if err := e.conn.Repair(t.Context(), rec, v); !errors.Is(err, drift.ErrConflict) {
		t.Fatalf("Repair of a Missing verdict over a new object: %v, want drift.ErrConflict", err)
	}
	ev, _, _ := e.object(t, rec.Key)
	if got := text(t, ev, ical.PropSummary); got != "made elsewhere" {
		t.Errorf("SUMMARY = %q: the Repair overwrote the new object", got)
	}
}

func testVerifyNewerVersion(t *testing.T, e *env) {
	newer := kickoff("WF-9", 5)
	conntest.Push(t, e.conn, newer)
	old := kickoff("WF-9", 3)
	p := old.Payload.(caldav.Event)
	p.Summary = "old title"
	old.Payload = p
	// Sync would not write version 3 over 5, so there is nothing to repair.
	conntest.Verify(t, e.conn, old, drift.InSync)
	conntest.Verify(t, e.conn, synclayer.Record{Key: "WF-9", Version: 4, Delete: true}, drift.InSync)
	conntest.Verify(t, e.conn, synclayer.Record{Key: "WF-9", Version: 6, Delete: true}, drift.Unexpected)
}

func TestOwnedFieldsValidation(t *testing.T) {
	for _, name := range []string{"uid", "X-SYNCLAYER-KEY", "x-synclayer-version", " "} {
		_, err := caldav.New(caldav.Config{CollectionURL: "https://dav.example/cal/", OwnedFields: []string{name}})
		if !errors.Is(err, synclayer.ErrInvalidOption) || !strings.Contains(err.Error(), "OwnedFields") {
			t.Errorf("OwnedFields %q: %v", name, err)
		}
	}
}
