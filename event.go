package synclayer

import (
	"encoding/json"
	"time"
)

// Event is one domain event, such as a WorkflowDeployed or a PolicyUpdated.
// The field names follow CloudEvents 1.0.
type Event struct {
	// ID identifies the event; redeliveries keep it. Required.
	ID string `json:"id"`
	// Type routes the event to connectors, e.g. "WorkflowDeployed". Required.
	Type string `json:"type"`
	// Source names the publisher, e.g. "hms/management-layer".
	Source string `json:"source,omitempty"`
	// Subject names what the event is about, e.g. the workflow id.
	Subject string `json:"subject,omitempty"`
	// Time is when the event happened.
	Time time.Time `json:"time,omitzero"`
	// Data is the event's JSON payload.
	Data json.RawMessage `json:"data,omitempty"`
	// Meta carries context across the bus: a correlation id, a W3C
	// traceparent, and so on. All of it travels: bus adapters carry every
	// entry (as CloudEvents extension attributes or message headers), and
	// the SyncCompleted or SyncFailed announcement of an event copies its
	// Meta whole onto the bus. Keep secrets and personal data out of it.
	Meta map[string]string `json:"meta,omitempty"`
}

// Announcement event types: the Dispatcher publishes one of them to its
// [Publisher] once per dispatched event, with an [Announcement] as Data.
const (
	// SyncCompleted: every route of the event is Synced, Duplicate or Stale.
	SyncCompleted = "SyncCompleted"
	// SyncFailed: at least one route failed for good (a permanent error, or
	// the retry policy gave up). Its results name the route and the error.
	SyncFailed = "SyncFailed"
)

// Announcement is the JSON Data of a SyncCompleted or SyncFailed event:
//
//	{"eventId":"evt-1","eventType":"WorkflowDeployed","results":[
//	  {"connector":"calendar","key":"WF-123","status":"synced","attempts":1},
//	  {"connector":"records","key":"WF-123","status":"failed","attempts":6,
//	   "error":"synclayer: event \"evt-1\" ... : 503 Service Unavailable"}]}
//
// Status is one of "synced", "duplicate", "stale", "failed". Error is present
// only for failed results, and is bounded in size. Like [Delivery].Error, it
// names a failure of the idempotency store with a fixed text, never with
// the store's own error.
type Announcement struct {
	EventID   string            `json:"eventId"`
	EventType string            `json:"eventType"`
	Results   []AnnouncedResult `json:"results"`
}

// AnnouncedResult is one connector's outcome inside an [Announcement].
type AnnouncedResult struct {
	Connector  string `json:"connector"`
	Key        string `json:"key,omitempty"`
	Status     Status `json:"status"`
	Attempts   int    `json:"attempts"`
	DurationMs int64  `json:"durationMs"`
	Error      string `json:"error,omitempty"`
}
