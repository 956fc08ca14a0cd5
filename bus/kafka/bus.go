package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/closing"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
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

// Option configures [NewBus].
type Option func(*Bus)

// WithGroup sets the consumer group (default "synclayer").
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
		if d > 0 {
			b.delay = d
		}
	}
}

// WithConcurrency sets how many partitions each Subscribe works on at once
// (default 16). Records of one partition are handled one at a time, in
// order.
func WithConcurrency(n int) Option { return func(b *Bus) { b.concurrency = max(n, 1) } }

// WithClientOptions adds franz-go options to every client the bus makes
// (SASL, TLS, timeouts, ...). The bus sets the seed brokers, and for
// subscribers the group, topics and manual commits.
func WithClientOptions(opts ...kgo.Opt) Option {
	return func(b *Bus) { b.clientOpts = append(b.clientOpts, opts...) }
}

// WithLogger sets where the bus logs what it cannot return (default:
// nothing is logged).
func WithLogger(l *slog.Logger) Option { return func(b *Bus) { b.log = l } }

// Bus is a [synclayer.Publisher] and [synclayer.Subscriber] on Kafka. It is
// safe for concurrent use. Close it when done.
type Bus struct {
	seeds         []string
	prefix        string
	group         string
	maxDeliveries int
	delay         time.Duration
	concurrency   int
	clientOpts    []kgo.Opt
	log           *slog.Logger
	producer      *kgo.Client

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
	b := &Bus{
		seeds:         seeds,
		prefix:        prefix,
		group:         "synclayer",
		maxDeliveries: 5,
		delay:         time.Second,
		concurrency:   16,
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	if !validTopicPart(b.group) {
		return nil, fmt.Errorf("kafka: NewBus: invalid group %q", b.group)
	}
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
	return b.prefix + ".retry." + b.group + "." + eventType
}

// DeadLetterTopic returns the dead-letter topic.
func (b *Bus) DeadLetterTopic() string { return b.prefix + ".deadletter" }

// Publish produces ev to the topic of its type, keyed by its Subject (or
// its ID when it has none), and waits for the brokers to acknowledge it.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	if b.subs.Closed() {
		return fmt.Errorf("kafka: publish %q: %w", ev.ID, ErrClosed)
	}
	if !validTopicPart(ev.Type) {
		return synclayer.Permanent(fmt.Errorf("kafka: publish %q: %w: %q", ev.ID, ErrInvalidType, ev.Type))
	}
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("kafka: publish %q: %w", ev.ID, err))
	}
	key := ev.Subject
	if key == "" {
		key = ev.ID
	}
	rec := &kgo.Record{
		Topic:   b.Topic(ev.Type),
		Key:     []byte(key),
		Value:   body,
		Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte(cloudevents.ContentType)}},
	}
	if err := b.producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("kafka: publish %q: %w", ev.ID, err)
	}
	return nil
}

// Subscribe delivers events of eventTypes to h until ctx ends; see the
// package doc for the delivery semantics. The handler's context ends with
// ctx. Subscribe returns nil after ctx ends, or [Bus.Close] stops it, and
// every handler call has returned; [ErrClosed] after Close; or an error if
// the client fails or a retry or dead letter cannot be produced.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	if h == nil {
		return errors.New("kafka: subscribe: nil handler")
	}
	if len(eventTypes) == 0 {
		return errors.New("kafka: subscribe: no event types")
	}
	ctx, hctx, leave, ok := b.subs.Enter(ctx)
	if !ok {
		return ErrClosed
	}
	defer leave()
	var topics []string
	for _, t := range eventTypes {
		if !validTopicPart(t) {
			return fmt.Errorf("kafka: subscribe: %w: %q", ErrInvalidType, t)
		}
		topics = append(topics, b.Topic(t), b.RetryTopic(t))
	}
	slices.Sort(topics)
	topics = slices.Compact(topics)
	// A member that dies is noticed after the session timeout; the bus's
	// default is shorter than franz-go's 45s, and WithClientOptions may
	// set another (handlers do not hold up the heartbeats).
	opts := append([]kgo.Opt{kgo.SessionTimeout(DefaultSessionTimeout)}, b.clientOpts...)
	cl, err := kgo.NewClient(append(opts,
		kgo.SeedBrokers(b.seeds...),
		kgo.ConsumerGroup(b.group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.AllowAutoTopicCreation(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return fmt.Errorf("kafka: subscribe: %w", err)
	}
	defer cl.Close()
	s := &subscriber{b: b, cl: cl, h: h, hctx: hctx}
	err = s.run(ctx)
	// Leave the group at once, so the others take over without waiting for
	// the session to time out.
	cl.LeaveGroup()
	return err
}

type topicPartition struct {
	topic     string
	partition int32
}

type subscriber struct {
	b    *Bus
	cl   *kgo.Client
	h    func(context.Context, synclayer.Event) error
	hctx context.Context // handlers run with it
}

func (s *subscriber) run(ctx context.Context) error {
	for {
		fetches := s.cl.PollRecords(ctx, 4*s.b.concurrency)
		if ctx.Err() != nil {
			s.cl.AllowRebalance()
			return nil
		}
		var fatal error
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, context.Canceled) {
				return
			}
			// Unknown topics are auto-created as producers use them;
			// other fetch errors are retried by the client.
			if s.b.log != nil {
				s.b.log.Warn("kafka: fetch error", "topic", topic, "partition", p, "err", err)
			}
		})
		byPartition := map[topicPartition][]*kgo.Record{}
		var order []topicPartition
		fetches.EachRecord(func(r *kgo.Record) {
			tp := topicPartition{r.Topic, r.Partition}
			if _, ok := byPartition[tp]; !ok {
				order = append(order, tp)
			}
			byPartition[tp] = append(byPartition[tp], r)
		})
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			done []*kgo.Record
			sem  = make(chan struct{}, s.b.concurrency)
		)
		for _, tp := range order {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				last, err := s.partition(ctx, byPartition[tp])
				mu.Lock()
				defer mu.Unlock()
				if last != nil {
					done = append(done, last)
				}
				if err != nil && fatal == nil {
					fatal = err
				}
			})
		}
		wg.Wait()
		if len(done) > 0 {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err := s.cl.CommitRecords(cctx, done...)
			cancel()
			if err != nil && s.b.log != nil {
				s.b.log.Warn("kafka: commit failed; records may be delivered again", "err", err)
			}
		}
		s.cl.AllowRebalance()
		if fatal != nil {
			return fatal
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// partition handles the records of one partition in order. It returns the
// last record fully settled (to commit), and an error when a record could
// not be settled.
func (s *subscriber) partition(ctx context.Context, recs []*kgo.Record) (last *kgo.Record, err error) {
	for _, r := range recs {
		if ctx.Err() != nil {
			return last, nil
		}
		if nb := header(r, HeaderNotBefore); nb != "" {
			if ms, err := strconv.ParseInt(nb, 10, 64); err == nil {
				if wait := time.Until(time.UnixMilli(ms)); wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						return last, nil
					}
				}
			}
		}
		if err := s.handle(ctx, r); err != nil {
			return last, err
		}
		last = r
	}
	return last, nil
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func decode(r *kgo.Record) (synclayer.Event, error) {
	return cloudevents.Decode(r.Value, func(yield func(string, string) bool) {
		for _, h := range r.Headers {
			if !yield(h.Key, string(h.Value)) {
				return
			}
		}
	})
}

// handle processes one record; an error means it could not be settled.
func (s *subscriber) handle(ctx context.Context, r *kgo.Record) error {
	b := s.b
	deliveries := 1
	if h := header(r, HeaderDeliveries); h != "" {
		before, _ := strconv.Atoi(h)
		deliveries += before
	}
	// Settling uses its own context: it must happen even after ctx ended.
	settle := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}
	ev, err := decode(r)
	if err != nil {
		sctx, cancel := settle()
		defer cancel()
		return b.deadLetter(sctx, r, fmt.Errorf("kafka: record %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err), deliveries)
	}
	herr := call(s.hctx, s.h, ev)
	if herr == nil {
		return nil
	}
	sctx, cancel := settle()
	defer cancel()
	if after, ok := synclayer.RedeliverAfter(herr); ok {
		// The event came too early: the copy keeps the delivery count.
		return b.redeliver(sctx, r, ev, deliveries-1, after, true)
	}
	if synclayer.IsPermanent(herr) || deliveries >= b.maxDeliveries {
		return b.deadLetter(sctx, r, herr, deliveries)
	}
	return b.redeliver(sctx, r, ev, deliveries, b.delay<<min(deliveries-1, 6), false)
}

func call(ctx context.Context, h func(context.Context, synclayer.Event) error, ev synclayer.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("kafka: handler panicked on event %q: %v", ev.ID, p)
		}
	}()
	return h(ctx, ev)
}

// copyOf is the record to produce for r, with its delivery count.
func copyOf(r *kgo.Record, topic string, deliveries int) *kgo.Record {
	c := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderDeliveries, HeaderNotBefore, HeaderReason, HeaderTopic, HeaderDeferrals:
		default:
			c.Headers = append(c.Headers, h)
		}
	}
	c.Headers = append(c.Headers, kgo.RecordHeader{Key: HeaderDeliveries, Value: []byte(strconv.Itoa(deliveries))})
	if n := header(r, HeaderDeferrals); n != "" {
		c.Headers = append(c.Headers, kgo.RecordHeader{Key: HeaderDeferrals, Value: []byte(n)})
	}
	return c
}

// redeliver produces a copy of r to the group's retry topic for its type,
// with deliveries as its count of deliveries so far, due after wait. A
// deferral (synclayer.Redeliver) also counts itself in HeaderDeferrals.
func (b *Bus) redeliver(ctx context.Context, r *kgo.Record, ev synclayer.Event, deliveries int, wait time.Duration, deferral bool) error {
	c := copyOf(r, b.RetryTopic(ev.Type), deliveries)
	if deferral {
		n, _ := strconv.Atoi(header(r, HeaderDeferrals))
		c.Headers = slices.DeleteFunc(c.Headers, func(h kgo.RecordHeader) bool { return h.Key == HeaderDeferrals })
		c.Headers = append(c.Headers, kgo.RecordHeader{Key: HeaderDeferrals, Value: []byte(strconv.Itoa(n + 1))})
	}
	due := time.Now().Add(wait)
	c.Headers = append(c.Headers, kgo.RecordHeader{Key: HeaderNotBefore, Value: []byte(strconv.FormatInt(due.UnixMilli(), 10))})
	if err := b.producer.ProduceSync(ctx, c).FirstErr(); err != nil {
		return fmt.Errorf("%w: retry of event %q: %w", ErrProduce, ev.ID, err)
	}
	return nil
}

// deadLetter produces a copy of r to the dead-letter topic with the reason.
func (b *Bus) deadLetter(ctx context.Context, r *kgo.Record, reason error, deliveries int) error {
	c := copyOf(r, b.DeadLetterTopic(), deliveries)
	c.Headers = append(c.Headers,
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(bound(reason.Error()))},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)})
	if err := b.producer.ProduceSync(ctx, c).FirstErr(); err != nil {
		return fmt.Errorf("%w: dead letter of %s/%d@%d: %w", ErrProduce, r.Topic, r.Partition, r.Offset, err)
	}
	if b.log != nil {
		b.log.Warn("kafka: record dead-lettered", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "deliveries", deliveries, "reason", reason)
	}
	return nil
}

// bound cuts a reason to a sensible size on a rune boundary.
func bound(s string) string {
	s = strings.ToValidUTF8(s, "?")
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

// DeadLetter is a record the bus gave up on, as [Bus.DeadLetters] reads it
// back.
type DeadLetter struct {
	// Event is the decoded event; zero when the record was not a valid
	// event (Value then holds it).
	Event      synclayer.Event
	Key, Value []byte
	Reason     string
	Deliveries int
	Topic      string // the topic the record came from
	Offset     int64  // its offset in the dead-letter topic
}

// DeadLetters reads the dead-letter topic from the start, up to what it
// holds now.
func (b *Bus) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	cl, err := kgo.NewClient(append(slices.Clone(b.clientOpts),
		kgo.SeedBrokers(b.seeds...),
		kgo.ConsumeTopics(b.DeadLetterTopic()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: dead letters: %w", err)
	}
	defer cl.Close()
	// How far to read: the end offsets now.
	ends, err := endOffsets(ctx, b.producer, b.DeadLetterTopic())
	if err != nil {
		return nil, fmt.Errorf("kafka: dead letters: %w", err)
	}
	remaining := 0
	for _, e := range ends {
		remaining += int(e)
	}
	var out []DeadLetter
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("kafka: dead letters: %w", ctx.Err())
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return
			}
			remaining--
			dl := DeadLetter{Key: r.Key, Value: r.Value, Reason: header(r, HeaderReason), Topic: header(r, HeaderTopic), Offset: r.Offset}
			dl.Deliveries, _ = strconv.Atoi(header(r, HeaderDeliveries))
			if ev, err := decode(r); err == nil {
				dl.Event = ev
			}
			out = append(out, dl)
		})
	}
	return out, nil
}

// endOffsets returns the end offset of every partition of topic; none when
// the topic does not exist yet.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	ends := map[int32]int64{}
	var ferr error
	listed.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		case o.Err != nil:
			ferr = o.Err
		default:
			ends[o.Partition] = o.Offset
		}
	})
	return ends, ferr
}
