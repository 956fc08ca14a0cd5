package amqp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/closing"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// Errors of the package.
var (
	// ErrNotConfirmed marks a publish the broker refused (a negative
	// publisher confirm).
	ErrNotConfirmed = errors.New("amqp: publish not confirmed by the broker")
	// ErrDeadLetter marks a failure to publish a dead letter or a retry;
	// the message is then requeued.
	ErrDeadLetter = errors.New("amqp: dead letter not published")
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

// Option configures [NewBus].
type Option func(*Bus)

// WithGroup sets the consumer group: subscribers with the same group share
// one queue, "<exchange>.<group>" (default group "synclayer").
func WithGroup(name string) Option {
	return func(b *Bus) {
		if name != "" {
			b.group = name
		}
	}
}

// WithMaxDeliveries sets how many times an event is delivered before it is
// dead-lettered (default 5; n < 1 is taken as 1).
func WithMaxDeliveries(n int) Option { return func(b *Bus) { b.maxDeliveries = max(n, 1) } }

// WithRedeliveryDelay sets the wait before the first redelivery of an event
// whose handler failed (default 1s); each further redelivery waits twice
// as long, up to 64 times this delay.
func WithRedeliveryDelay(d time.Duration) Option {
	return func(b *Bus) {
		if d >= time.Millisecond {
			b.delay = d
		}
	}
}

// WithConcurrency sets how many handler calls each Subscribe runs at once,
// which is also its prefetch count (default 64: on the durable path each handler call waits on store round trips, so throughput grows with it).
func WithConcurrency(n int) Option { return func(b *Bus) { b.concurrency = max(n, 1) } }

// WithConfig sets the amqp091 connection configuration (TLS, heartbeat,
// a custom Dial, ...). Default: amqp091's defaults.
func WithConfig(c amqp.Config) Option { return func(b *Bus) { b.cfg = c } }

// WithLogger sets where the bus logs what it cannot return (default:
// nothing is logged).
func WithLogger(l *slog.Logger) Option { return func(b *Bus) { b.log = l } }

// Bus is a [synclayer.Publisher] and [synclayer.Subscriber] on RabbitMQ (or
// another AMQP 0-9-1 broker). It is safe for concurrent use. Close it when
// done.
type Bus struct {
	url           string
	exchange      string
	group         string
	maxDeliveries int
	delay         time.Duration
	concurrency   int
	cfg           amqp.Config
	log           *slog.Logger

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
	b := &Bus{
		url:           url,
		exchange:      exchange,
		group:         "synclayer",
		maxDeliveries: 5,
		delay:         time.Second,
		concurrency:   64,
		declared:      map[string]bool{},
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.publisher(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// Queue returns the name of the group's queue.
func (b *Bus) Queue() string { return b.exchange + "." + b.group }

// DeadLetterQueue returns the name of the group's dead-letter queue.
func (b *Bus) DeadLetterQueue() string { return b.Queue() + ".deadletter" }

// RetryQueues returns the names of the group's retry queues, one per
// redelivery delay.
func (b *Bus) RetryQueues() []string {
	var qs []string
	for i := range b.retryLevels() {
		qs = append(qs, b.retryQueue(b.delay<<i))
	}
	return qs
}

func (b *Bus) retryLevels() int { return min(b.maxDeliveries, 7) }

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

// ErrClosed is returned by Publish, Subscribe and Declare after
// [Bus.Close].
var ErrClosed = errors.New("amqp: bus closed")

// connection returns a live connection, dialling a new one if needed.
// b.mu must be held.
func (b *Bus) connection() (*amqp.Connection, error) {
	if b.closed {
		return nil, ErrClosed
	}
	if b.conn != nil && !b.conn.IsClosed() {
		return b.conn, nil
	}
	c, err := amqp.DialConfig(b.url, b.cfg)
	if err != nil {
		return nil, fmt.Errorf("amqp: connect: %w", redact(err, b.url))
	}
	b.conn = c
	b.pub = nil
	b.declared = map[string]bool{}
	return c, nil
}

// redact keeps the URL's password out of an error.
func redact(err error, url string) error {
	if u, perr := amqp.ParseURI(url); perr == nil && u.Password != "" && strings.Contains(err.Error(), u.Password) {
		return errors.New(strings.ReplaceAll(err.Error(), u.Password, "xxxxx"))
	}
	return err
}

// publisher returns the confirm-mode channel for publishing, opening it
// (and the connection) if needed, and declaring the exchange.
// b.mu must be held.
func (b *Bus) publisher(ctx context.Context) (*amqp.Channel, error) {
	c, err := b.connection()
	if err != nil {
		return nil, err
	}
	if b.pub != nil && !b.pub.IsClosed() {
		return b.pub, nil
	}
	ch, err := c.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqp: open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("amqp: confirm mode: %w", err)
	}
	if err := ch.ExchangeDeclare(b.exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("amqp: declare exchange %q: %w", b.exchange, err)
	}
	b.pub = ch
	return ch, nil
}

// send publishes one message with a publisher confirm, reconnecting once if
// the connection was lost.
func (b *Bus) send(ctx context.Context, exchange, key string, msg amqp.Publishing) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		b.mu.Lock()
		var ch *amqp.Channel
		ch, err = b.publisher(ctx)
		if err != nil {
			b.mu.Unlock()
			if errors.Is(err, ErrClosed) {
				return err
			}
			continue
		}
		if exchange == "" {
			err = b.declareQueue(ch, key)
		}
		var conf *amqp.DeferredConfirmation
		if err == nil {
			conf, err = ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
		}
		b.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // the channel or connection died: open new ones
		}
		ok, werr := conf.WaitContext(ctx)
		if werr != nil {
			return werr
		}
		if !ok {
			return ErrNotConfirmed
		}
		return nil
	}
	return err
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

// Publish sends ev to the exchange with its type as the routing key, and
// waits for the broker's confirm. Events of a type no queue is bound to are
// dropped by the broker, as AMQP does.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("amqp: publish %q: %w", ev.ID, err))
	}
	msg := amqp.Publishing{
		ContentType:  cloudevents.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    ev.ID,
		Type:         ev.Type,
		Body:         body,
	}
	if err := b.send(ctx, b.exchange, ev.Type, msg); err != nil {
		return fmt.Errorf("amqp: publish %q: %w", ev.ID, err)
	}
	return nil
}

// Subscribe delivers events of eventTypes to h until ctx ends, running up to
// WithConcurrency handler calls at once; see the package doc for the
// delivery semantics. The handler's context ends with ctx. Subscribe
// returns nil after ctx ends, or [Bus.Close] stops it, and every handler
// call has returned; when the connection drops it reconnects, and it
// returns an error only if that keeps failing for a minute, or
// [ErrClosed] when the bus was closed before.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	if h == nil {
		return errors.New("amqp: subscribe: nil handler")
	}
	if len(eventTypes) == 0 {
		return errors.New("amqp: subscribe: no event types")
	}
	for _, t := range eventTypes {
		if t == "" || strings.ContainsAny(t, "*#") {
			return fmt.Errorf("amqp: subscribe: event type %q cannot be a routing key", t)
		}
	}
	ctx, hctx, leave, ok := b.subs.Enter(ctx)
	if !ok {
		return ErrClosed
	}
	defer leave()
	var handlers sync.WaitGroup
	defer handlers.Wait()
	sem := make(chan struct{}, b.concurrency)
	var firstFail time.Time
	wait := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := b.consume(ctx, hctx, eventTypes, h, sem, &handlers)
		if err == nil || ctx.Err() != nil {
			firstFail = time.Time{}
			wait = 50 * time.Millisecond
			continue
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		if firstFail.IsZero() {
			firstFail = time.Now()
		} else if time.Since(firstFail) > time.Minute {
			return fmt.Errorf("amqp: subscribe: failing since %v: %w", firstFail.Format(time.RFC3339), err)
		}
		if b.log != nil {
			b.log.Warn("amqp: subscriber lost its channel; reconnecting", "err", err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 2*time.Second)
	}
	return nil
}

// consume opens a channel, declares the group's queue and bindings, and
// delivers messages until ctx ends (nil) or the channel dies (an error).
// Handlers run with hctx.
func (b *Bus) consume(ctx, hctx context.Context, types []string, h func(context.Context, synclayer.Event) error, sem chan struct{}, handlers *sync.WaitGroup) error {
	b.mu.Lock()
	c, err := b.connection()
	b.mu.Unlock()
	if err != nil {
		return err
	}
	ch, err := c.Channel()
	if err != nil {
		return fmt.Errorf("amqp: open channel: %w", err)
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	defer ch.Close()
	// The handlers of this channel's deliveries, waited for before the
	// channel is closed on the way out.
	var mine sync.WaitGroup
	if err := ch.Qos(b.concurrency, 0, false); err != nil {
		return fmt.Errorf("amqp: qos: %w", err)
	}
	if err := b.declareGroup(ch, types); err != nil {
		return err
	}
	q := b.Queue()
	tag := "synclayer-" + randomHex(6)
	deliveries, err := ch.Consume(q, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("amqp: consume %q: %w", q, err)
	}
	stopping := false
	for {
		select {
		case <-ctx.Done():
			if !stopping {
				stopping = true
				// Stop the flow; what is already on its way is requeued
				// below as it arrives, until the deliveries channel closes.
				if err := ch.Cancel(tag, false); err != nil {
					mine.Wait()
					return nil
				}
			}
		case d, ok := <-deliveries:
			if !ok {
				if stopping {
					mine.Wait()
					return nil
				}
				return fmt.Errorf("amqp: consumer channel closed: %v", <-closed)
			}
			if ctx.Err() != nil {
				d.Nack(false, true)
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				d.Nack(false, true)
				continue
			}
			handlers.Add(1)
			mine.Add(1)
			go func() {
				defer func() { <-sem; mine.Done(); handlers.Done() }()
				b.handle(hctx, d, h)
			}()
		}
	}
}

// Declare declares the exchange, and the group's queue bound to
// eventTypes, as Subscribe does. Events published after it returns are kept
// for the group even before anyone subscribes.
func (b *Bus) Declare(ctx context.Context, eventTypes []string) error {
	b.mu.Lock()
	c, err := b.connection()
	b.mu.Unlock()
	if err != nil {
		return err
	}
	ch, err := c.Channel()
	if err != nil {
		return fmt.Errorf("amqp: open channel: %w", err)
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

func randomHex(n int) string {
	p := make([]byte, n)
	rand.Read(p)
	return hex.EncodeToString(p)
}

func deliveriesBefore(d amqp.Delivery) int { return intHeader(d, HeaderDeliveries) }

func intHeader(d amqp.Delivery, key string) int {
	switch v := d.Headers[key].(type) {
	case int32:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	}
	return 0
}

func (b *Bus) handle(ctx context.Context, d amqp.Delivery, h func(context.Context, synclayer.Event) error) {
	deliveries := deliveriesBefore(d) + 1
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ev, err := decode(d)
	if err != nil {
		b.deadLetter(sctx, d, fmt.Errorf("amqp: message %q: %w", d.MessageId, err), deliveries)
		return
	}
	if deliveries > b.maxDeliveries {
		b.deadLetter(sctx, d, fmt.Errorf("amqp: event %q delivered %d times, over the limit of %d, without an outcome", ev.ID, deliveries, b.maxDeliveries), deliveries)
		return
	}
	herr := call(ctx, h, ev)
	if after, ok := synclayer.RedeliverAfter(herr); ok {
		b.deferral(sctx, d, after, deliveries)
		return
	}
	switch {
	case herr == nil:
		if err := d.Ack(false); err != nil && b.log != nil {
			b.log.Warn("amqp: ack failed; the event will be redelivered", "event", ev.ID, "err", err)
		}
	case synclayer.IsPermanent(herr) || deliveries >= b.maxDeliveries:
		b.deadLetter(sctx, d, herr, deliveries)
	default:
		b.retry(sctx, d, deliveries)
	}
}

func call(ctx context.Context, h func(context.Context, synclayer.Event) error, ev synclayer.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("amqp: handler panicked on event %q: %v", ev.ID, p)
		}
	}()
	return h(ctx, ev)
}

func decode(d amqp.Delivery) (synclayer.Event, error) {
	return cloudevents.Decode(d.Body, func(yield func(string, string) bool) {
		if d.ContentType != "" && !yield("content-type", d.ContentType) {
			return
		}
		for k, v := range d.Headers {
			s, ok := v.(string)
			if !ok {
				continue
			}
			// The AMQP binding of CloudEvents names the attributes
			// "cloudEvents:id" (or "cloudEvents_id").
			lk := strings.ToLower(k)
			if rest, ok := strings.CutPrefix(lk, "cloudevents:"); ok {
				k = "ce-" + rest
			} else if rest, ok := strings.CutPrefix(lk, "cloudevents_"); ok {
				k = "ce-" + rest
			}
			if !yield(k, s) {
				return
			}
		}
	})
}

// copyOf is the message to republish for d, with its delivery count.
func copyOf(d amqp.Delivery, deliveries int) amqp.Publishing {
	hdr := amqp.Table{}
	for k, v := range d.Headers {
		if !strings.HasPrefix(k, "x-death") && k != "x-first-death-exchange" && k != "x-first-death-queue" && k != "x-first-death-reason" {
			hdr[k] = v
		}
	}
	hdr[HeaderDeliveries] = int64(deliveries)
	return amqp.Publishing{
		Headers:      hdr,
		ContentType:  d.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    d.MessageId,
		Type:         d.Type,
		Body:         d.Body,
	}
}

// retry parks d in the retry queue of its delay, then acknowledges it.
func (b *Bus) retry(ctx context.Context, d amqp.Delivery, deliveries int) {
	q := b.retryQueue(b.delay << min(deliveries-1, 6))
	if err := b.send(ctx, "", q, copyOf(d, deliveries)); err != nil {
		if b.log != nil {
			b.log.Warn("amqp: could not schedule a redelivery; requeued at once", "message", d.MessageId, "err", err)
		}
		d.Nack(false, true)
		return
	}
	d.Ack(false)
}

// deferral parks d in the deferral queue of at least the delay after,
// without counting this delivery, then acknowledges it.
func (b *Bus) deferral(ctx context.Context, d amqp.Delivery, after time.Duration, deliveries int) {
	msg := copyOf(d, deliveries-1)
	msg.Headers[HeaderDeferrals] = int64(intHeader(d, HeaderDeferrals) + 1)
	if err := b.send(ctx, "", b.deferralQueue(after), msg); err != nil {
		if b.log != nil {
			b.log.Warn("amqp: could not defer a redelivery; requeued at once", "message", d.MessageId, "err", err)
		}
		d.Nack(false, true)
		return
	}
	d.Ack(false)
}

// deadLetter publishes d to the dead-letter queue with the reason, then
// acknowledges it.
func (b *Bus) deadLetter(ctx context.Context, d amqp.Delivery, reason error, deliveries int) {
	msg := copyOf(d, deliveries)
	msg.Headers[HeaderReason] = bound(reason.Error())
	if err := b.send(ctx, "", b.DeadLetterQueue(), msg); err != nil {
		if b.log != nil {
			b.log.Error("amqp: dead letter not published; requeued", "message", d.MessageId, "reason", reason, "err", fmt.Errorf("%w: %w", ErrDeadLetter, err))
		}
		d.Nack(false, true)
		return
	}
	d.Ack(false)
	if b.log != nil {
		b.log.Warn("amqp: message dead-lettered", "message", d.MessageId, "deliveries", deliveries, "reason", reason)
	}
}

// bound cuts a reason to a sensible size on a rune boundary.
func bound(s string) string {
	const n = 2048
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// DeadLetter is a message the bus gave up on, as [Bus.DeadLetters] reads
// it back.
type DeadLetter struct {
	// Event is the decoded event; zero when the message was not a valid
	// event (Body then holds it).
	Event      synclayer.Event
	Body       []byte
	Headers    amqp.Table
	Reason     string
	Deliveries int
}

// DeadLetters reads up to limit messages of the dead-letter queue without
// removing them (they are requeued when it returns).
func (b *Bus) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	b.mu.Lock()
	c, err := b.connection()
	if err == nil {
		var pub *amqp.Channel
		if pub, err = b.publisher(ctx); err == nil {
			err = b.declareQueue(pub, b.DeadLetterQueue())
		}
	}
	b.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("amqp: dead letters: %w", err)
	}
	ch, err := c.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqp: dead letters: %w", err)
	}
	defer ch.Close() // requeues what was read
	var out []DeadLetter
	for len(out) < limit && ctx.Err() == nil {
		d, ok, err := ch.Get(b.DeadLetterQueue(), false)
		if err != nil {
			return out, fmt.Errorf("amqp: dead letters: %w", err)
		}
		if !ok {
			break
		}
		dl := DeadLetter{Body: d.Body, Headers: d.Headers, Deliveries: deliveriesBefore(d)}
		dl.Reason, _ = d.Headers[HeaderReason].(string)
		if ev, err := decode(d); err == nil {
			dl.Event = ev
		}
		out = append(out, dl)
	}
	return out, nil
}
