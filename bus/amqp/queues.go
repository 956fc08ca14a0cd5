package amqp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Queue returns the name of the group's queue.
func (b *Bus) Queue() string { return b.exchange + "." + b.cfg.Group }

// DeadLetterQueue returns the name of the group's dead-letter queue.
func (b *Bus) DeadLetterQueue() string { return b.Queue() + ".deadletter" }

// RetryQueues returns the names of the group's retry queues, one per
// redelivery delay.
func (b *Bus) RetryQueues() []string {
	var qs []string
	for i := range b.retryLevels() {
		qs = append(qs, b.retryQueue(b.cfg.RedeliveryDelay<<i))
	}
	return qs
}

func (b *Bus) retryLevels() int { return min(b.cfg.MaxDeliveries, 7) }

// Deferral queues: a delay asked for with synclayer.Redeliver is rounded up
// to minDeferral times a power of two, at most minDeferral<<deferralLevels.
const (
	minDeferral    = 64 * time.Millisecond
	deferralLevels = 14 // up to about 17 minutes
)

// DeferralQueues returns the names of the group's deferral queues, where
// events deferred with [synclayer.Redeliver] wait; each is declared on
// first use.
func (b *Bus) DeferralQueues() []string {
	var qs []string
	for i := range deferralLevels + 1 {
		qs = append(qs, b.deferralQueue(minDeferral<<i))
	}
	return qs
}

// deferralQueue names the deferral queue for a wait of at least d.
func (b *Bus) deferralQueue(d time.Duration) string {
	q := minDeferral
	for i := 0; i < deferralLevels && q < d; i++ {
		q <<= 1
	}
	return b.Queue() + ".defer." + strconv.FormatInt(q.Milliseconds(), 10) + "ms"
}

func (b *Bus) retryQueue(d time.Duration) string {
	return b.Queue() + ".retry." + strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// declareQueue declares, once per connection, a queue the bus publishes to
// directly: the dead-letter queue, a retry queue or a deferral queue.
// b.mu must be held.
func (b *Bus) declareQueue(ch *amqp.Channel, name string) error {
	if b.declared[name] {
		return nil
	}
	var args amqp.Table
	if name != b.DeadLetterQueue() {
		// A retry or deferral queue: messages wait there for the queue's TTL, then
		// go back to the group's queue.
		ms, err := strconv.ParseInt(strings.TrimSuffix(name[strings.LastIndexByte(name, '.')+1:], "ms"), 10, 64)
		if err != nil {
			return fmt.Errorf("amqp: bad retry queue name %q", name)
		}
		args = amqp.Table{
			"x-message-ttl":             ms,
			"x-dead-letter-exchange":    "",
			"x-dead-letter-routing-key": b.Queue(),
		}
	}
	if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
		return fmt.Errorf("amqp: declare queue %q: %w", name, err)
	}
	b.declared[name] = true
	return nil
}

// Declare declares the exchange, and the group's queue bound to
// eventTypes, as Subscribe does. Events published after it returns are kept
// for the group even before anyone subscribes.
func (b *Bus) Declare(ctx context.Context, eventTypes []string) error {
	ch, err := b.channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return b.declareGroup(ch, eventTypes)
}

func (b *Bus) declareGroup(ch *amqp.Channel, types []string) error {
	if err := ch.ExchangeDeclare(b.exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("amqp: declare exchange %q: %w", b.exchange, err)
	}
	q := b.Queue()
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		return fmt.Errorf("amqp: declare queue %q: %w", q, err)
	}
	for _, t := range types {
		if t == "" || strings.ContainsAny(t, "*#") {
			return fmt.Errorf("amqp: event type %q cannot be a routing key", t)
		}
		if err := ch.QueueBind(q, t, b.exchange, false, nil); err != nil {
			return fmt.Errorf("amqp: bind %q to %q: %w", q, t, err)
		}
	}
	return nil
}
