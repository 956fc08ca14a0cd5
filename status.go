package synclayer

import (
	"errors"
	"time"

	"github.com/hmsplatform/synclayer/internal/enum"
)

// Status is where one route of one event stands: the outcome in a
// [Result], and the state of its [Delivery] in the delivery log.
//
// A Result is Synced, Duplicate, Stale, Pending or Failed; a route that
// failed for good is Failed with a permanent error. InProgress and Dead
// occur only in the log, which tells a dead letter (Dead: a permanent
// error, or retries spent) from a route a redelivery will try again
// (Failed).
type Status int

// The values are stored as numbers by the durable delivery logs: never
// renumber them.
const (
	// StatusPending: the connector is paused or its circuit breaker is open;
	// the route waits in the delivery log and is pushed on resume, in key
	// order.
	StatusPending Status = iota + 1
	// StatusInProgress: being pushed now (delivery log only).
	StatusInProgress
	// StatusSynced: the connector pushed the record.
	StatusSynced
	// StatusDuplicate: this event was already pushed to this connector;
	// nothing was sent.
	StatusDuplicate
	// StatusStale: a newer version of the record was already applied;
	// nothing was sent.
	StatusStale
	// StatusFailed: the route failed; Result.Err says why. In the delivery
	// log: it did not finish (a store failure, a cancelled dispatch), and a
	// redelivery of the event will try again.
	StatusFailed
	// StatusDead: failed for good (a permanent error, or retries spent): a
	// dead letter, to be replayed with [Dispatcher.Replay] (delivery log
	// only).
	StatusDead
)

var statusEnum = enum.Names{Type: "Status", Names: []string{StatusPending: "pending", StatusInProgress: "in_progress",
	StatusSynced: "synced", StatusDuplicate: "duplicate", StatusStale: "stale", StatusFailed: "failed",
	StatusDead: "dead"}}

// String returns "pending", "in_progress", "synced", "duplicate", "stale",
// "failed" or "dead", or "Status(n)" for an unknown value.
func (s Status) String() string { return statusEnum.String(int(s)) }

// MarshalText encodes the status as its name; an unknown value is an error.
func (s Status) MarshalText() ([]byte, error) { return statusEnum.MarshalText(int(s)) }

// UnmarshalText decodes a status name; anything else is an error.
func (s *Status) UnmarshalText(b []byte) error { return enum.Decode(statusEnum, b, s) }

// Final reports whether the status is an outcome that needs no more work
// unless an operator replays it: Synced, Duplicate, Stale or Dead.
func (s Status) Final() bool {
	return s == StatusSynced || s == StatusDuplicate || s == StatusStale || s == StatusDead
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
