package caldav_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/caldavtest"
	"github.com/hmsplatform/synclayer/internal/option"
)

// captured is a stand-in server that records the PUT body and answers as
// a server with no object yet would.
func captured(t *testing.T) (*httptest.Server, *string) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			http.NotFound(w, r)
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			body = string(b)
			w.WriteHeader(http.StatusCreated)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &body
}

func TestEncoding(t *testing.T) {
	srv, body := captured(t)
	c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal", Now: func() time.Time { return stamp }})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Ünïcödé text, ", 20)
	err = c.Sync(t.Context(), synclayer.Record{Key: "k", Version: 7, Payload: caldav.Event{Summary: "a;b,c\\d\ne", Description: long,
		Start: time.Date(2026, 3, 10, 9, 30, 0, 0, time.FixedZone("X", 2*3600)), End: time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"BEGIN:VCALENDAR\r\n", "VERSION:2.0\r\n", "PRODID:-//hmsplatform//synclayer//EN\r\n", "BEGIN:VEVENT\r\n",
		"UID:" + caldav.UID(caldav.DefaultNamespace, "k") + "\r\n", "DTSTAMP:20260301T120000Z\r\n",
		"DTSTART:20260310T073000Z\r\n", "DTEND:20260310T110000Z\r\n", `SUMMARY:a\;b\,c\\d\ne` + "\r\n",
		"X-SYNCLAYER-KEY:k\r\n", "X-SYNCLAYER-VERSION:7\r\n", "END:VCALENDAR\r\n",
	} {
		if !strings.Contains(*body, want) {
			t.Errorf("body lacks %q:\n%s", want, *body)
		}
	}
	if strings.Contains(*body, "METHOD") {
		t.Error("a calendar object resource must not carry METHOD")
	}
	for _, line := range strings.Split(strings.TrimSuffix(*body, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line of %d octets: %q", len(line), line)
		}
		if strings.ContainsRune(line, '\uFFFD') {
			t.Errorf("fold split a character: %q", line)
		}
	}
	// Unfolded, the description is intact.
	unfolded := strings.ReplaceAll(*body, "\r\n ", "")
	if !strings.Contains(unfolded, "DESCRIPTION:"+strings.ReplaceAll(long, ",", `\,`)+"\r\n") {
		t.Errorf("description not intact:\n%s", unfolded)
	}
}

func TestInvalidPayloads(t *testing.T) {
	srv, _ := captured(t)
	c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/"})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		payload any
		text    string
	}{
		{"wrong type", "event", "want caldav.Event"},
		{"nil", (*caldav.Event)(nil), "nil *caldav.Event"},
		{"no start", caldav.Event{Summary: "x"}, "needs a Start"},
		{"end before start", caldav.Event{Start: day.Add(time.Hour), End: day}, "before its Start"},
		{"all-day end not after", caldav.Event{Start: day, End: day.Add(3 * time.Hour), AllDay: true}, "exclusive"},
	} {
		err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: tc.payload})
		if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  caldav.Config
		text string
	}{
		{caldav.Config{}, "CollectionURL is required"},
		{caldav.Config{CollectionURL: "/cal/"}, "absolute"},
		{caldav.Config{CollectionURL: "https://alice:s3cret-pw@dav.example/cal/"}, "carries credentials"},
		{caldav.Config{CollectionURL: "https://dav.example/cal/?x=1"}, "query"},
		{caldav.Config{CollectionURL: "https://alice:s3cret@dav.example/%zz/?token=s3cret"}, "CollectionURL holds an invalid %-escape"},
		{caldav.Config{CollectionURL: "https://alice:s3cret@dav.example:port/?token=s3cret"}, "CollectionURL has an invalid port"},
		{caldav.Config{CollectionURL: "https://dav.example/cal/", MaxConflicts: -1}, "MaxConflicts"},
		{caldav.Config{CollectionURL: "https://dav.example/cal/", ProdID: "a\r\nb"}, "ProdID"},
	} {
		_, err := caldav.New(tc.cfg)
		if err == nil || !errors.Is(err, option.ErrInvalid) || !strings.HasPrefix(err.Error(), "caldav: ") || !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
	c, err := caldav.New(caldav.Config{CollectionURL: "https://dav.example/alice/work"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.ObjectURL("k"), "https://dav.example/alice/work/"+caldav.ObjectName(caldav.DefaultNamespace, "k"); got != want {
		t.Errorf("%s, want %s", got, want)
	}
}

func TestBasicAuth(t *testing.T) {
	const password = "pw-Radicale-42"
	srv := caldavtest.StartRadicale(t, caldavtest.RadicaleOptions{User: "alice", Password: password})
	cal := srv.NewCalendar(t)
	good, err := caldav.New(caldav.Config{CollectionURL: cal, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Sync(t.Context(), synclayer.Record{Key: "k", Payload: caldav.Event{Summary: "x", Start: stamp}}); err != nil {
		t.Fatal(err)
	}
	const wrong = "wrong-password-99"
	bad, _ := caldav.New(caldav.Config{CollectionURL: cal, HTTPClient: &http.Client{Transport: caldavtest.BasicAuth(http.DefaultTransport, "alice", wrong)}})
	err = bad.Sync(t.Context(), synclayer.Record{Key: "k", Payload: caldav.Event{Summary: "y", Start: stamp}})
	if !errors.Is(err, partner.ErrUnauthorized) || !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "401") {
		t.Errorf("%v", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("password in error: %v", err)
	}
}

func TestBearerTokenRedacted(t *testing.T) {
	const token = "tok-8d7f6e5d4c3b"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A server that echoes the credentials it refuses.
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("refused " + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	client := &http.Client{Transport: bearer{token}}
	c, _ := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", HTTPClient: client})
	err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: caldav.Event{Summary: "x", Start: stamp}})
	if !errors.Is(err, partner.ErrUnauthorized) || strings.Contains(err.Error(), token) {
		t.Errorf("%v", err)
	}
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// TestOwnedTimeKeepsItsVTIMEZONE: an owned DTEND kept from the object the
// server holds keeps its TZID, so the VTIMEZONE it names comes along into
// the PUT body (RFC 4791 section 4.1: a VTIMEZONE for every TZID used), and
// no other.
func TestOwnedTimeKeepsItsVTIMEZONE(t *testing.T) {
	held := heldObject(vtimezone("Europe/Berlin", "+0100")+vtimezone("America/New_York", "-0500"),
		"DTSTART:20260310T090000Z\r\nDTEND;TZID=Europe/Berlin:20260310T120000\r\n")
	put := putOver(t, held, caldav.Event{Summary: "s", Start: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}, "DTEND")
	if !strings.Contains(put, "DTEND;TZID=Europe/Berlin:20260310T120000") {
		t.Fatalf("owned DTEND not kept:\n%s", put)
	}
	if strings.Count(put, "BEGIN:VTIMEZONE") != 1 || !strings.Contains(put, "TZID:Europe/Berlin\r\n") || strings.Contains(put, "New_York") {
		t.Errorf("PUT body should hold the VTIMEZONE of Europe/Berlin and no other:\n%s", put)
	}
}
