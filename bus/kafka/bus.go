package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer/bus/internal/closing"
	"github.com/hmsplatform/synclayer/bus/internal/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Errors of the package.
var (
	// ErrInvalidType marks an event type that cannot be part of a topic
	// name (ASCII letters, digits, '.', '_' and '-' only).
	ErrInvalidType = errors.New("kafka: event type cannot be part of a topic name")
	// ErrProduce marks a failure to produce a retry or a dead letter; the
	// subscriber then stops with this error without committing the record,
	// which another member of the group consumes again.
	ErrProduce = errors.New("kafka: retry or dead letter not produced")
	// ErrClosed is returned by Publish and Subscribe after [Bus.Close].
	ErrClosed = errors.New("kafka: bus closed")
)

// Headers the bus sets on retries and dead letters.
const (
	// HeaderDeliveries counts the deliveries of a record before this one;
	// on a dead letter, all of them.
	HeaderDeliveries = "synclayer-deliveries"
	// HeaderNotBefore holds, on a retry, the Unix time in milliseconds
	// before which it is not delivered.
	HeaderNotBefore = "synclayer-not-before"
	// HeaderReason holds why a record was dead-lettered.
	HeaderReason = "synclayer-reason"
	// HeaderTopic holds, on a dead letter, the topic the record came from.
	HeaderTopic = "synclayer-topic"
	// HeaderDeferrals counts the deliveries of a record that its handler
	// deferred with [synclayer.Redeliver]; they are not in
	// HeaderDeliveries.
	HeaderDeferrals = "synclayer-deferrals"
)

// DefaultSessionTimeout is the consumer group session timeout of a
// subscriber unless [WithClientOptions] sets another with
// kgo.SessionTimeout: when a member dies without leaving the group, its
// partitions, and the records it had not committed, go to the other
// members after about this long.
const DefaultSessionTimeout = 10 * time.Second

// DefaultFetchMaxWait is how long a subscriber's fetch waits at most for
// new records, unless [WithClientOptions] sets another with
// kgo.FetchMaxWait (franz-go's default is 5s). A partition whose waiting
// record is due is fetched again with the member's next fetch to its
// broker, so on a quiet cluster the records behind the ones the member
// kept wait up to about this long.
const DefaultFetchMaxWait = 500 * time.Millisecond

// Bus is a [synclayer.Publisher] and [synclayer.Subscriber] on Kafka. It is
// safe for concurrent use. Close it when done.
type Bus struct {
	seeds      []string
	prefix     string
	clientOpts []kgo.Opt
	cfg        config.Settings
	producer   *kgo.Client

	subs      closing.Group
	closeOnce sync.Once
}

// NewBus returns a bus on the brokers seeds whose topics start with
// "<prefix>.".
func NewBus(seeds []string, prefix string, opts ...Option) (*Bus, error) {
	if len(seeds) == 0 {
		return nil, errors.New("kafka: NewBus: no seed brokers")
	}
	if !validTopicPart(prefix) {
		return nil, fmt.Errorf("kafka: NewBus: invalid prefix %q", prefix)
	}
	b := &Bus{seeds: seeds, prefix: prefix}
	if err := option.Apply("kafka: NewBus", b, opts); err != nil {
		return nil, err
	}
	def := config.Defaults
	def.Concurrency = 16
	b.cfg.Resolve(def)
	p, err := kgo.NewClient(append(slices.Clone(b.clientOpts),
		kgo.SeedBrokers(seeds...),
		kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: NewBus: %w", err)
	}
	b.producer = p
	return b, nil
}

// Close stops the bus's Subscribe calls taking new records and waits,
// until ctx ends, for the handler calls in flight to return (they may
// still publish meanwhile); those calls then commit what they finished,
// leave the group and return nil. Then it closes the producer the bus made.
// If ctx ends first, the handlers' contexts are cancelled, the producer is
// closed all the same, and Close returns ctx's error. Afterwards Publish
// and Subscribe fail with [ErrClosed]. Close may be called more than once.
// The bus makes and closes all its clients itself.
func (b *Bus) Close(ctx context.Context) error {
	err := b.subs.Close(ctx)
	b.closeOnce.Do(b.producer.Close)
	if err != nil {
		return fmt.Errorf("kafka: close: handlers still running: %w", err)
	}
	return nil
}

func validTopicPart(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Topic returns the topic of events of eventType.
func (b *Bus) Topic(eventType string) string { return b.prefix + ".event." + eventType }

// RetryTopic returns the group's retry topic for eventType.
func (b *Bus) RetryTopic(eventType string) string {
	return b.prefix + ".retry." + b.cfg.Group + "." + eventType
}

// DeadLetterTopic returns the dead-letter topic.
func (b *Bus) DeadLetterTopic() string { return b.prefix + ".deadletter" }
