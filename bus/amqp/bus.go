package amqp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer/bus/internal/closing"
	"github.com/hmsplatform/synclayer/bus/internal/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Errors of the package.
var (
	// ErrNotConfirmed marks a publish the broker refused (a negative
	// publisher confirm).
	ErrNotConfirmed = errors.New("amqp: publish not confirmed by the broker")
	// ErrDeadLetter marks a failure to publish a dead letter or a retry;
	// the message is then requeued.
	ErrDeadLetter = errors.New("amqp: dead letter not published")
	// ErrClosed is returned by Publish, Subscribe and Declare after
	// [Bus.Close].
	ErrClosed = errors.New("amqp: bus closed")
)

// Headers the bus sets.
const (
	// HeaderDeliveries counts the deliveries of a message before this one;
	// on a dead letter, all of them.
	HeaderDeliveries = "x-synclayer-deliveries"
	// HeaderReason holds why a message was dead-lettered.
	HeaderReason = "x-synclayer-reason"
	// HeaderDeferrals counts the deliveries of a message that its handler
	// deferred with [synclayer.Redeliver]; they are not in
	// HeaderDeliveries.
	HeaderDeferrals = "x-synclayer-deferrals"
)

// Bus is a [synclayer.Publisher] and [synclayer.Subscriber] on RabbitMQ (or
// another AMQP 0-9-1 broker). It is safe for concurrent use. Close it when
// done.
type Bus struct {
	url      string
	exchange string
	dial     amqp.Config
	cfg      config.Settings

	subs closing.Group

	mu       sync.Mutex // guards conn, pub, declared, closed
	conn     *amqp.Connection
	pub      *amqp.Channel // in confirm mode
	declared map[string]bool
	closed   bool
}

// NewBus connects to url and declares the topic exchange. It returns an
// error if the broker cannot be reached now; later losses of the
// connection are repaired by reconnecting.
func NewBus(ctx context.Context, url, exchange string, opts ...Option) (*Bus, error) {
	if exchange == "" || strings.HasPrefix(exchange, "amq.") {
		return nil, fmt.Errorf("amqp: NewBus: invalid exchange name %q", exchange)
	}
	b := &Bus{url: url, exchange: exchange, declared: map[string]bool{}}
	if err := option.Apply("amqp: NewBus", b, opts); err != nil {
		return nil, err
	}
	b.cfg.Resolve(config.Defaults)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.publisher(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// Close stops the bus's Subscribe calls taking new messages and waits,
// until ctx ends, for the handler calls in flight to return (they may
// still publish meanwhile); then the Subscribe calls return nil. Then it
// closes the connection the bus dialled (the bus owns it: NewBus took a
// URL), which requeues whatever is still unacknowledged. If ctx ends
// first, the handlers' contexts are cancelled, the connection is closed
// all the same, and Close returns ctx's error. Afterwards Publish,
// Subscribe and Declare fail with [ErrClosed]. Close may be called more
// than once.
func (b *Bus) Close(ctx context.Context) error {
	werr := b.subs.Close(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	var cerr error
	if b.conn != nil && !b.conn.IsClosed() {
		cerr = b.conn.Close()
	}
	switch {
	case werr != nil:
		return fmt.Errorf("amqp: close: handlers still running: %w", werr)
	case cerr != nil:
		return fmt.Errorf("amqp: close: %w", cerr)
	}
	return nil
}
