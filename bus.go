package synclayer

import "context"

// Publisher sends events to the bus. Implementations must be safe for
// concurrent use.
type Publisher interface {
	Publish(ctx context.Context, ev Event) error
}

// Handler processes one delivered event. nil acknowledges it; an error asks
// the bus to redeliver it later, unless [IsPermanent] reports true, in which
// case the bus dead-letters it at once.
type Handler func(ctx context.Context, ev Event) error

// Subscriber delivers events of the given types to h, at least once, until
// ctx ends. Subscribe blocks; it returns after ctx ends and every handler
// call it started has returned, or earlier with an error if the bus fails.
// A handler that has not returned when ctx ends gets its event redelivered
// if it then fails.
type Subscriber interface {
	Subscribe(ctx context.Context, eventTypes []string, h Handler) error
}
