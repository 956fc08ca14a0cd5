package calendartest

import "google.golang.org/api/calendar/v3"

// Edit changes a stored event as someone using Google Calendar would: fn
// edits a copy of it (nil changes nothing), which is stored with a fresh
// ETag, so a write conditional on the old one meets 412. It reports
// whether the event existed.
func (f *Fake) Edit(calendarID, id string, fn func(ev *calendar.Event)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.events[calendarID][id]
	if !ok {
		return false
	}
	ev := s.ev
	if fn != nil {
		fn(&ev)
	}
	f.store(calendarID, id, ev)
	return true
}

// Remove forgets an event, as Google does when it purges a deleted one:
// a get then answers 404 and an insert of the id succeeds. It reports
// whether the event existed.
func (f *Fake) Remove(calendarID, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.events[calendarID][id]
	delete(f.events[calendarID], id)
	return ok
}
