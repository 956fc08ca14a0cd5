package nats

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/closing"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
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

// Headers of a dead letter, besides the original message's own.
const (
	// HeaderReason holds why the message was dead-lettered: the handler's
	// error, or why the message is not a valid event.
	HeaderReason = "Synclayer-Dead-Reason"
	// HeaderDeliveries holds how many times the message was delivered.
	HeaderDeliveries = "Synclayer-Deliveries"
	// HeaderSubject holds the subject the message was published on.
	HeaderSubject = "Synclayer-Subject"
	// HeaderSequence holds the message's sequence number in the stream.
	HeaderSequence = "Synclayer-Stream-Sequence"
)

// Option configures [NewBus].
type Option func(*Bus)

// WithSubjectPrefix sets the prefix of the bus's subjects (default: the
// stream name).
func WithSubjectPrefix(p string) Option {
	return func(b *Bus) {
		if p != "" {
			b.prefix = p
		}
	}
}

// WithGroup sets the consumer group: subscribers with the same group share
// the events (default "synclayer").
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

// WithAckWait sets how long the broker waits for an acknowledgement before
// it redelivers an event, e.g. because its process died (default 10s).
// Handlers may run longer: the bus tells the broker every third of this
// time that they are in progress.
func WithAckWait(d time.Duration) Option {
	return func(b *Bus) {
		if d > 0 {
			b.ackWait = d
		}
	}
}

// WithConcurrency sets how many handler calls each Subscribe runs at once
// (default 64: on the durable path each handler call waits on store round trips, so throughput grows with it).
func WithConcurrency(n int) Option { return func(b *Bus) { b.concurrency = max(n, 1) } }

// WithLogger sets where the bus logs what it cannot return: a failed
// acknowledgement, a dead letter (default: nothing is logged).
func WithLogger(l *slog.Logger) Option { return func(b *Bus) { b.log = l } }

// pullExpiry is how long one pull request waits at the server.
const pullExpiry = 5 * time.Second

// Bus is a [synclayer.Publisher] and [synclayer.Subscriber] on a JetStream
// stream. It is safe for concurrent use.
type Bus struct {
	js            jetstream.JetStream
	st            jetstream.Stream
	stream        string
	prefix        string
	group         string
	maxDeliveries int
	delay         time.Duration
	ackWait       time.Duration
	concurrency   int
	log           *slog.Logger

	deferred localDeferrals // when the stream cannot hold the counts
	subs     closing.Group
}

// NewBus returns a bus on the stream named stream, creating the stream if
// it does not exist. The caller keeps nc: the bus never closes it; close
// it after [Bus.Close] has returned.
func NewBus(ctx context.Context, nc *natsgo.Conn, stream string, opts ...Option) (*Bus, error) {
	if nc == nil {
		return nil, errors.New("nats: NewBus: nil connection")
	}
	if stream == "" || strings.ContainsAny(stream, " \t\r\n.*>/\\") {
		return nil, fmt.Errorf("nats: NewBus: invalid stream name %q", stream)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("nats: NewBus: %w", err)
	}
	b := &Bus{
		js:            js,
		stream:        stream,
		prefix:        stream,
		group:         "synclayer",
		maxDeliveries: 5,
		delay:         time.Second,
		ackWait:       10 * time.Second,
		concurrency:   64,
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	if !validSubject(b.prefix) {
		return nil, fmt.Errorf("nats: NewBus: invalid subject prefix %q", b.prefix)
	}
	if !validName(b.group) {
		return nil, fmt.Errorf("nats: NewBus: invalid group name %q (letters, digits, '-' and '_' only)", b.group)
	}
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
	return b.prefix + ".deferral." + b.group + "." + strconv.FormatUint(seq, 10)
}

// DeadLetterSubject returns the subject dead letters are published on.
func (b *Bus) DeadLetterSubject() string { return b.prefix + ".deadletter" }

func validSubject(s string) bool {
	if s == "" {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n*>") {
			return false
		}
	}
	return true
}

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

// checkType validates an event type for use in a subject.
func checkType(t string) error {
	if !validSubject(t) || strings.ContainsAny(t, "\x00") {
		return fmt.Errorf("%w: %q", ErrInvalidType, t)
	}
	return nil
}

// durable names the consumer of eventType for the bus's group.
func (b *Bus) durable(eventType string) string {
	if validName(eventType) && len(eventType) <= 64 {
		return b.group + "-" + eventType
	}
	sum := sha256.Sum256([]byte(eventType))
	return b.group + "-" + hex.EncodeToString(sum[:8])
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

// Publish sends ev to the stream and waits for JetStream to store it.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	if b.subs.Closed() {
		return fmt.Errorf("nats: publish %q: %w", ev.ID, ErrClosed)
	}
	if err := checkType(ev.Type); err != nil {
		return synclayer.Permanent(fmt.Errorf("nats: publish %q: %w", ev.ID, err))
	}
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("nats: publish %q: %w", ev.ID, err))
	}
	msg := &natsgo.Msg{
		Subject: b.Subject(ev.Type),
		Data:    body,
		Header:  natsgo.Header{"Content-Type": []string{cloudevents.ContentType}},
	}
	if _, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID)); err != nil {
		return fmt.Errorf("nats: publish %q: %w", ev.ID, err)
	}
	return nil
}

// Subscribe delivers events of eventTypes to h until ctx ends, running up to
// WithConcurrency handler calls at once; see the package doc for the
// delivery semantics. The handler's context ends with ctx. Subscribe
// returns nil after ctx ends, or [Bus.Close] stops it, and every handler
// call has returned; [ErrClosed] after Close; or an error if a consumer
// cannot be created or is deleted by the broker.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	if h == nil {
		return errors.New("nats: subscribe: nil handler")
	}
	if len(eventTypes) == 0 {
		return errors.New("nats: subscribe: no event types")
	}
	ctx, hctx, leave, ok := b.subs.Enter(ctx)
	if !ok {
		return ErrClosed
	}
	defer leave()
	seen := map[string]bool{}
	var consumers []jetstream.Consumer
	for _, t := range eventTypes {
		if seen[t] {
			continue
		}
		seen[t] = true
		if err := checkType(t); err != nil {
			return fmt.Errorf("nats: subscribe: %w", err)
		}
		c, err := b.js.CreateOrUpdateConsumer(ctx, b.stream, jetstream.ConsumerConfig{
			Durable:       b.durable(t),
			FilterSubject: b.Subject(t),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       b.ackWait,
			MaxDeliver:    -1, // the bus counts deliveries and dead-letters itself
			DeliverPolicy: jetstream.DeliverAllPolicy,
			MaxAckPending: max(1000, 4*b.concurrency),
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("nats: subscribe: consumer for %q: %w", t, err)
		}
		consumers = append(consumers, c)
	}

	sem := make(chan struct{}, b.concurrency)
	var handlers sync.WaitGroup
	var loops sync.WaitGroup
	errc := make(chan error, len(consumers))
	for _, c := range consumers {
		loops.Go(func() {
			if err := b.consume(ctx, hctx, c, sem, &handlers, h); err != nil {
				errc <- err
			}
		})
	}
	loops.Wait()
	handlers.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// consume runs one consumer's message loop until ctx ends; handlers run
// with hctx.
func (b *Bus) consume(ctx, hctx context.Context, c jetstream.Consumer, sem chan struct{}, handlers *sync.WaitGroup, h func(context.Context, synclayer.Event) error) error {
	// Short pull requests with heartbeats: a pull request lost by the
	// server (seen under load) stalls the consumer for at most pullExpiry.
	// The client buffers up to twice the handler slots (at least 64), so
	// handlers rarely wait for a pull; on the way out the buffered
	// messages are given back at once (giveBack).
	it, err := c.Messages(
		jetstream.PullMaxMessages(max(64, 2*b.concurrency)),
		jetstream.PullExpiry(pullExpiry),
		jetstream.WithMessagesErrOnMissingHeartbeat(false),
	)
	if err != nil {
		return fmt.Errorf("nats: subscribe: %w", err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				b.giveBack(it)
				return nil
			}
			return fmt.Errorf("nats: subscribe: %w", err)
		}
		if ctx.Err() != nil {
			b.handBack(msg)
			b.giveBack(it)
			return nil
		}
		select {
		case sem <- struct{}{}:
		default:
			// Every slot is busy: keep this message while it waits.
			stopBeat := b.heartbeat(msg)
			select {
			case sem <- struct{}{}:
				stopBeat()
			case <-ctx.Done():
				stopBeat()
				b.handBack(msg)
				b.giveBack(it)
				return nil
			}
		}
		handlers.Go(func() {
			defer func() { <-sem }()
			b.handle(hctx, msg, h)
		})
	}
}

// giveBack stops the iterator and returns the messages it had buffered to
// the broker at once, so another subscriber can take them.
func (b *Bus) giveBack(it jetstream.MessagesContext) {
	it.Drain()
	for {
		msg, err := it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			return
		}
		b.handBack(msg)
	}
}

// handBack returns a message that no handler saw to the broker at once,
// recording the delivery as a deferral so that it does not count.
func (b *Bus) handBack(msg jetstream.Msg) {
	if md, err := msg.Metadata(); err == nil {
		n := 0
		if md.NumDelivered > 1 {
			n = b.deferrals(context.Background(), md.Sequence.Stream)
		}
		b.deferral(md.Sequence.Stream, n+1)
	}
	b.nak(msg, 0)
}

func (b *Bus) nak(msg jetstream.Msg, delay time.Duration) {
	var err error
	if delay > 0 {
		err = msg.NakWithDelay(delay)
	} else {
		err = msg.Nak()
	}
	if err != nil && b.log != nil {
		b.log.Warn("nats: negative acknowledgement failed; the broker redelivers after the ack wait", "subject", msg.Subject(), "err", err)
	}
}

// handle processes one message: decode, call, then ack, nak or dead-letter.
func (b *Bus) handle(ctx context.Context, msg jetstream.Msg, h func(context.Context, synclayer.Event) error) {
	deliveries, seq, deferred := 1, uint64(0), 0
	if md, err := msg.Metadata(); err == nil {
		seq = md.Sequence.Stream
		if md.NumDelivered > 1 {
			deferred = b.deferrals(ctx, seq)
		}
		deliveries = max(int(md.NumDelivered)-deferred, 1)
	}
	ev, err := cloudevents.Decode(msg.Data(), headers(msg.Headers()))
	if err != nil {
		b.settled(seq, deferred)
		b.deadLetter(msg, fmt.Errorf("nats: message on %s: %w", msg.Subject(), err), deliveries)
		return
	}
	if deliveries > b.maxDeliveries {
		// Delivered again after its handlers' processes died.
		b.settled(seq, deferred)
		b.deadLetter(msg, fmt.Errorf("nats: event %q delivered %d times, over the limit of %d, without an outcome", ev.ID, deliveries, b.maxDeliveries), deliveries)
		return
	}

	stopBeat := b.heartbeat(msg)
	herr := call(ctx, h, ev)
	stopBeat()

	if after, ok := synclayer.RedeliverAfter(herr); ok {
		// The event came too early: this delivery is not counted.
		b.deferral(seq, deferred+1)
		b.nak(msg, after)
		return
	}
	switch {
	case herr == nil:
		b.settled(seq, deferred)
		if err := msg.Ack(); err != nil && b.log != nil {
			b.log.Warn("nats: ack failed; the event will be redelivered", "event", ev.ID, "err", err)
		}
	case synclayer.IsPermanent(herr) || deliveries >= b.maxDeliveries:
		b.settled(seq, deferred)
		b.deadLetter(msg, herr, deliveries)
	default:
		b.nak(msg, b.delay<<min(deliveries-1, 6))
	}
}

// heartbeat tells the broker, while a handler runs, that the message is in
// progress, so it is not redelivered after the ack wait.
func (b *Bus) heartbeat(msg jetstream.Msg) (stop func()) {
	every := b.ackWait / 3
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	mu.Lock()
	t = time.AfterFunc(every, func() {
		_ = msg.InProgress()
		mu.Lock()
		if !stopped {
			t.Reset(every)
		}
		mu.Unlock()
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

func call(ctx context.Context, h func(context.Context, synclayer.Event) error, ev synclayer.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("nats: handler panicked on event %q: %v", ev.ID, p)
		}
	}()
	return h(ctx, ev)
}

// deadLetter publishes msg to the dead-letter subject with the reason, then
// terminates it. If the dead letter cannot be published, msg is redelivered
// later instead.
func (b *Bus) deadLetter(msg jetstream.Msg, reason error, deliveries int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dl := &natsgo.Msg{Subject: b.DeadLetterSubject(), Data: msg.Data(), Header: natsgo.Header{}}
	for k, vs := range msg.Headers() {
		if !strings.HasPrefix(k, "Nats-") {
			dl.Header[k] = vs
		}
	}
	dl.Header.Set(HeaderReason, bound(reason.Error()))
	dl.Header.Set(HeaderDeliveries, strconv.Itoa(deliveries))
	dl.Header.Set(HeaderSubject, msg.Subject())
	var opts []jetstream.PublishOpt
	if md, err := msg.Metadata(); err == nil {
		seq := strconv.FormatUint(md.Sequence.Stream, 10)
		dl.Header.Set(HeaderSequence, seq)
		opts = append(opts, jetstream.WithMsgID("deadletter-"+seq))
	}
	if _, err := b.js.PublishMsg(ctx, dl, opts...); err != nil {
		if b.log != nil {
			b.log.Error("nats: dead letter not published; the message will be redelivered", "subject", msg.Subject(), "reason", reason, "err", fmt.Errorf("%w: %w", ErrDeadLetter, err))
		}
		b.nak(msg, b.delay)
		return
	}
	if err := msg.Term(); err != nil && b.log != nil {
		b.log.Warn("nats: term failed after dead-lettering", "subject", msg.Subject(), "err", err)
	}
	if b.log != nil {
		b.log.Warn("nats: message dead-lettered", "subject", msg.Subject(), "deliveries", deliveries, "reason", reason)
	}
}

// bound cuts a header value to a sensible size, on a rune boundary, and
// removes line breaks.
func bound(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
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

func headers(h natsgo.Header) iter.Seq2[string, string] {
	if len(h) == 0 {
		return nil
	}
	return func(yield func(string, string) bool) {
		for k, vs := range h {
			if len(vs) > 0 && !yield(k, vs[0]) {
				return
			}
		}
	}
}

// DeadLetter is a message the bus gave up on, as [Bus.DeadLetters] reads
// it back.
type DeadLetter struct {
	// Event is the decoded event; zero when the message was not a valid
	// event (then Body holds it).
	Event      synclayer.Event
	Body       []byte
	Header     natsgo.Header
	Reason     string // the handler's last error, or why the message is invalid
	Deliveries int
	Subject    string // the subject the message was published on
}

// DeadLetters reads every dead letter in the stream, oldest first.
func (b *Bus) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	c, err := b.js.OrderedConsumer(ctx, b.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{b.DeadLetterSubject()},
	})
	if err != nil {
		return nil, fmt.Errorf("nats: dead letters: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("nats: dead letters: %w", err)
	}
	want := int(info.NumPending)
	var out []DeadLetter
	for len(out) < want {
		batch, err := c.Fetch(want-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return out, fmt.Errorf("nats: dead letters: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			dl := DeadLetter{Body: msg.Data(), Header: msg.Headers(), Reason: msg.Headers().Get(HeaderReason), Subject: msg.Headers().Get(HeaderSubject)}
			dl.Deliveries, _ = strconv.Atoi(msg.Headers().Get(HeaderDeliveries))
			if ev, err := cloudevents.Decode(msg.Data(), headers(msg.Headers())); err == nil {
				dl.Event = ev
			}
			out = append(out, dl)
		}
		if err := batch.Error(); err != nil {
			return out, fmt.Errorf("nats: dead letters: %w", err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}
