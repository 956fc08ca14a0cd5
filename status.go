package synclayer

import (
	"errors"
	"time"
)

// Status is the outcome of one route of one event.
type Status int

const (
	// StatusSynced: the connector pushed the record.
	StatusSynced Status = iota + 1
	// StatusDuplicate: this event was already pushed to this connector;
	// nothing was sent.
	StatusDuplicate
	// StatusStale: a newer version of the record was already applied;
	// nothing was sent.
	StatusStale
	// StatusFailed: the route failed; Result.Err says why.
	StatusFailed
	// StatusPending: the connector is paused or its circuit breaker is open;
	// the route waits in the delivery log and is pushed on resume.
	StatusPending
)

var statusEnum = enum{"Status", []string{StatusSynced: "synced", StatusDuplicate: "duplicate",
	StatusStale: "stale", StatusFailed: "failed", StatusPending: "pending"}}

// String returns "synced", "duplicate", "stale", "failed" or "pending", or
// "Status(n)" for an unknown value.
func (s Status) String() string { return statusEnum.String(int(s)) }

// MarshalText encodes the status as its name; an unknown value is an error.
func (s Status) MarshalText() ([]byte, error) { return statusEnum.MarshalText(int(s)) }

// UnmarshalText decodes a status name; anything else is an error.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := statusEnum.UnmarshalText(b)
	if err == nil {
		*s = Status(v)
	}
	return err
}

// Result is the outcome of one route (one connector) of one event.
type Result struct {
	Connector, Key string
	Status         Status
	Attempts       int           // calls of Connector.Sync; 0 for Duplicate and Stale
	Duration       time.Duration // time spent on the route, waits included
	Err            error         // a *SyncError when Status is StatusFailed
}

// Report is the outcome of dispatching one event: one Result per connector
// routed for its type, in registration order.
type Report struct {
	Event   Event
	Results []Result
	err     error // event-level: invalid event, announcement not published
}

// OK reports whether every route is Synced, Duplicate or Stale and nothing
// else failed.
func (r Report) OK() bool { return r.Err() == nil }

// Err joins the errors of the failed routes, and of the event itself (an
// invalid event, an announcement that could not be published). It is nil
// when nothing failed.
func (r Report) Err() error {
	var errs []error
	if r.err != nil {
		errs = append(errs, r.err)
	}
	for _, res := range r.Results {
		if res.Status == StatusFailed {
			errs = append(errs, res.Err)
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}
