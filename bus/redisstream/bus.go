package redisstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer/bus/internal/closing"
	"github.com/hmsplatform/synclayer/bus/internal/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

// ErrDeadLetter marks a failure to write a dead letter; the entry then
// stays pending and is dead-lettered again later.
var ErrDeadLetter = errors.New("redisstream: dead letter not written")

// ErrClosed is returned by Publish and Subscribe after [Bus.Close].
var ErrClosed = errors.New("redisstream: bus closed")

// Fields of stream entries.
const (
	// FieldEvent holds a structured-mode CloudEvent, as Publish writes it.
	FieldEvent = "event"
	// FieldData holds the data of a binary-mode entry, whose attributes are
	// in "ce-" fields.
	FieldData = "data"
	// FieldReason, FieldDeliveries, FieldStream and FieldID are added to a
	// dead letter: why, after how many deliveries, and where the entry was.
	FieldReason     = "deadletter-reason"
	FieldDeliveries = "deadletter-deliveries"
	FieldStream     = "deadletter-stream"
	FieldID         = "deadletter-id"
)

// retryConsumer owns the entries waiting for a redelivery.
const retryConsumer = "synclayer-retry"

// Bus is a [synclayer.Publisher] and [synclayer.Subscriber] on Redis
// Streams. It is safe for concurrent use.
type Bus struct {
	rdb       redis.UniversalClient
	prefix    string
	claimIdle time.Duration
	maxLen    int64
	cfg       config.Settings

	subs   closing.Group
	gather gathering // Publish calls waiting for the XADD in flight
}

// NewBus returns a bus whose keys start with "{prefix}:". The caller keeps
// rdb: the bus never closes it; close it after [Bus.Close] has returned.
func NewBus(rdb redis.UniversalClient, prefix string, opts ...Option) (*Bus, error) {
	if rdb == nil {
		return nil, fmt.Errorf("redisstream: NewBus: %w: nil client", option.ErrInvalid)
	}
	if prefix == "" || strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redisstream: NewBus: invalid prefix %q (empty, or holds braces)", prefix)
	}
	b := &Bus{rdb: rdb, prefix: prefix}
	if err := option.Apply("redisstream: NewBus", b, opts); err != nil {
		return nil, err
	}
	b.cfg.Resolve(config.Defaults)
	b.claimIdle = option.Default(b.claimIdle, 10*time.Second)
	b.maxLen = option.Default(b.maxLen, 100_000)
	return b, nil
}

// Stream returns the key of the stream of eventType.
func (b *Bus) Stream(eventType string) string { return "{" + b.prefix + "}:event:" + eventType }

// DeferralsKey returns the key of the hash that counts, per entry of the
// group, the deliveries its handler deferred with [synclayer.Redeliver]
// and the delay it asked for.
func (b *Bus) DeferralsKey() string { return "{" + b.prefix + "}:deferred:" + b.cfg.Group }

// DeadLetterStream returns the key of the dead-letter stream.
func (b *Bus) DeadLetterStream() string { return "{" + b.prefix + "}:deadletter" }

// Close stops the bus's Subscribe calls taking new entries and waits, until
// ctx ends, for the handler calls in flight to return (they may still
// publish meanwhile, and their entries are kept fresh); then the Subscribe
// calls return nil. If ctx ends first, the handlers' contexts are
// cancelled and Close returns ctx's error. Afterwards Publish and
// Subscribe fail with [ErrClosed]. Close may be called more than once. It
// does not close the client given to [NewBus], which stays the caller's.
func (b *Bus) Close(ctx context.Context) error {
	if err := b.subs.Close(ctx); err != nil {
		return fmt.Errorf("redisstream: close: handlers still running: %w", err)
	}
	return nil
}
