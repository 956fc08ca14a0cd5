package googlecalendar

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Names of the private extended properties the connector sets on every
// event it writes.
const (
	PropertyKey     = "synclayerKey"     // the record key
	PropertyVersion = "synclayerVersion" // the record version, decimal; absent for 0
)

// DefaultNamespace is the namespace of a Config that sets none.
const DefaultNamespace = "synclayer"

// Config configures a [Connector]. Service and CalendarID are required.
//
// A zero field means its default; New refuses an invalid value (a
// negative number, a malformed URL, a field it cannot use) with an error
// that names the field and wraps synclayer.ErrInvalidOption. Nothing
// panics.
type Config struct {
	// Service is the caller's Calendar API client, built with
	// calendar.NewService and the caller's credentials.
	Service *calendar.Service
	// CalendarID names the calendar: "primary" or a calendar's address.
	CalendarID string
	// Namespace is mixed into the event ids (default [DefaultNamespace]).
	// Two connectors writing the same keys to one calendar need different
	// namespaces. Changing it orphans the events already written.
	Namespace string
	// SendUpdates says whom Google notifies of changes: "all",
	// "externalOnly" or "none" (default: Google's default, none).
	SendUpdates string
	// MaxConflicts is how many rounds of a read and a write (an update,
	// or an insert after a purge) one Sync makes of an event that others
	// change concurrently (412) before it reports a retryable conflict
	// (default 3). An update that meets 404 or 410 is always followed by
	// one more read, on the last round too (see the package doc).
	MaxConflicts int
	// OwnedFields names the event fields the partner owns, by their wire
	// names: "description" for notes someone keeps in Google Calendar,
	// "attendees", or one extended property as
	// "extendedProperties.shared.<name>" (or .private.). They are never
	// compared by Verify, and Sync's and Repair's updates keep the values
	// Google holds (or their absence); a new event gets the record's
	// values. id, status, extendedProperties as a whole and the
	// connector's own properties cannot be owned.
	OwnedFields []string
}

// Connector keeps one event per record key in a Google calendar. Build it
// with [New]. It is safe for concurrent use.
type Connector struct {
	cfg    Config
	events *calendar.EventsService
	cls    httpx.Classifier
	owned  map[string]bool // wire names of the owned fields
}

var (
	_ synclayer.Connector       = (*Connector)(nil)
	_ synclayer.PartnerIDSyncer = (*Connector)(nil)
)

// New checks cfg and returns a connector.
func New(cfg Config) (*Connector, error) {
	switch {
	case cfg.Service == nil:
		return nil, fmt.Errorf("googlecalendar: %w: Config.Service is required", option.ErrInvalid)
	case cfg.Service.Events == nil:
		return nil, fmt.Errorf("googlecalendar: %w: Config.Service was not built by calendar.NewService", option.ErrInvalid)
	case cfg.CalendarID == "":
		return nil, fmt.Errorf("googlecalendar: %w: Config.CalendarID is required", option.ErrInvalid)
	case len(cfg.CalendarID) > 1024:
		return nil, fmt.Errorf("googlecalendar: %w: Config.CalendarID is longer than 1024 bytes", option.ErrInvalid)
	case cfg.MaxConflicts < 0:
		return nil, fmt.Errorf("googlecalendar: %w", option.NonNegative("Config.MaxConflicts", cfg.MaxConflicts))
	}
	switch cfg.SendUpdates {
	case "", "all", "externalOnly", "none":
	default:
		return nil, fmt.Errorf("googlecalendar: %w: Config.SendUpdates %q is not all, externalOnly or none", option.ErrInvalid, cfg.SendUpdates)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.MaxConflicts == 0 {
		cfg.MaxConflicts = 3
	}
	owned, err := ownedSet(cfg.OwnedFields)
	if err != nil {
		return nil, err
	}
	return &Connector{cfg: cfg, events: cfg.Service.Events, cls: httpx.Classifier{Prefix: "googlecalendar"}, owned: owned}, nil
}

// EventID returns the event id the connector uses for key.
func (c *Connector) EventID(key string) string { return EventID(c.cfg.Namespace, key) }

// Sync upserts or deletes the event of rec.Key; see the package doc.
func (c *Connector) Sync(ctx context.Context, rec synclayer.Record) error {
	_, err := c.SyncID(ctx, rec)
	return err
}

// SyncID does what Sync does and returns the Google event id of rec.Key
// ([Connector.EventID]), the id the event is written, updated and deleted
// under (Google keeps a deleted event, cancelled, under it), for an
// upsert and a delete alike; "" on error. It costs no request beyond
// Sync's; [synclayer.Dispatcher] keeps the id in the route's delivery.
func (c *Connector) SyncID(ctx context.Context, rec synclayer.Record) (string, error) {
	id := c.EventID(rec.Key)
	if err := c.sync(ctx, rec, id); err != nil {
		return "", err
	}
	return id, nil
}

// sync is Sync, writing the event id.
func (c *Connector) sync(ctx context.Context, rec synclayer.Record, id string) error {
	if rec.Delete {
		return c.remove(ctx, rec, id)
	}
	ev, err := c.event(rec, id)
	if err != nil {
		return err
	}
	_, err = c.insert(ctx, ev)
	if err == nil {
		return nil
	}
	if !hasReason(err, 409, "") {
		return c.classify("insert", id, rec.Key, err)
	}
	// The id exists (perhaps cancelled): read it and update it in place.
	// gone is the update's 404 or 410 of the round before, if any. When
	// the update of the last of MaxConflicts rounds met one, one round
	// more follows, as after an earlier round: its read tells a purge
	// (insert) from a refusal (gone is returned). That round never
	// updates, and it clears gone, so the loop ends after it.
	var gone error
	for round := 0; round < c.cfg.MaxConflicts || gone != nil; round++ {
		cur, err := c.get(ctx, id, rec.Key)
		if err != nil {
			return err
		}
		if cur != nil && gone != nil {
			// Still readable, so not purged: the update's answer stands.
			return c.classify("update", id, rec.Key, gone)
		}
		gone = nil
		if cur == nil { // gone meanwhile (purged): insert again
			_, err = c.insert(ctx, ev)
			if err == nil {
				return nil
			}
			if hasReason(err, 409, "") {
				continue
			}
			return c.classify("insert", id, rec.Key, err)
		}
		if newer(cur, rec) {
			return nil
		}
		err = c.update(ctx, id, ev, cur)
		switch {
		case err == nil:
			return nil
		case hasReason(err, 404, ""), hasReason(err, 410, ""):
			// Purged since the get? Then the id is free again, and the
			// next get finds nothing and inserts; if it finds the event,
			// this error is returned.
			gone = err
			continue
		case !hasReason(err, 412, ""):
			return c.classify("update", id, rec.Key, err)
		}
	}
	return c.conflict(id, rec.Key)
}

// update replaces the event cur with ev, keeping the owned fields of cur
// unless it is cancelled, if cur's ETag still matches.
func (c *Connector) update(ctx context.Context, id string, ev, cur *calendar.Event) error {
	if len(c.owned) > 0 && cur.Status != "cancelled" {
		cp := *ev
		c.keepOwned(&cp, cur)
		ev = &cp
	}
	upd := c.events.Update(c.cfg.CalendarID, id, ev).Context(ctx)
	if c.cfg.SendUpdates != "" {
		upd.SendUpdates(c.cfg.SendUpdates)
	}
	if cur.Etag != "" {
		upd.Header().Set("If-Match", cur.Etag)
	}
	_, err := upd.Do()
	return err
}

// insert creates ev.
func (c *Connector) insert(ctx context.Context, ev *calendar.Event) (*calendar.Event, error) {
	call := c.events.Insert(c.cfg.CalendarID, ev).Context(ctx)
	if c.cfg.SendUpdates != "" {
		call.SendUpdates(c.cfg.SendUpdates)
	}
	return call.Do()
}

// remove deletes the event of rec, if it exists and is not newer. It
// first writes rec's version onto the event (see stamp), so that the
// cancelled event refuses a stale upsert as a live one would.
func (c *Connector) remove(ctx context.Context, rec synclayer.Record, id string) error {
	for range c.cfg.MaxConflicts {
		cur, err := c.get(ctx, id, rec.Key)
		if err != nil {
			return err
		}
		if cur == nil || cur.Status == "cancelled" || newer(cur, rec) {
			return nil
		}
		etag, err := c.stamp(ctx, id, cur, rec)
		switch {
		case hasReason(err, 404, "") || hasReason(err, 410, ""):
			return nil
		case hasReason(err, 412, ""):
			continue
		case err != nil:
			return c.classify("update", id, rec.Key, err)
		}
		del := c.events.Delete(c.cfg.CalendarID, id).Context(ctx)
		if c.cfg.SendUpdates != "" {
			del.SendUpdates(c.cfg.SendUpdates)
		}
		if etag != "" {
			del.Header().Set("If-Match", etag)
		}
		err = del.Do()
		switch {
		case err == nil, hasReason(err, 410, ""), hasReason(err, 404, ""):
			return nil
		case !hasReason(err, 412, ""):
			return c.classify("delete", id, rec.Key, err)
		}
	}
	return c.conflict(id, rec.Key)
}

// stamp writes the version of rec, a delete, into the [PropertyVersion]
// of cur, the event as read, by an update conditional on cur's ETag that
// notifies no one, and returns the ETag to delete with. Google keeps a
// deleted event (cancelled) with its properties, and a later upsert of
// the key updates it in place; without the stamp, the cancelled event
// would still hold the version before the delete, and a stale upsert
// (redelivered by a process with another idempotency store) would
// restore it. An unversioned delete, or an event that holds rec's
// version already, needs no stamp: cur's own ETag is returned.
func (c *Connector) stamp(ctx context.Context, id string, cur *calendar.Event, rec synclayer.Record) (string, error) {
	if rec.Version == 0 || (cur.ExtendedProperties != nil && cur.ExtendedProperties.Private[PropertyVersion] == strconv.FormatInt(rec.Version, 10)) {
		return cur.Etag, nil
	}
	ev := *cur
	ev.ServerResponse = googleapi.ServerResponse{}
	ev.ExtendedProperties = syncProps(cur.ExtendedProperties, rec)
	upd := c.events.Update(c.cfg.CalendarID, id, &ev).Context(ctx).SendUpdates("none")
	if cur.Etag != "" {
		upd.Header().Set("If-Match", cur.Etag)
	}
	out, err := upd.Do()
	if err != nil {
		return "", err
	}
	return out.Etag, nil
}

// get reads the event; nil if it does not exist. It refuses an event that
// belongs to another key.
func (c *Connector) get(ctx context.Context, id, key string) (*calendar.Event, error) {
	cur, err := c.events.Get(c.cfg.CalendarID, id).Context(ctx).Do()
	if hasReason(err, 404, "") || hasReason(err, 410, "") {
		return nil, nil
	}
	if err != nil {
		return nil, c.classify("get", id, key, err)
	}
	if cur.ExtendedProperties != nil {
		if k, ok := cur.ExtendedProperties.Private[PropertyKey]; ok && k != key {
			return nil, synclayer.Permanent(fmt.Errorf("googlecalendar: event %s in calendar %q: %w: it holds key %q, not %q", id, c.cfg.CalendarID, partner.ErrKeyMismatch, k, key))
		}
	}
	return cur, nil
}

// conflict is the error after MaxConflicts concurrent changes: retryable,
// the dispatcher comes back later.
func (c *Connector) conflict(id, key string) error {
	return &Error{Op: "update", CalendarID: c.cfg.CalendarID, EventID: id, Key: key, Code: 412,
		Reasons: []string{"conditionNotMet"}, Message: fmt.Sprintf("changed concurrently %d times in a row", c.cfg.MaxConflicts), Kind: partner.ErrConflict}
}

// newer reports whether the stored event holds a newer version than rec.
func newer(cur *calendar.Event, rec synclayer.Record) bool {
	if rec.Version == 0 || cur.ExtendedProperties == nil {
		return false
	}
	v, err := strconv.ParseInt(cur.ExtendedProperties.Private[PropertyVersion], 10, 64)
	return err == nil && v > rec.Version
}

// event validates the payload and returns the copy to send.
func (c *Connector) event(rec synclayer.Record, id string) (*calendar.Event, error) {
	var src *calendar.Event
	switch p := rec.Payload.(type) {
	case *calendar.Event:
		src = p
	case calendar.Event:
		src = &p
	}
	if src == nil {
		return nil, invalid(rec.Key, "payload is %T, want a non-nil *calendar.Event", rec.Payload)
	}
	ev := *src
	ev.ServerResponse = googleapi.ServerResponse{}
	switch {
	case ev.Id != "" && ev.Id != id:
		return nil, invalid(rec.Key, "Id %q is set; leave it empty, the connector derives %s", ev.Id, id)
	case ev.ICalUID != "":
		return nil, invalid(rec.Key, "ICalUID is set; the connector identifies events by Id")
	case ev.Status == "cancelled":
		return nil, invalid(rec.Key, "Status is cancelled; set Record.Delete instead")
	case ev.Status != "" && ev.Status != "confirmed" && ev.Status != "tentative":
		return nil, invalid(rec.Key, "Status %q is not confirmed or tentative", ev.Status)
	}
	if err := checkTimes(ev.Start, ev.End); err != nil {
		return nil, invalid(rec.Key, "%v", err)
	}
	ev.Id = id
	if ev.Status == "" {
		ev.Status = "confirmed" // also restores a cancelled event on update
	}
	ev.ExtendedProperties = syncProps(ev.ExtendedProperties, rec)
	return &ev, nil
}

// syncProps returns a copy of props (nil: none) with the connector's
// private properties set for rec: its key, and its version (removed for an
// unversioned record).
func syncProps(props *calendar.EventExtendedProperties, rec synclayer.Record) *calendar.EventExtendedProperties {
	out := &calendar.EventExtendedProperties{}
	if props != nil {
		*out = *props
	}
	out.Private = maps.Clone(out.Private)
	if out.Private == nil {
		out.Private = map[string]string{}
	}
	out.Private[PropertyKey] = rec.Key
	if rec.Version != 0 {
		out.Private[PropertyVersion] = strconv.FormatInt(rec.Version, 10)
	} else {
		delete(out.Private, PropertyVersion)
	}
	return out
}

// checkTimes checks that start and end are both dates or both times, and
// that end comes after start. A time needs a UTC offset or a TimeZone
// (see instant).
func checkTimes(start, end *calendar.EventDateTime) error {
	if start == nil || end == nil {
		return errors.New("the event needs Start and End")
	}
	if (start.Date != "") != (end.Date != "") {
		return errors.New("the event's Start and End must both be dates (all-day) or both be times")
	}
	if start.Date != "" {
		s, err1 := time.Parse(time.DateOnly, start.Date)
		e, err2 := time.Parse(time.DateOnly, end.Date)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("dates must be yyyy-mm-dd: %w", err)
		}
		if start.DateTime != "" || end.DateTime != "" {
			return errors.New("set Date or DateTime, not both")
		}
		if !e.After(s) {
			return fmt.Errorf("the event's End %s must be after its Start %s (End is exclusive: a one-day event ends the next day)", end.Date, start.Date)
		}
		return nil
	}
	s, e, err := timedSpan(start, end)
	if err != nil {
		return err
	}
	if e.Before(s) {
		return fmt.Errorf("the event's End %s is before its Start %s", end.DateTime, start.DateTime)
	}
	return nil
}
