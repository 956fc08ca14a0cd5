package redisstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/closing"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
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

// Option configures [NewBus].
type Option func(*Bus)

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

// WithClaimIdle sets how long an entry delivered to a consumer may go
// without news before another consumer reclaims it with XAUTOCLAIM
// (default 10s). Running handlers keep their entries fresh every third of
// this time, so only the entries of dead consumers are reclaimed; the
// subscribers look for such entries every fifth of it.
func WithClaimIdle(d time.Duration) Option {
	return func(b *Bus) {
		if d > 0 {
			b.claimIdle = d
		}
	}
}

// WithMaxLen bounds each stream to about n entries (default 100,000),
// trimmed approximately on every XADD. Entries trimmed before a consumer
// read them are lost: size it well above the backlog you expect.
func WithMaxLen(n int64) Option {
	return func(b *Bus) {
		if n > 0 {
			b.maxLen = n
		}
	}
}

// WithConcurrency sets how many handler calls each Subscribe runs at once
// (default 64: on the durable path each handler call waits on store round trips, so throughput grows with it).
func WithConcurrency(n int) Option { return func(b *Bus) { b.concurrency = max(n, 1) } }

// WithLogger sets where the bus logs what it cannot return (default:
// nothing is logged).
func WithLogger(l *slog.Logger) Option { return func(b *Bus) { b.log = l } }

// Bus is a [synclayer.Publisher] and [synclayer.Subscriber] on Redis
// Streams. It is safe for concurrent use.
type Bus struct {
	rdb           redis.UniversalClient
	prefix        string
	group         string
	maxDeliveries int
	delay         time.Duration
	claimIdle     time.Duration
	maxLen        int64
	concurrency   int
	log           *slog.Logger

	subs closing.Group
}

// NewBus returns a bus whose keys start with "{prefix}:". The caller keeps
// rdb: the bus never closes it; close it after [Bus.Close] has returned.
func NewBus(rdb redis.UniversalClient, prefix string, opts ...Option) (*Bus, error) {
	if rdb == nil {
		return nil, errors.New("redisstream: NewBus: nil client")
	}
	if prefix == "" || strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redisstream: NewBus: invalid prefix %q (empty, or holds braces)", prefix)
	}
	b := &Bus{
		rdb:           rdb,
		prefix:        prefix,
		group:         "synclayer",
		maxDeliveries: 5,
		delay:         time.Second,
		claimIdle:     10 * time.Second,
		maxLen:        100_000,
		concurrency:   64,
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	return b, nil
}

// Stream returns the key of the stream of eventType.
func (b *Bus) Stream(eventType string) string { return "{" + b.prefix + "}:event:" + eventType }

// DeferralsKey returns the key of the hash that counts, per entry of the
// group, the deliveries its handler deferred with [synclayer.Redeliver]
// and the delay it asked for.
func (b *Bus) DeferralsKey() string { return "{" + b.prefix + "}:deferred:" + b.group }

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

// Publish appends ev to the stream of its type.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	if b.subs.Closed() {
		return fmt.Errorf("redisstream: publish %q: %w", ev.ID, ErrClosed)
	}
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("redisstream: publish %q: %w", ev.ID, err))
	}
	err = b.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: b.Stream(ev.Type),
		MaxLen: b.maxLen,
		Approx: true,
		Values: []any{FieldEvent, body},
	}).Err()
	if err != nil {
		return fmt.Errorf("redisstream: publish %q: %w", ev.ID, err)
	}
	return nil
}

// Subscribe delivers events of eventTypes to h until ctx ends, running up to
// WithConcurrency handler calls at once; see the package doc for the
// delivery semantics. The handler's context ends with ctx. Subscribe
// returns nil after ctx ends, or [Bus.Close] stops it, and every handler
// call has returned; [ErrClosed] after Close; or an error if Redis fails
// for longer than a few retries.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	if h == nil {
		return errors.New("redisstream: subscribe: nil handler")
	}
	if len(eventTypes) == 0 {
		return errors.New("redisstream: subscribe: no event types")
	}
	ctx, hctx, leave, ok := b.subs.Enter(ctx)
	if !ok {
		return ErrClosed
	}
	defer leave()
	s := &subscription{
		hctx:     hctx,
		b:        b,
		h:        h,
		consumer: consumerName(),
		sem:      make(chan struct{}, b.concurrency),
		inflight: map[entryKey]bool{},
	}
	seen := map[string]bool{}
	for _, t := range eventTypes {
		if t == "" {
			return errors.New("redisstream: subscribe: empty event type")
		}
		st := b.Stream(t)
		if seen[st] {
			continue
		}
		seen[st] = true
		s.streams = append(s.streams, st)
		err := b.rdb.XGroupCreateMkStream(ctx, st, b.group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("redisstream: subscribe: create group %q on %s: %w", b.group, st, err)
		}
	}
	return s.run(ctx)
}

func consumerName() string {
	host, _ := os.Hostname()
	var r [6]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

type entryKey struct{ stream, id string }

// subscription is one running Subscribe call: one consumer of the group.
type subscription struct {
	hctx     context.Context // handlers run with it
	b        *Bus
	h        func(context.Context, synclayer.Event) error
	consumer string
	streams  []string
	sem      chan struct{}
	handlers sync.WaitGroup

	mu       sync.Mutex
	inflight map[entryKey]bool

	acks      chan entryKey // entries to acknowledge, batched by acker
	ackerDone chan struct{}
}

// acker acknowledges entries in batches: it sends what has queued up while
// the previous XACK was on its way, one XACK per stream, pipelined. Under
// load this saves most round trips; when idle, an ack leaves at once.
func (s *subscription) acker() {
	defer close(s.ackerDone)
	const most = 512
	for k := range s.acks {
		batch := map[string][]string{k.stream: {k.id}}
		n := 1
	drain:
		for n < most {
			select {
			case k, ok := <-s.acks:
				if !ok {
					break drain
				}
				batch[k.stream] = append(batch[k.stream], k.id)
				n++
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for st, ids := range batch {
				p.XAck(ctx, st, s.b.group, ids...)
			}
			return nil
		})
		cancel()
		if err != nil && s.b.log != nil {
			s.b.log.Warn("redisstream: XACK failed; the events will be redelivered", "entries", n, "err", err)
		}
	}
}

func (s *subscription) run(ctx context.Context) error {
	s.acks = make(chan entryKey, cap(s.sem))
	s.ackerDone = make(chan struct{})
	go s.acker()
	var loops sync.WaitGroup
	errc := make(chan error, 2)
	loops.Go(func() {
		if err := s.readLoop(ctx); err != nil {
			errc <- err
		}
	})
	loops.Go(func() {
		if err := s.reclaimLoop(ctx); err != nil {
			errc <- err
		}
	})
	// The heartbeat outlives the loops: handlers may run on after ctx
	// ends, while Close waits for them.
	stopBeat := make(chan struct{})
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		s.heartbeat(stopBeat)
	}()
	loops.Wait()
	s.handlers.Wait()
	close(stopBeat)
	<-beat
	close(s.acks)
	<-s.ackerDone
	s.leave()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// leave removes the consumer from the groups when it holds no entry, so
// dead consumer names do not pile up.
func (s *subscription) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, st := range s.streams {
		p, err := s.b.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: st, Group: s.b.group, Start: "-", End: "+", Count: 1, Consumer: s.consumer}).Result()
		if err == nil && len(p) == 0 {
			s.b.rdb.XGroupDelConsumer(ctx, st, s.b.group, s.consumer)
		}
	}
}

// acquire takes a handler slot, or reports false when ctx ends first.
func (s *subscription) acquire(ctx context.Context) bool {
	select {
	case s.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// retrying runs fn until it succeeds, ctx ends (nil), or it failed for
// about a minute in a row.
type failures struct {
	n     int
	first time.Time
}

func (f *failures) check(ctx context.Context, what string, err error) error {
	if err == nil {
		f.n = 0
		return nil
	}
	if f.n == 0 {
		f.first = time.Now()
	}
	f.n++
	if time.Since(f.first) > time.Minute {
		return fmt.Errorf("redisstream: subscribe: %s failing since %v: %w", what, f.first.Format(time.RFC3339), err)
	}
	wait := min(50*time.Millisecond<<min(f.n-1, 5), 2*time.Second)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
	return nil
}

// readLoop reads new entries with XREADGROUP.
func (s *subscription) readLoop(ctx context.Context) error {
	args := &redis.XReadGroupArgs{Group: s.b.group, Consumer: s.consumer, Block: 500 * time.Millisecond}
	args.Streams = append(args.Streams, s.streams...)
	for range s.streams {
		args.Streams = append(args.Streams, ">")
	}
	var fails failures
	for ctx.Err() == nil {
		if !s.acquire(ctx) {
			return nil
		}
		// One slot is ours. Read a full batch anyway: the entries beyond the
		// free slots wait for one below (few round trips under load).
		args.Count = int64(cap(s.sem))
		res, err := s.b.rdb.XReadGroup(ctx, args).Result()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		if err != nil && ctx.Err() == nil && isNoGroup(err) {
			// The group was deleted (or the key): make it again.
			for _, st := range s.streams {
				s.b.rdb.XGroupCreateMkStream(ctx, st, s.b.group, "0")
			}
		}
		if err != nil {
			<-s.sem
			if ctx.Err() != nil {
				return nil
			}
			if ferr := fails.check(ctx, "XREADGROUP", err); ferr != nil {
				return ferr
			}
			continue
		}
		fails.check(ctx, "", nil)
		first, stopping := true, false
		for _, st := range res {
			for i, m := range st.Messages {
				if stopping || (!first && !s.acquire(ctx)) {
					// Stopping: hand the entries not started to the retry
					// consumer, so another subscriber takes them soon.
					stopping = true
					s.park(st.Stream, st.Messages[i:])
					break
				}
				first = false
				s.dispatch(st.Stream, m, 1, 0)
			}
		}
		if first {
			<-s.sem // nothing read
		}
	}
	return nil
}

// park hands entries to the retry consumer unhandled, due at once. Their
// read is recorded as a deferral, so that it does not count as a delivery.
// They were new entries: no deferral was recorded for them before.
func (s *subscription) park(stream string, msgs []redis.XMessage) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XClaimJustID(ctx, &redis.XClaimArgs{Stream: stream, Group: s.b.group, Consumer: retryConsumer, Messages: ids})
		vals := make([]any, 0, 2*len(ids))
		for _, id := range ids {
			vals = append(vals, deferralField(entryKey{stream, id}), deferral{count: 1}.String())
		}
		p.HSet(ctx, s.b.DeferralsKey(), vals...)
		return nil
	})
	if err != nil && s.b.log != nil {
		s.b.log.Warn("redisstream: could not hand back entries; they will be reclaimed after the claim idle time", "entries", len(ids), "err", err)
	}
}

func isNoGroup(err error) bool { return strings.HasPrefix(err.Error(), "NOGROUP") }

// heartbeat keeps the entries of running handlers fresh, every third of
// the claim idle time, until stop is closed or the handlers' context ends.
func (s *subscription) heartbeat(stop <-chan struct{}) {
	t := time.NewTicker(s.b.claimIdle / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.hctx.Done():
			return
		case <-t.C:
		}
		if err := s.touchInflight(s.hctx); err != nil && s.hctx.Err() == nil && s.b.log != nil {
			s.b.log.Warn("redisstream: could not keep running entries fresh; another consumer may reclaim them", "err", err)
		}
	}
}

// reclaimLoop redelivers the entries whose retry delay has passed, and
// reclaims the entries of dead consumers.
func (s *subscription) reclaimLoop(ctx context.Context) error {
	tick := min(max(s.b.delay/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	lastClaim := time.Now()
	var fails failures
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := s.redeliverDue(ctx)
		if err == nil && time.Since(lastClaim) >= s.b.claimIdle/5 {
			lastClaim = time.Now()
			err = s.claimAbandoned(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		if ferr := fails.check(ctx, "reclaiming entries", err); ferr != nil {
			return ferr
		}
	}
}

// redeliverDue claims, from the retry consumer, the entries whose delay
// has passed: the delay a deferral asked for, or else the retry delay of
// their delivery count.
func (s *subscription) redeliverDue(ctx context.Context) error {
	const pages = 16 // at most 16 pages of entries per tick and stream
	for _, st := range s.streams {
		start := "-"
		for range pages {
			pend, err := s.b.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: st, Group: s.b.group, Start: start, End: "+",
				Count: int64(cap(s.sem)), Consumer: retryConsumer,
			}).Result()
			if err != nil {
				return err
			}
			if len(pend) == 0 {
				break
			}
			start = "(" + pend[len(pend)-1].ID
			defs, err := s.deferrals(ctx, st, pend)
			if err != nil {
				return err
			}
			for i, p := range pend {
				d := defs[i]
				wait := d.delay
				if wait < 0 {
					wait = s.b.retryDelay(int(p.RetryCount) - d.count)
				}
				if p.Idle < wait {
					continue
				}
				if !s.acquire(ctx) {
					return nil
				}
				// MinIdle makes the claim fail if another consumer took it
				// meanwhile (claiming resets the idle time).
				msgs, err := s.b.rdb.XClaim(ctx, &redis.XClaimArgs{Stream: st, Group: s.b.group, Consumer: s.consumer, MinIdle: wait, Messages: []string{p.ID}}).Result()
				if err != nil || len(msgs) == 0 {
					<-s.sem
					if err != nil {
						return err
					}
					continue
				}
				s.dispatch(st, msgs[0], int(p.RetryCount)+1-d.count, d.count)
			}
			if len(pend) < cap(s.sem) {
				break
			}
		}
	}
	return nil
}

// touchInflight resets the idle time of the entries of running handlers,
// so that no other consumer reclaims them.
// It holds s.mu throughout, so that an entry is not settled meanwhile.
func (s *subscription) touchInflight(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	byStream := map[string][]string{}
	for k := range s.inflight {
		byStream[k.stream] = append(byStream[k.stream], k.id)
	}
	for st, ids := range byStream {
		if err := s.b.rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: st, Group: s.b.group, Consumer: s.consumer, Messages: ids}).Err(); err != nil {
			return err
		}
	}
	return nil
}

// claimAbandoned takes over, with XAUTOCLAIM, entries that have been idle
// longer than the claim idle time: their consumer died.
func (s *subscription) claimAbandoned(ctx context.Context) error {
	for _, st := range s.streams {
		start := "0-0"
		for ctx.Err() == nil {
			free := int64(cap(s.sem) - len(s.sem))
			if free == 0 {
				return nil
			}
			msgs, next, err := s.b.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: st, Group: s.b.group, Consumer: s.consumer, MinIdle: s.b.claimIdle, Start: start, Count: free,
			}).Result()
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if !s.acquire(context.WithoutCancel(ctx)) {
					return nil
				}
				n, d := 1, deferral{delay: -1}
				if p, err := s.b.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: st, Group: s.b.group, Start: m.ID, End: m.ID, Count: 1}).Result(); err == nil && len(p) == 1 {
					n = int(p[0].RetryCount)
					if defs, err := s.deferrals(ctx, st, p); err == nil {
						d = defs[0]
					}
				}
				s.dispatch(st, m, max(n-d.count, 1), d.count)
			}
			if next == "0-0" || len(msgs) == 0 {
				break
			}
			start = next
		}
	}
	return nil
}

func (b *Bus) retryDelay(deliveries int) time.Duration {
	return b.delay << min(max(deliveries-1, 0), 6)
}

// dispatch runs the handler for one entry in a slot already acquired.
// deliveries is the count of this delivery, deferrals left out; deferred
// is how many earlier deliveries were deferred.
func (s *subscription) dispatch(stream string, m redis.XMessage, deliveries, deferred int) {
	k := entryKey{stream, m.ID}
	s.mu.Lock()
	s.inflight[k] = true
	s.mu.Unlock()
	s.handlers.Go(func() {
		defer func() { <-s.sem }()
		s.handle(s.hctx, k, m, deliveries, deferred)
	})
}

// forget removes an entry from the running ones, before it is settled, so
// that touchInflight cannot take it back from where settling puts it.
func (s *subscription) forget(k entryKey) {
	s.mu.Lock()
	delete(s.inflight, k)
	s.mu.Unlock()
}

func (s *subscription) handle(ctx context.Context, k entryKey, m redis.XMessage, deliveries, deferred int) {
	b := s.b
	stream := k.stream
	// Settling uses its own context: it must happen even after ctx ended.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ev, err := decode(m.Values)
	if err != nil {
		s.forget(k)
		s.deadLetter(sctx, stream, m, fmt.Errorf("redisstream: entry %s of %s: %w", m.ID, stream, err), deliveries)
		return
	}
	if deliveries > b.maxDeliveries {
		s.forget(k)
		s.deadLetter(sctx, stream, m, fmt.Errorf("redisstream: event %q delivered %d times, over the limit of %d, without an outcome", ev.ID, deliveries, b.maxDeliveries), deliveries)
		return
	}
	herr := call(ctx, s.h, ev)
	s.forget(k)
	after, deferring := synclayer.RedeliverAfter(herr)
	switch {
	case herr == nil && deferred == 0:
		s.acks <- k
	case herr == nil:
		_, err := b.rdb.Pipelined(sctx, func(p redis.Pipeliner) error {
			p.XAck(sctx, stream, b.group, m.ID)
			p.HDel(sctx, b.DeferralsKey(), deferralField(k))
			return nil
		})
		if err != nil && b.log != nil {
			b.log.Warn("redisstream: XACK failed; the event will be redelivered", "event", ev.ID, "err", err)
		}
	case !deferring && (synclayer.IsPermanent(herr) || deliveries >= b.maxDeliveries):
		s.deadLetter(sctx, stream, m, herr, deliveries)
	default:
		// Park the entry with the retry consumer; claiming resets its idle
		// time, which then measures the redelivery delay. A deferral is
		// counted, with the delay it asks for, in the deferrals hash.
		d := deferral{delay: -1, count: deferred}
		if deferring {
			d = deferral{delay: after, count: deferred + 1}
		}
		_, err := b.rdb.Pipelined(sctx, func(p redis.Pipeliner) error {
			p.XClaimJustID(sctx, &redis.XClaimArgs{Stream: stream, Group: b.group, Consumer: retryConsumer, Messages: []string{m.ID}})
			if d.count > 0 {
				p.HSet(sctx, b.DeferralsKey(), deferralField(k), d.String())
			}
			return nil
		})
		if err != nil && b.log != nil {
			b.log.Warn("redisstream: could not schedule a redelivery; the entry will be reclaimed after the claim idle time", "event", ev.ID, "err", err)
		}
	}
}

func call(ctx context.Context, h func(context.Context, synclayer.Event) error, ev synclayer.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("redisstream: handler panicked on event %q: %v", ev.ID, p)
		}
	}()
	return h(ctx, ev)
}

// deadLetter appends the entry to the dead-letter stream with the reason
// and acknowledges it, in one transaction.
func (s *subscription) deadLetter(ctx context.Context, stream string, m redis.XMessage, reason error, deliveries int) {
	b := s.b
	vals := make([]any, 0, 2*len(m.Values)+8)
	for k, v := range m.Values {
		if !strings.HasPrefix(k, "deadletter-") {
			vals = append(vals, k, v)
		}
	}
	vals = append(vals, FieldReason, bound(reason.Error()), FieldDeliveries, strconv.Itoa(deliveries), FieldStream, stream, FieldID, m.ID)
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: b.DeadLetterStream(), MaxLen: b.maxLen, Approx: true, Values: vals})
		p.XAck(ctx, stream, b.group, m.ID)
		p.HDel(ctx, b.DeferralsKey(), deferralField(entryKey{stream, m.ID}))
		return nil
	})
	if err != nil {
		if b.log != nil {
			b.log.Error("redisstream: dead letter not written; the entry stays pending", "stream", stream, "id", m.ID, "reason", reason, "err", fmt.Errorf("%w: %w", ErrDeadLetter, err))
		}
		return
	}
	if b.log != nil {
		b.log.Warn("redisstream: entry dead-lettered", "stream", stream, "id", m.ID, "deliveries", deliveries, "reason", reason)
	}
}

// decode reads the event of an entry: structured mode in FieldEvent, or
// binary mode with ce- fields and FieldData.
func decode(values map[string]any) (synclayer.Event, error) {
	body, ok := values[FieldEvent]
	if !ok {
		body, ok = values[FieldData]
	}
	if !ok {
		if _, bin := values["ce-specversion"]; !bin {
			return synclayer.Event{}, fmt.Errorf("%w: entry has no %q field", cloudevents.ErrInvalid, FieldEvent)
		}
	}
	var hdr iter.Seq2[string, string] = func(yield func(string, string) bool) {
		for k, v := range values {
			if k == FieldEvent || k == FieldData {
				continue
			}
			if !yield(k, fmt.Sprint(v)) {
				return
			}
		}
	}
	return cloudevents.Decode([]byte(asString(body)), hdr)
}

func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
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

// DeadLetter is an entry the bus gave up on, as [Bus.DeadLetters] reads it
// back.
type DeadLetter struct {
	// ID is the dead letter's own entry ID in the dead-letter stream.
	ID string
	// Event is the decoded event; zero when the entry was not a valid
	// event (Values then holds what it had).
	Event      synclayer.Event
	Values     map[string]any
	Reason     string // the handler's last error, or why the entry is invalid
	Deliveries int
	Stream     string // the stream the entry was in
	EntryID    string // its ID there
}

// DeadLetters reads the dead-letter stream, oldest first, up to limit
// entries (all when limit <= 0).
func (b *Bus) DeadLetters(ctx context.Context, limit int64) ([]DeadLetter, error) {
	var msgs []redis.XMessage
	var err error
	if limit > 0 {
		msgs, err = b.rdb.XRangeN(ctx, b.DeadLetterStream(), "-", "+", limit).Result()
	} else {
		msgs, err = b.rdb.XRange(ctx, b.DeadLetterStream(), "-", "+").Result()
	}
	if err != nil {
		return nil, fmt.Errorf("redisstream: dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		dl := DeadLetter{
			ID:      m.ID,
			Values:  m.Values,
			Reason:  asString(m.Values[FieldReason]),
			Stream:  asString(m.Values[FieldStream]),
			EntryID: asString(m.Values[FieldID]),
		}
		dl.Deliveries, _ = strconv.Atoi(asString(m.Values[FieldDeliveries]))
		if ev, err := decode(m.Values); err == nil {
			dl.Event = ev
		}
		out = append(out, dl)
	}
	return out, nil
}
