package synclayer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Delivery is one entry of the delivery log: the state of one event's push
// to one connector.
type Delivery struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Connector string `json:"connector"`
	Key       string `json:"key,omitempty"`
	State     Status `json:"state"`
	Attempts  int    `json:"attempts"`
	// FirstAttempt and LastAttempt are zero until an attempt was made.
	FirstAttempt time.Time `json:"firstAttempt,omitzero"`
	LastAttempt  time.Time `json:"lastAttempt,omitzero"`
	// Duration is the time from the first attempt to the outcome. JSON
	// carries it in milliseconds, as "durationMs", like announcements.
	Duration time.Duration `json:"-"`
	// Error is the last error's text, bounded in size: the mapper's or
	// the partner's answer, which connectors keep free of secrets (see
	// internal/httpx). A failure of the idempotency store after the push
	// shows as a fixed text naming what failed, such as "idempotency
	// store failed: pushed, but could not record it" or, beside the
	// partner's answer, "idempotency store failed: release lease"; the
	// store's own error, which can name a database host, a user or a
	// query, is only in the route's [Result].Err (it wraps [ErrStore]).
	Error string `json:"error,omitempty"`
	// PartnerID is the partner's own id for the record, when the connector
	// reported one (it is a [PartnerIDSyncer]: of the bundled connectors,
	// arcgis reports the feature's objectId and googlecalendar the event
	// id).
	PartnerID string `json:"partnerId,omitempty"`
	// PayloadHash is the SHA-256 of the mapped payload's JSON encoding, in
	// hex, to tell whether two pushes carried the same content.
	PayloadHash string    `json:"payloadHash,omitempty"`
	Updated     time.Time `json:"updated"`
	// Event is the source event, kept for pending, failed and dead
	// deliveries so they can be pushed again.
	Event *Event `json:"event,omitempty"`
}

// deliveryJSON is a Delivery as JSON encodes it.
type deliveryJSON struct {
	plainDelivery
	DurationMs float64 `json:"durationMs"`
}

type plainDelivery Delivery // without the methods

// MarshalJSON encodes the delivery with its Duration in milliseconds, as
// "durationMs" (a fraction below one millisecond).
func (d Delivery) MarshalJSON() ([]byte, error) {
	return json.Marshal(deliveryJSON{plainDelivery(d), float64(d.Duration) / float64(time.Millisecond)})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (d *Delivery) UnmarshalJSON(b []byte) error {
	var v deliveryJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Delivery(v.plainDelivery)
	d.Duration = time.Duration(math.Round(v.DurationMs * float64(time.Millisecond)))
	return nil
}

// DeliveryFilter selects deliveries. Zero fields match everything.
type DeliveryFilter struct {
	EventID   string
	EventType string
	Connector string
	Key       string
	States    []Status
	Since     time.Time // updated at or after
	Limit     int       // at most this many (0: 100; capped at 10,000)
}

// Match reports whether d passes the filter, Limit aside. Every
// [DeliveryLog] applies this one rule.
func (f DeliveryFilter) Match(d *Delivery) bool {
	return (f.EventID == "" || f.EventID == d.EventID) &&
		(f.EventType == "" || f.EventType == d.EventType) &&
		(f.Connector == "" || f.Connector == d.Connector) &&
		(f.Key == "" || f.Key == d.Key) &&
		(len(f.States) == 0 || slices.Contains(f.States, d.State)) &&
		(f.Since.IsZero() || !d.Updated.Before(f.Since))
}

// maxList is the most entries one List of a [DeliveryLog] returns.
const maxList = 10_000

// Max is the most entries a [DeliveryLog]'s List may return for f: Limit,
// or 100 when Limit is zero or less, and never more than maxList (10,000).
// Every log applies this one rule.
func (f DeliveryFilter) Max() int {
	switch {
	case f.Limit <= 0:
		return 100
	case f.Limit > maxList:
		return maxList
	}
	return f.Limit
}

// DeliveryLog records the state of every (event, connector) delivery, for
// the status page and for replay. Implementations must be safe for
// concurrent use.
type DeliveryLog interface {
	// Put records d, replacing any entry for (d.EventID, d.Connector).
	Put(ctx context.Context, d Delivery) error
	// List returns the entries that match f, most recently updated first.
	List(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
}

// payloadHash hashes the payload's JSON encoding.
func payloadHash(p any) string {
	if p == nil {
		return ""
	}
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
