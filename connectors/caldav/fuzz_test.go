package caldav

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// FuzzEncode builds the iCalendar object of arbitrary text and keys and
// checks what a CalDAV server will parse: lines end in CRLF and fold at 75
// octets, the object decodes to exactly one VEVENT with exactly the
// connector's properties (text holding CR, LF, ';', ',' or '\' cannot
// inject another property), the free text reads back as sent (cleaned of
// control characters), and the key and version read back exactly.
func FuzzEncode(f *testing.F) {
	f.Add("WF-1", "Deploy", "Line one\nline two; a, b \\ c", "Room 1", int64(3))
	f.Add("k;x=1", "x\r\nATTENDEE:mailto:evil@example.com", "END:VEVENT\r\nBEGIN:VEVENT", "", int64(0))
	f.Add("é日本 "+strings.Repeat("ü", 60), strings.Repeat("€", 40), "\x00\x01\t", "\xff", int64(-1))
	f.Add(`a\,b`, `\n`, "\r", ";", int64(1<<62))
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	c, err := New(Config{CollectionURL: "http://dav.invalid/cal/", Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, summary, description, location string, version int64) {
		// The dispatcher only passes keys that are valid UTF-8 without
		// control or invisible formatting characters.
		if key == "" || !utf8.ValidString(key) || strings.ContainsFunc(key, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
		}) {
			return
		}
		ev := Event{Summary: summary, Description: description, Location: location,
			Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}
		b, err := c.encode(key, version, ev)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\r\n")), []byte("\r\n")) {
			if len(line) > maxLine {
				t.Fatalf("line %d is %d octets: %q", i, len(line), line)
			}
			if bytes.ContainsAny(line, "\r\n") {
				t.Fatalf("line %d holds a bare CR or LF: %q", i, line)
			}
			if !utf8.Valid(line) {
				t.Fatalf("line %d splits a UTF-8 sequence: %q", i, line)
			}
		}
		cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
		if err != nil {
			t.Fatalf("the object does not decode: %v\n%s", err, b)
		}
		events := cal.Events()
		if len(events) != 1 || len(cal.Children) != 1 {
			t.Fatalf("%d events, %d components; want one VEVENT\n%s", len(events), len(cal.Children), b)
		}
		allowed := map[string]bool{ical.PropUID: true, ical.PropDateTimeStamp: true, ical.PropDateTimeStart: true,
			ical.PropDateTimeEnd: true, ical.PropSummary: true, ical.PropDescription: true, ical.PropLocation: true,
			PropKey: true, PropVersion: true}
		for name, ps := range events[0].Props {
			if !allowed[name] || len(ps) != 1 {
				t.Fatalf("property %s (%d times) in the event\n%s", name, len(ps), b)
			}
		}
		for _, p := range []struct{ name, want string }{
			{ical.PropSummary, summary}, {ical.PropDescription, description}, {ical.PropLocation, location},
		} {
			want := cleanText(p.want)
			got := ""
			if prop := events[0].Props.Get(p.name); prop != nil {
				if got, err = prop.Text(); err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
			}
			if got != want {
				t.Fatalf("%s reads back as %q, want %q\n%s", p.name, got, want, b)
			}
		}
		st := parse(b)
		if want := []string{key}; key != "" && !slices.Equal(st.keys, want) || key == "" && len(st.keys) != 0 {
			t.Fatalf("keys read back as %q, want %q\n%s", st.keys, key, b)
		}
		if st.version != version {
			t.Fatalf("version reads back as %d, want %d", st.version, version)
		}
	})
}
