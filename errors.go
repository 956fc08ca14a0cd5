package synclayer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hmsplatform/synclayer/internal/clip"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Error categories. Test for them with [errors.Is]; the details of a failure
// (event, connector, key) are in [*SyncError], found with [errors.As].
var (
	// ErrInvalidOption marks a bad value given to an option (a negative
	// timeout, a failure rate above 1): the constructor, or
	// [Registry.Register] for connector options, returns an error wrapping
	// it that names the option. A zero value is never invalid: it means the
	// default. It also marks a bad required argument of a constructor (a
	// nil client, *sql.DB or Dispatcher), directly or through the package's
	// own sentinel, such as sqlstore.ErrConfig, which matches it too.
	ErrInvalidOption = option.ErrInvalid

	// ErrInvalidEvent marks an event the library cannot process at all: no ID,
	// no Type, or Data larger than the dispatcher's limit. It is permanent.
	ErrInvalidEvent = errors.New("invalid event")

	// ErrMapping marks a Mapper failure: malformed Data, a missing or
	// mistyped field, a mapper that panicked, or a record key that is
	// empty, longer than 1,024 bytes, not UTF-8, or holds control or
	// invisible formatting characters. It is permanent.
	ErrMapping = errors.New("mapping failed")

	// ErrStore marks a failure of the idempotency [Store]. Such a route did
	// not finish; redelivering the event is safe and will try it again.
	ErrStore = errors.New("idempotency store failed")

	// ErrPublish marks a failure to publish a SyncCompleted or SyncFailed
	// announcement. Redelivering the event publishes it again.
	ErrPublish = errors.New("announcement not published")
)

// SyncError is the error of one route of one event. It names the event, the
// connector and the record key, and wraps the cause, so that
// errors.Is(err, ErrMapping), IsPermanent(err) and errors.As on a
// connector's own error types keep working.
type SyncError struct {
	EventID   string
	EventType string
	Connector string
	Key       string // empty when the mapper failed before making a record
	Op        string // "map", "sync", "store", ...
	Err       error
}

// Error reports the route and the cause in one line.
func (e *SyncError) Error() string {
	var b strings.Builder
	b.WriteString("synclayer: event ")
	b.WriteString(quote(e.EventID))
	if e.EventType != "" {
		b.WriteString(" (")
		b.WriteString(quote(e.EventType))
		b.WriteString(")")
	}
	b.WriteString(" connector ")
	b.WriteString(quote(e.Connector))
	if e.Key != "" {
		b.WriteString(" key ")
		b.WriteString(quote(e.Key))
	}
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("unknown error")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *SyncError) Unwrap() error { return e.Err }

// PanicError is the cause of a route whose mapper or connector panicked
// (find it with errors.As); the route failed for good. Its Error text says where the panic happened
// and the Go type of the panic's value, never the value itself: a panic's
// value can be large or hold anything (a request, a secret), and error
// texts travel in announcements across the bus. Value keeps the value, as
// text bounded in size, for the local log only ([LogObserver] writes it).
type PanicError struct {
	Where string // "mapper" or "connector"
	Type  string // the Go type of the panic's value, e.g. "runtime.boundsError"
	Value string // the panic's value as text, bounded in size
}

// Error says where the panic happened and the type of its value.
func (e *PanicError) Error() string {
	return "panic recovered in " + e.Where + " (value of type " + e.Type + ")"
}

func newPanicError(where string, v any) *PanicError {
	return &PanicError{Where: where, Type: fmt.Sprintf("%T", v), Value: clip.String(fmt.Sprint(v), maxMessage)}
}

// maxMessage bounds an error text the package keeps (in a delivery, an
// announcement, a PanicError), so a partner's 10 MB error page cannot blow
// up the log.
const maxMessage = 1024

// maxQuoted bounds how much of an identifier an error message repeats, so a
// hostile 10 MB key cannot blow up log lines.
const maxQuoted = 256

// quote renders an identifier for an error message: Go-quoted (so CR/LF, NUL
// and invalid UTF-8 are visible and harmless) and bounded in length.
func quote(s string) string {
	if len(s) > maxQuoted {
		return fmt.Sprintf("%q…(%d bytes)", clip.Prefix(s, maxQuoted), len(s))
	}
	return fmt.Sprintf("%q", s)
}

// ErrUnknownConnector: no connector of that name is registered.
var ErrUnknownConnector = errors.New("unknown connector")

// errKeyBusy marks a route whose record key is leased by another process
// (pushing it now, or dead and not yet past its lease). [Dispatcher.Run]
// does not wait for such a key in a handler slot: it gives the slot back
// and asks the bus, with [Redeliver], to bring the event again once the
// lease can have ended.
var errKeyBusy = errors.New("record key busy in another process")

// errHeld marks a route held back because its connector is paused or its
// circuit breaker is open, while the delivery log cannot keep it across a
// restart (it is not a [idempotency.DurableLog], or it is full). [Dispatcher.Run] asks
// the bus, with [Redeliver], to bring the event again later rather than
// acknowledge what lives only in memory.
var errHeld = errors.New("connector held: paused or circuit open")

// errInvalidKey marks a mapped Record whose Key no partner can hold safely
// (see validateKey). It is a mapping failure.
var errInvalidKey = fmt.Errorf("%w: invalid record key", ErrMapping)
