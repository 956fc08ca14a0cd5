package caldav_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/drift"
)

// TestVerifyObjects verifies objects as servers and clients may hold them,
// served by a stand-in, against an all-day event and a timed one.
func TestVerifyObjects(t *testing.T) {
	key := "WF-1"
	uid := caldav.UID(caldav.DefaultNamespace, key)
	event := func(props string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\n" + props +
			"X-SYNCLAYER-KEY:" + key + "\r\nX-SYNCLAYER-VERSION:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	allDay := synclayer.Record{Key: key, Version: 1, Payload: caldav.Event{Summary: "Go live", Start: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), AllDay: true}}
	timed := synclayer.Record{Key: key, Version: 1, Payload: &caldav.Event{Summary: "Go live", Start: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}}
	override := "BEGIN:VEVENT\r\nUID:" + uid + "\r\nRECURRENCE-ID;VALUE=DATE:20260317\r\nDTSTART;VALUE=DATE:20260318\r\nSUMMARY:Go live\r\nEND:VEVENT\r\n"
	for _, tc := range []struct {
		name   string
		rec    synclayer.Record
		body   string
		kind   drift.Kind
		fields []string
	}{
		{"all-day, default DTEND", allDay, event("DTSTART;VALUE=DATE:20260310\r\nSUMMARY:Go live\r\n"), drift.InSync, nil},
		{"all-day, DURATION", allDay, event("DTSTART;value=date:20260310\r\nDURATION:P1D\r\nSUMMARY:Go live\r\n"), drift.InSync, nil},
		{"all-day, two days", allDay, event("DTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260312\r\nSUMMARY:Go live\r\n"), drift.Differs, []string{"DTEND"}},
		{"all-day made timed", allDay, event("DTSTART:20260310T000000Z\r\nDTEND;VALUE=DATE:20260311\r\nSUMMARY:Go live\r\n"), drift.Differs, []string{"DTSTART"}},
		{"timed, no end", timed, event("DTSTART:20260310T090000Z\r\nSUMMARY:Go live\r\n"), drift.InSync, nil},
		{"timed, in a Windows zone", timed, event("DTSTART;TZID=W. Europe Standard Time:20260310T100000\r\nSUMMARY:Go live\r\n"), drift.InSync, nil},
		{"timed, moved in a Windows zone", timed, event("DTSTART;TZID=W. Europe Standard Time:20260310T090000\r\nSUMMARY:Go live\r\n"), drift.Differs, []string{"DTSTART"}},
		{"timed, end at start", timed, event("DTSTART:20260310T090000Z\r\nDTEND:20260310T090000Z\r\nSUMMARY:Go live\r\n"), drift.InSync, nil},
		{"timed, given an end", timed, event("DTSTART:20260310T090000Z\r\nDURATION:PT30M\r\nSUMMARY:Go live\r\n"), drift.Differs, []string{"DTEND"}},
		{"defaults and others' X- properties", timed, event("DTSTART:20260310T090000Z\r\nSUMMARY:Go live\r\nCLASS:public\r\nTRANSP:OPAQUE\r\nX-APPLE-TRAVEL:1\r\n"), drift.InSync, nil},
		{"attendees added", timed, event("DTSTART:20260310T090000Z\r\nSUMMARY:Go live\r\nATTENDEE:mailto:a@x.test\r\nATTENDEE:mailto:b@x.test\r\n"), drift.Differs, []string{"ATTENDEE"}},
		{"version lowered", timed, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTART:20260310T090000Z\r\nSUMMARY:Go live\r\nX-SYNCLAYER-KEY:" + key + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", drift.Differs, []string{"X-SYNCLAYER-VERSION"}},
		{"overrides", allDay, "BEGIN:VCALENDAR\r\n" + override + "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260311\r\nSUMMARY:Go live\r\nX-SYNCLAYER-KEY:" + key + "\r\nX-SYNCLAYER-VERSION:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			drift.Differs, []string{"RECURRENCE-ID"}},
		{"not iCalendar", timed, "<html>hello</html>", drift.Differs, []string{"VEVENT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"e1"`)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.Verify(t.Context(), tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind != tc.kind || !slices.Equal(v.Fields, tc.fields) || v.ETag != `"e1"` {
				t.Errorf("Verify = %v %q %s, want %v %q", v.Kind, v.Fields, v.ETag, tc.kind, tc.fields)
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	body := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTART:20260310T090000Z\r\nX-SYNCLAYER-KEY:someone-else\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"e1"`)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	rec := synclayer.Record{Key: "WF-1", Payload: caldav.Event{Summary: "x", Start: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}}
	if _, err := c.Verify(t.Context(), rec); !errors.Is(err, partner.ErrKeyMismatch) || !synclayer.IsPermanent(err) {
		t.Errorf("object of another key: %v", err)
	}
	if _, err := c.Verify(t.Context(), synclayer.Record{Key: "WF-1", Payload: "text"}); !errors.Is(err, partner.ErrPayload) {
		t.Errorf("string payload: %v", err)
	}
	status = http.StatusServiceUnavailable
	if _, err := c.Verify(t.Context(), rec); !errors.Is(err, partner.ErrUnavailable) || synclayer.IsPermanent(err) {
		t.Errorf("503: %v", err)
	}
	if err := c.Repair(t.Context(), rec, drift.Verdict{Kind: drift.Differs}); err == nil || !synclayer.IsPermanent(err) {
		t.Errorf("Repair without an ETag: %v", err)
	}
}
