package googlecalendar

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/calendar/v3"
)

// serverFields are the event fields Google fills in itself, never
// compared.
var serverFields = map[string]bool{
	"kind": true, "etag": true, "id": true, "htmlLink": true, "created": true, "updated": true,
	"creator": true, "organizer": true, "iCalUID": true, "sequence": true, "hangoutLink": true,
	"eventType": true, "privateCopy": true, "locked": true, "endTimeUnspecified": true,
	"attendeesOmitted": true, "originalStartTime": true, "recurringEventId": true,
}

// contentFields are compared whichever side sets them: a field of these
// that someone added at Google is drift, as Sync's update would clear it.
// Any other field is compared only when the record sets it, since Google
// may add it by itself (a Meet link's conferenceData, say).
var contentFields = map[string]bool{
	"summary": true, "description": true, "location": true, "start": true, "end": true,
	"attendees": true, "recurrence": true, "colorId": true, "transparency": true, "visibility": true,
	"status": true, "reminders": true, "source": true, "attachments": true,
	"guestsCanInviteOthers": true, "guestsCanModify": true, "guestsCanSeeOtherGuests": true, "anyoneCanAddSelf": true,
}

// defaults are the normalised values (canonical JSON) that mean the same
// as an absent field.
var defaults = map[string]string{
	"transparency": `"opaque"`, "visibility": `"default"`, "guestsCanInviteOthers": "true",
	"guestsCanSeeOtherGuests": "true", "guestsCanModify": "false", "anyoneCanAddSelf": "false",
	"reminders": `{"useDefault":true}`,
}

// diff returns the wire names of the fields in which got, the event Google
// holds, differs from want, the event Sync writes, sorted; extended
// properties are named one by one ("extendedProperties.private.owner").
// Fields Google fills in, and the owned ones, are not compared.
func (c *Connector) diff(want, got *calendar.Event) []string {
	w, g := fieldsOf(want), fieldsOf(got)
	recurring := len(want.Recurrence) > 0 || len(got.Recurrence) > 0
	var fields []string
	for _, name := range slices.Sorted(maps.Keys(union(w, g))) {
		_, inWant := w[name]
		switch {
		case serverFields[name], c.owned[name], name == "extendedProperties":
			continue
		case !inWant && !contentFields[name]:
			continue
		}
		if normal(name, w[name], recurring) != normal(name, g[name], recurring) {
			fields = append(fields, name)
		}
	}
	for _, scope := range []string{"private", "shared"} {
		wp, gp := props(want, scope), props(got, scope)
		for _, k := range slices.Sorted(maps.Keys(union(wp, gp))) {
			name := "extendedProperties." + scope + "." + k
			wv, wok := wp[k]
			gv, gok := gp[k]
			if !c.owned[name] && (wok != gok || wv != gv) {
				fields = append(fields, name)
			}
		}
	}
	slices.Sort(fields)
	return fields
}

func union[V any](a, b map[string]V) map[string]V {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]V{}
	}
	maps.Copy(out, b)
	return out
}

// fieldsOf returns ev's fields as the API sends them, by wire name.
func fieldsOf(ev *calendar.Event) map[string]json.RawMessage {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return m
}

// props returns the extended properties of one scope.
func props(ev *calendar.Event, scope string) map[string]string {
	if ev.ExtendedProperties == nil {
		return nil
	}
	if scope == "shared" {
		return ev.ExtendedProperties.Shared
	}
	return ev.ExtendedProperties.Private
}

// normal returns a field's value normalised as Google stores it: text
// with its line breaks as "\n"; start and end as dates or as instants in
// UTC (with the time zone only for a recurring event, whose occurrences
// it places); attendees as the set of their addresses (case-insensitive)
// and whether optional; recurrence lines as a set; a default value as
// absent; anything else as canonical JSON.
func normal(name string, raw json.RawMessage, recurring bool) string {
	if raw == nil {
		return defaults[name]
	}
	switch name {
	case "summary", "description", "location":
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
		}
	case "start", "end":
		var t calendar.EventDateTime
		if json.Unmarshal(raw, &t) == nil {
			return when(&t, recurring)
		}
	case "attendees":
		var as []calendar.EventAttendee
		if json.Unmarshal(raw, &as) == nil {
			out := make([]string, len(as))
			for i, a := range as {
				out[i] = strings.ToLower(strings.TrimSpace(a.Email))
				if a.Optional {
					out[i] += " (optional)"
				}
			}
			slices.Sort(out)
			return strings.Join(out, "\n")
		}
	case "recurrence":
		var rs []string
		if json.Unmarshal(raw, &rs) == nil {
			slices.Sort(rs)
			return strings.Join(rs, "\n")
		}
	}
	return canonical(raw)
}

// canonical re-encodes a JSON value with sorted object keys.
func canonical(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// when normalises an event's start or end.
func when(t *calendar.EventDateTime, recurring bool) string {
	if t.Date != "" {
		return "date " + t.Date
	}
	s := t.DateTime
	if at, err := instant(t); err == nil {
		s = at.UTC().Format(time.RFC3339)
	}
	if recurring {
		s += " " + t.TimeZone
	}
	return s
}
