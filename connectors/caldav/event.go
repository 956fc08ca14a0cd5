package caldav

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// Event is the payload of an upsert: one VEVENT.
type Event struct {
	// Summary, Description and Location are free text; line breaks are
	// kept, other control characters dropped.
	Summary, Description, Location string
	// Start is required. For a timed event it is written in UTC.
	Start time.Time
	// End is exclusive. For a timed event, zero means no DTEND (the event
	// ends when it starts); otherwise it must not be before Start.
	// For an all-day event, zero means the day after Start, otherwise its
	// date must come after Start's.
	End time.Time
	// AllDay writes Start and End as dates (VALUE=DATE), taken in the
	// times' own locations.
	AllDay bool
}

// Names of the properties the connector adds to each VEVENT.
const (
	PropKey     = "X-SYNCLAYER-KEY"
	PropVersion = "X-SYNCLAYER-VERSION"
)

// maxLine is the longest content line in octets (RFC 5545 §3.1).
const maxLine = 75

// encode builds the iCalendar object of ev for key.
func (c *Connector) encode(key string, version int64, ev Event) ([]byte, error) {
	cal, err := c.build(key, version, ev)
	if err != nil {
		return nil, err
	}
	return serialise(cal)
}

// build makes the calendar of ev for key: one VEVENT, its first child.
func (c *Connector) build(key string, version int64, ev Event) (*ical.Calendar, error) {
	if ev.Start.IsZero() {
		return nil, errors.New("the event needs a Start")
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, c.cfg.ProdID)
	ve := ical.NewEvent()
	ve.Props.SetText(ical.PropUID, UID(c.cfg.Namespace, key))
	ve.Props.SetDateTime(ical.PropDateTimeStamp, c.cfg.Now().UTC().Truncate(time.Second))
	if ev.AllDay {
		start := date(ev.Start)
		end := start.AddDate(0, 0, 1)
		if !ev.End.IsZero() {
			end = date(ev.End)
		}
		if !end.After(start) {
			return nil, fmt.Errorf("the all-day event's End %s must come after its Start %s (End is exclusive)", end.Format(time.DateOnly), start.Format(time.DateOnly))
		}
		ve.Props.SetDate(ical.PropDateTimeStart, start)
		ve.Props.SetDate(ical.PropDateTimeEnd, end)
	} else {
		ve.Props.SetDateTime(ical.PropDateTimeStart, ev.Start.UTC().Truncate(time.Second))
		if !ev.End.IsZero() {
			if ev.End.Before(ev.Start) {
				return nil, fmt.Errorf("the event's End %s is before its Start %s", ev.End.Format(time.RFC3339), ev.Start.Format(time.RFC3339))
			}
			ve.Props.SetDateTime(ical.PropDateTimeEnd, ev.End.UTC().Truncate(time.Second))
		}
	}
	for _, p := range []struct{ name, v string }{
		{ical.PropSummary, ev.Summary},
		{ical.PropDescription, ev.Description},
		{ical.PropLocation, ev.Location},
	} {
		if p.v != "" {
			ve.Props.SetText(p.name, cleanText(p.v))
		}
	}
	setXText(ve.Props, PropKey, key)
	if version != 0 {
		setXText(ve.Props, PropVersion, strconv.FormatInt(version, 10))
	}
	cal.Children = append(cal.Children, ve.Component)
	return cal, nil
}

// serialise writes cal as an iCalendar object with folded lines.
func serialise(cal *ical.Calendar) ([]byte, error) {
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, err
	}
	return fold(buf.Bytes()), nil
}

// setXText sets a non-standard property to an escaped TEXT value. TEXT is
// their default type (RFC 5545 §3.8.8.2), so no VALUE parameter is written.
func setXText(props ical.Props, name, text string) {
	p := ical.NewProp(name)
	p.SetText(text)
	p.Params.Del(ical.ParamValue)
	props.Set(p)
}

// date returns t's calendar date at midnight UTC.
func date(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// cleanText makes s fit an iCalendar TEXT value: valid UTF-8, line breaks
// as "\n" (which the encoder escapes), no other control characters but
// tabs.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, s)
}

// fold folds content lines longer than 75 octets (RFC 5545 §3.1): a CRLF
// and a space before each continuation, never inside a UTF-8 sequence.
func fold(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/maxLine*3)
	for len(b) > 0 {
		line, rest, found := bytes.Cut(b, []byte("\r\n"))
		b = rest
		limit := maxLine
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			out.Write(line[:cut])
			out.WriteString("\r\n ")
			line = line[cut:]
			limit = maxLine - 1 // the leading space counts
		}
		out.Write(line)
		if found {
			out.WriteString("\r\n")
		}
	}
	return out.Bytes()
}

// stored is what Sync and Verify need from an object the server holds.
type stored struct {
	cal     *ical.Calendar // the object as parsed, nil if it does not parse
	keys    []string       // the distinct X-SYNCLAYER-KEY values, none if absent
	version int64          // the highest X-SYNCLAYER-VERSION, 0 if absent
}

// otherKey returns a key of s that is not key, if any.
func (s stored) otherKey(key string) (string, bool) {
	for _, k := range s.keys {
		if k != key {
			return k, true
		}
	}
	return "", false
}

// parse reads the connector's properties from an object. An object that
// does not parse gives the zero value: it is overwritten.
//
// An object may hold several VEVENTs with one UID: a recurring event's
// master and its overrides (RECURRENCE-ID), which a calendar client adds
// when a user edits one occurrence, in any order and copying the master's
// properties or not. All of them count: the object belongs to each key
// they name (two keys are a mismatch), and its version is the highest any
// of them carries (an override copies the master's version of its time,
// never a newer one), so neither an override listed first nor one without
// the properties hides what the master says.
func parse(body []byte) stored {
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		return stored{}
	}
	s := stored{cal: cal}
	seen := false
	for _, ev := range cal.Events() {
		if p := ev.Props.Get(PropKey); p != nil {
			if k, err := p.Text(); err == nil && k != "" && !slices.Contains(s.keys, k) {
				s.keys = append(s.keys, k)
			}
		}
		if p := ev.Props.Get(PropVersion); p != nil {
			v, _ := p.Text()
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && (!seen || n > s.version) {
				s.version, seen = n, true
			}
		}
	}
	return s
}
