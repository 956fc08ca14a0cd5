package synclayer

import "context"

// Publisher sends events to the bus. Implementations must be safe for
// concurrent use.
type Publisher interface {
	Publish(ctx context.Context, ev Event) error
}

// Subscriber delivers events of the given types to h, at least once, until
// ctx ends. Subscribe blocks; it returns after ctx ends and every call of h
// it started has returned, or earlier with an error if the bus fails.
//
// What h returns decides the event's fate: nil acknowledges it; an error
// asks the bus to redeliver it later, unless [IsPermanent] reports true, in
// which case the bus dead-letters it at once; an error made by [Redeliver]
// asks for a redelivery after its delay that does not count toward
// dead-lettering. A call of h that has not returned when ctx ends gets its
// event redelivered if it then fails.
type Subscriber interface {
	Subscribe(ctx context.Context, eventTypes []string, h func(ctx context.Context, ev Event) error) error
}
