package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer/bus/internal/closing"
	"github.com/hmsplatform/synclayer/bus/internal/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Errors of the package.
var (
	// ErrInvalidType marks an event type that cannot be a subject token.
	ErrInvalidType = errors.New("nats: event type is not a valid subject token")
	// ErrDeadLetter marks a failure to publish a dead letter; the message
	// is then redelivered later and dead-lettered again.
	ErrDeadLetter = errors.New("nats: dead letter not published")
	// ErrClosed is returned by Publish and Subscribe after [Bus.Close].
	ErrClosed = errors.New("nats: bus closed")
)

// Bus is a [synclayer.Publisher] and [synclayer.Subscriber] on a JetStream
// stream. It is safe for concurrent use.
type Bus struct {
	js      jetstream.JetStream
	st      jetstream.Stream
	stream  string
	prefix  string
	ackWait time.Duration
	cfg     config.Settings

	deferred localDeferrals // when the stream cannot hold the counts
	subs     closing.Group
}

// NewBus returns a bus on the stream named stream, creating the stream if
// it does not exist. The caller keeps nc: the bus never closes it; close
// it after [Bus.Close] has returned.
func NewBus(ctx context.Context, nc *natsgo.Conn, stream string, opts ...Option) (*Bus, error) {
	if nc == nil {
		return nil, fmt.Errorf("nats: NewBus: %w: nil connection", option.ErrInvalid)
	}
	if stream == "" || strings.ContainsAny(stream, " \t\r\n.*>/\\") {
		return nil, fmt.Errorf("nats: NewBus: invalid stream name %q", stream)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("nats: NewBus: %w", err)
	}
	b := &Bus{js: js, stream: stream}
	if err := option.Apply("nats: NewBus", b, opts); err != nil {
		return nil, err
	}
	b.cfg.Resolve(config.Defaults)
	b.prefix = option.Default(b.prefix, stream)
	b.ackWait = option.Default(b.ackWait, 10*time.Second)
	st, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:     stream,
			Subjects: []string{b.prefix + ".>"},
			Storage:  jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = js.Stream(ctx, stream)
		}
		if err != nil {
			return nil, fmt.Errorf("nats: create stream %q: %w", stream, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("nats: look up stream %q: %w", stream, err)
	}
	b.st = st
	return b, nil
}

// Stream returns the name of the bus's stream.
func (b *Bus) Stream() string { return b.stream }

// Subject returns the subject events of eventType are published on.
func (b *Bus) Subject(eventType string) string { return b.prefix + ".event." + eventType }

// DeferralSubject returns the subject on which the bus counts the
// deferrals of the message with stream sequence seq, for its group.
func (b *Bus) DeferralSubject(seq uint64) string {
	return b.prefix + ".deferral." + b.cfg.Group + "." + strconv.FormatUint(seq, 10)
}

// DeadLetterSubject returns the subject dead letters are published on.
func (b *Bus) DeadLetterSubject() string { return b.prefix + ".deadletter" }

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Close stops the bus's Subscribe calls taking new events and waits, until
// ctx ends, for the handler calls in flight to return (they may still
// publish meanwhile); then the Subscribe calls return nil. If ctx ends
// first, the handlers' contexts are cancelled and Close returns ctx's
// error. Afterwards Publish and Subscribe fail with [ErrClosed]. Close may
// be called more than once. It does not close the connection given to
// [NewBus], which stays the caller's.
func (b *Bus) Close(ctx context.Context) error {
	if err := b.subs.Close(ctx); err != nil {
		return fmt.Errorf("nats: close: handlers still running: %w", err)
	}
	return nil
}
