package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
)

// maxSubject is the longest Subject (or, for an event without a subject,
// ID) that Write accepts, in bytes.
const maxSubject = 1024

// Write adds evs to the outbox inside tx, with one statement whatever
// their number (none for no events). They become visible to the relays only
// if tx commits; a rollback leaves no trace of them. Events of one Subject
// are published in the order of their rows, which is the order of their
// transactions' commits when those are serialised on the subject (see the
// package doc); within one call, in the order given.
//
// Each event needs an ID and a Type, and Data, if set, must be valid JSON
// (the error wraps [synclayer.ErrInvalidEvent]). Its Subject (or, if empty,
// its ID) may be at most 1024 bytes.
func (o *Outbox) Write(ctx context.Context, tx *sql.Tx, evs ...synclayer.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if tx == nil {
		return fmt.Errorf("%w: Write needs a *sql.Tx", ErrConfig)
	}
	if o.d.maxRows > 0 && len(evs) > o.d.maxRows {
		return fmt.Errorf("%w: %d events, at most %d on %s", ErrTooMany, len(evs), o.d.maxRows, o.name)
	}
	// One buffer for all subjects and documents; ends[i] is where event
	// i's pair ends.
	size := 0
	for _, ev := range evs {
		size += encodedSize(ev)
	}
	buf := make([]byte, 0, size)
	type span struct{ key, body int }
	ends := make([]span, len(evs))
	for i, ev := range evs {
		if ev.ID == "" || ev.Type == "" {
			return fmt.Errorf("outbox: write %s: event %d (%q): %w: needs an ID and a Type", o.table, i, ev.ID, synclayer.ErrInvalidEvent)
		}
		n := len(buf)
		buf = appendSubjectKey(buf, ev)
		if k := len(buf) - n; k > maxSubject+1 {
			return fmt.Errorf("outbox: write %s: event %q: %w: subject of %d bytes, at most %d", o.table, ev.ID, synclayer.ErrInvalidEvent, k-1, maxSubject)
		}
		ends[i].key = len(buf)
		var err error
		if buf, err = encodeEvent(buf, ev); err != nil {
			return fmt.Errorf("outbox: write %s: event %q: %w: %w", o.table, ev.ID, synclayer.ErrInvalidEvent, err)
		}
		ends[i].body = len(buf)
	}
	subjects := make([][]byte, len(evs))
	bodies := make([][]byte, len(evs))
	start := 0
	for i, e := range ends {
		subjects[i], bodies[i] = buf[start:e.key:e.key], buf[e.key:e.body:e.body]
		start = e.body
	}
	var err error
	if o.d.insertArrays {
		_, err = tx.ExecContext(ctx, o.insert, subjects, bodies, time.Now().UnixMilli())
	} else {
		// The clock of the writer, as a literal: one value for all rows.
		row := strings.ReplaceAll(o.d.insertRow, ":now", strconv.FormatInt(time.Now().UnixMilli(), 10))
		var q strings.Builder
		q.Grow(len(o.insert) + len(evs)*(len(row)+2))
		q.WriteString(o.insert)
		args := make([]any, 0, 2*len(evs))
		for i := range evs {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
			args = append(args, subjects[i], bodies[i])
		}
		_, err = tx.ExecContext(ctx, q.String(), args...)
	}
	if err != nil {
		return fmt.Errorf("outbox: write %s: %d events, first %q: %w", o.table, len(evs), evs[0].ID, err)
	}
	return nil
}

// appendSubjectKey appends the key an event's order is kept under: its
// Subject, or, for an event without one, its ID (such events are ordered
// against nothing). A prefix keeps the two kinds apart.
func appendSubjectKey(dst []byte, ev synclayer.Event) []byte {
	if ev.Subject != "" {
		return append(append(dst, 's'), ev.Subject...)
	}
	return append(append(dst, 'i'), ev.ID...)
}
