package synclayer

import (
	"context"

	"encoding/json"
	"errors"
	"fmt"
	"github.com/cenkalti/backoff/v4"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Event is one domain event, such as a WorkflowDeployed or a PolicyUpdated.
// The field names follow CloudEvents 1.0.
type Event struct {
	// ID identifies the event; redeliveries keep it. Required.
	ID string `json:"id"`
	// Type routes the event to connectors, e.g. "WorkflowDeployed". Required.
	Type string `json:"type"`
	// Source names the publisher, e.g. "hms/management-layer".
	Source string `json:"source,omitempty"`
	// Subject names what the event is about, e.g. the workflow id.
	Subject string `json:"subject,omitempty"`
	// Time is when the event happened.
	Time time.Time `json:"time,omitzero"`
	// Data is the event's JSON payload.
	Data json.RawMessage `json:"data,omitempty"`
	// Meta carries context across the bus: a correlation id, a W3C
	// traceparent, and so on. All of it travels: bus adapters carry every
	// entry (as CloudEvents extension attributes or message headers), and
	// the SyncCompleted or SyncFailed announcement of an event copies its
	// Meta whole onto the bus. Keep secrets and personal data out of it.
	Meta map[string]string `json:"meta,omitempty"`
}

// Announcement event types: the Dispatcher publishes one of them to its
// [Publisher] once per dispatched event, with an [Announcement] as Data.
const (
	// SyncCompleted: every route of the event is Synced, Duplicate or Stale.
	SyncCompleted = "SyncCompleted"
	// SyncFailed: at least one route failed for good (a permanent error, or
	// the retry policy gave up). Its results name the route and the error.
	SyncFailed = "SyncFailed"
)

// Announcement is the JSON Data of a SyncCompleted or SyncFailed event:
//
//	{"eventId":"evt-1","eventType":"WorkflowDeployed","results":[
//	  {"connector":"calendar","key":"WF-123","status":"synced","attempts":1},
//	  {"connector":"records","key":"WF-123","status":"failed","attempts":6,
//	   "error":"synclayer: event \"evt-1\" ... : 503 Service Unavailable"}]}
//
// Status is one of "synced", "duplicate", "stale", "failed". Error is present
// only for failed results, and is bounded in size.
type Announcement struct {
	EventID   string            `json:"eventId"`
	EventType string            `json:"eventType"`
	Results   []AnnouncedResult `json:"results"`
}

// AnnouncedResult is one connector's outcome inside an [Announcement].
type AnnouncedResult struct {
	Connector  string `json:"connector"`
	Key        string `json:"key,omitempty"`
	Status     Status `json:"status"`
	Attempts   int    `json:"attempts"`
	DurationMs int64  `json:"durationMs"`
	Error      string `json:"error,omitempty"`
}

// Status is the outcome of one route of one event.
type Status int

const (
	// StatusSynced: the connector pushed the record.
	StatusSynced Status = iota + 1
	// StatusDuplicate: this event was already pushed to this connector;
	// nothing was sent.
	StatusDuplicate
	// StatusStale: a newer version of the record was already applied;
	// nothing was sent.
	StatusStale
	// StatusFailed: the route failed; Result.Err says why.
	StatusFailed
	// StatusPending: the connector is paused or its circuit breaker is open;
	// the route waits in the delivery log and is pushed on resume.
	StatusPending
)

var statusNames = [...]string{StatusSynced: "synced", StatusDuplicate: "duplicate", StatusStale: "stale", StatusFailed: "failed", StatusPending: "pending"}

// String returns "synced", "duplicate", "stale", "failed" or "pending".
func (s Status) String() string {
	if s > 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the status as its name.
func (s Status) MarshalText() ([]byte, error) {
	if s <= 0 || int(s) >= len(statusNames) {
		return nil, fmt.Errorf("synclayer: unknown status %d", int(s))
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText decodes a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n != "" && n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("synclayer: unknown status %q", b)
}

// Result is the outcome of one route (one connector) of one event.
type Result struct {
	Connector, Key string
	Status         Status
	Attempts       int           // calls of Connector.Sync; 0 for Duplicate and Stale
	Duration       time.Duration // time spent on the route, waits included
	Err            error         // a *SyncError when Status is StatusFailed
}

// Report is the outcome of dispatching one event: one Result per connector
// routed for its type, in registration order.
type Report struct {
	Event   Event
	Results []Result
	err     error // event-level: invalid event, announcement not published
}

// OK reports whether every route is Synced, Duplicate or Stale and nothing
// else failed.
func (r Report) OK() bool { return r.Err() == nil }

// Err joins the errors of the failed routes, and of the event itself (an
// invalid event, an announcement that could not be published). It is nil
// when nothing failed.
func (r Report) Err() error {
	var errs []error
	if r.err != nil {
		errs = append(errs, r.err)
	}
	for _, res := range r.Results {
		if res.Status == StatusFailed {
			errs = append(errs, res.Err)
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// Publisher sends events to the bus. Implementations must be safe for
// concurrent use.
type Publisher interface {
	Publish(ctx context.Context, ev Event) error
}

// Handler processes one delivered event. nil acknowledges it; an error asks
// the bus to redeliver it later, unless [IsPermanent] reports true, in which
// case the bus dead-letters it at once.
type Handler func(ctx context.Context, ev Event) error

// Subscriber delivers events of the given types to h, at least once, until
// ctx ends. Subscribe blocks; it returns after ctx ends and every handler
// call it started has returned, or earlier with an error if the bus fails.
// A handler that has not returned when ctx ends gets its event redelivered
// if it then fails.
type Subscriber interface {
	Subscribe(ctx context.Context, eventTypes []string, h Handler) error
}

// Option configures a [Dispatcher].
type Option func(*Dispatcher)

// WithStore sets the idempotency store (default: a [NewMemoryStore]).
// A nil store keeps the default.
func WithStore(s Store) Option {
	return func(d *Dispatcher) {
		if s != nil {
			d.store = s
		}
	}
}

// WithPublisher sets where SyncCompleted and SyncFailed go (default: they
// are not published).
func WithPublisher(p Publisher) Option { return func(d *Dispatcher) { d.pub = p } }

// WithObserver sets the observer (default: [LogObserver] of
// [slog.Default]). A nil observer observes nothing; combine several with
// [Observers].
func WithObserver(o Observer) Option { return func(d *Dispatcher) { d.obs = o } }

// WithSource sets the Source of announcement events (default "synclayer").
func WithSource(source string) Option { return func(d *Dispatcher) { d.source = source } }

// WithRetention sets how long done-markers are kept (default 7 days): a
// redelivery within it is reported Duplicate without a push.
func WithRetention(d time.Duration) Option {
	return func(x *Dispatcher) {
		if d > 0 {
			x.retention = d
		}
	}
}

// WithDrainTimeout sets how long [Dispatcher.Run] lets in-flight dispatches
// finish after its context ends before cancelling them (default 30s).
func WithDrainTimeout(d time.Duration) Option {
	return func(x *Dispatcher) {
		if d >= 0 {
			x.drainTimeout = d
		}
	}
}

// WithDeliveryLog sets the delivery log that records the state of every
// (event, connector) delivery, keeps dead letters for [Dispatcher.Replay]
// and pending routes for [Dispatcher.Resume] (default: a [NewMemoryLog] of
// 10,000 entries). nil turns the log off, and with it replay and pausing.
// Only a log that survives a restart ([DurableLog], such as sqlstore's)
// lets [Dispatcher.Run] acknowledge an event whose route it holds.
func WithDeliveryLog(l DeliveryLog) Option { return func(d *Dispatcher) { d.log = l; d.logSet = true } }

// WithLeaseTTL sets how long the lease on a record key lives without being
// renewed (default [DefaultLeaseTTL]), when the store can renew leases
// ([LeaseRenewer]; the durable stores can). While a push runs, the
// dispatcher renews its lease every third of the TTL, retry waits
// included, and releases it as soon as the route ends; a process that dies
// stops renewing, so its keys free up within one TTL. A push that loses
// its lease (the store could not renew it in time and another process took
// the key) is cancelled and left for a redelivery. A zero or negative d
// keeps the default. A store without renewal gets leases that cover the
// connector's whole retry budget instead.
func WithLeaseTTL(d time.Duration) Option {
	return func(x *Dispatcher) {
		if d > 0 {
			x.leaseTTL = d
		}
	}
}

// WithMaxEventBytes bounds the size of Event.Data (default 1 MiB). A larger
// event is refused with a permanent [ErrInvalidEvent] before any decoding.
func WithMaxEventBytes(n int) Option {
	return func(d *Dispatcher) {
		if n > 0 {
			d.maxEventBytes = n
		}
	}
}

// Limits on input, applied by every Dispatcher.
const (
	// MaxKeyBytes is the longest Record.Key accepted.
	MaxKeyBytes = 1024
	// DefaultMaxEventBytes is the default bound on Event.Data.
	DefaultMaxEventBytes = 1 << 20
	// DefaultLeaseTTL is the default of [WithLeaseTTL].
	DefaultLeaseTTL = 10 * time.Second
)

// Dispatcher fans events out to the connectors of a [Registry]: it maps each
// event for every connector routed for its type, serialises pushes per
// record key (in process, and across processes through the [Store]'s
// leases), skips what was already done or is stale, pushes under the
// connector's retry policy, and reports and announces the outcome.
//
// A Dispatcher is safe for concurrent use. Its zero value is not usable;
// call [NewDispatcher].
type Dispatcher struct {
	reg           *Registry
	store         Store
	pub           Publisher
	obs           Observer
	evObs         EventObserver // obs, when it implements EventObserver
	log           DeliveryLog
	logSet        bool
	source        string
	retention     time.Duration
	drainTimeout  time.Duration
	maxEventBytes int

	leaseTTL     time.Duration
	renewer      LeaseRenewer // store, when it can renew leases
	logCompleter LogCompleter // store, when it can write the log with Complete
	durableLog   bool         // log survives a restart (DurableLog)
	remoteStore  bool         // store is across the network (not the MemoryStore)

	ctl      sync.Map // *connEntry -> *connControl
	watchMu  sync.Mutex
	watchSeq uint64
	watchers atomic.Pointer[map[uint64]func(Delivery)]
	tasks    chan routeTask // idle route workers wait here

	announceLocks keyLocks // per event ID

	runsMu sync.Mutex
	runs   []*runLife // the Runs in progress, newest last
}

// NewDispatcher returns a dispatcher over reg. Options may be nil.
func NewDispatcher(reg *Registry, opts ...Option) *Dispatcher {
	if reg == nil {
		reg = NewRegistry()
	}
	d := &Dispatcher{
		reg:           reg,
		obs:           LogObserver(slog.Default()),
		source:        "synclayer",
		retention:     7 * 24 * time.Hour,
		drainTimeout:  30 * time.Second,
		leaseTTL:      DefaultLeaseTTL,
		maxEventBytes: DefaultMaxEventBytes,
	}
	for _, o := range opts {
		if o != nil {
			o(d)
		}
	}
	if d.store == nil {
		d.store = NewMemoryStore()
	}
	if !d.logSet {
		d.log = NewMemoryLog(0)
	}
	d.renewer, _ = d.store.(LeaseRenewer)
	d.logCompleter, _ = d.store.(LogCompleter)
	_, local := d.store.(*MemoryStore)
	d.remoteStore = !local
	if dl, ok := d.log.(DurableLog); ok {
		d.durableLog = dl.Durable()
	}
	d.evObs, _ = d.obs.(EventObserver)
	d.watchers.Store(&map[uint64]func(Delivery){})
	d.tasks = make(chan routeTask)
	d.announceLocks.init()
	return d
}

// Dispatch pushes ev to every connector routed for ev.Type, concurrently,
// and waits for all of them. Each route is mapped, checked against the
// store (already done: Duplicate; older version: Stale), pushed with
// retries, and recorded. Then, when a Publisher is set, it announces
// SyncCompleted or SyncFailed once per event.
//
// A route whose key is leased by another process waits here until the
// lease ends or ctx does ([Dispatcher.Run] does not wait: it hands such an
// event back to the bus). A route held by a paused connector or an open
// circuit breaker is Pending, kept in the delivery log for
// [Dispatcher.Resume].
//
// An event type with no route gives an empty report and a nil error. The
// returned error equals report.Err(): the failed routes, an invalid event,
// or an announcement that could not be published. Failures of one route
// never affect another.
func (d *Dispatcher) Dispatch(ctx context.Context, ev Event) (Report, error) {
	return d.dispatch(ctx, ev, false)
}

// dispatch is Dispatch; fromBus says the event came through Run, whose
// handler must not wait long for a key another process holds.
func (d *Dispatcher) dispatch(ctx context.Context, ev Event, fromBus bool) (Report, error) {
	rep := Report{Event: ev}
	if err := d.validateEvent(ev); err != nil {
		rep.err = err
		return rep, err
	}
	routes := d.reg.routesFor(ev.Type)
	if len(routes) == 0 {
		return rep, nil
	}
	if d.evObs != nil {
		ctx = d.evObs.StartEvent(ctx, ev)
		defer func() { d.evObs.EndEvent(ctx, rep) }()
	}
	ahead := d.claimEarly(ctx, &ev, routes, fromBus)
	rep.Results = make([]Result, len(routes))
	if len(routes) == 1 {
		d.runRoute(ctx, &ev, &routes[0], &rep.Results[0], fromBus)
	} else {
		var wg sync.WaitGroup
		wg.Add(len(routes) - 1)
		for i := 1; i < len(routes); i++ {
			d.goRoute(routeTask{ctx: ctx, ev: &ev, rt: &routes[i], res: &rep.Results[i], wg: &wg, fromBus: fromBus})
		}
		d.runRoute(ctx, &ev, &routes[0], &rep.Results[0], fromBus)
		wg.Wait()
	}
	if d.pub != nil {
		if err := d.announce(ctx, rep, fromBus, ahead); err != nil {
			rep.err = err
		}
	}
	return rep, rep.Err()
}

func (d *Dispatcher) validateEvent(ev Event) error {
	var why string
	switch {
	case ev.ID == "":
		why = "no ID"
	case ev.Type == "":
		why = "no Type"
	case len(ev.Data) > d.maxEventBytes:
		why = fmt.Sprintf("Data is %d bytes, over the limit of %d", len(ev.Data), d.maxEventBytes)
	default:
		return nil
	}
	return Permanent(fmt.Errorf("synclayer: event %s (%s): %w: %s", quote(ev.ID), quote(ev.Type), ErrInvalidEvent, why))
}

// validateKey checks a mapped key. It refuses what no partner can hold
// safely; characters that are merely special in one protocol ('/', '..',
// quotes) are the connector's to escape.
func validateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: %d bytes, over the limit of %d", ErrInvalidKey, len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	}
	for i, r := range key {
		if r < 0x80 {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("%w: control character %U at byte %d", ErrInvalidKey, r, i)
			}
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || isNoncharacter(r) {
			return fmt.Errorf("%w: invisible or control character %U at byte %d", ErrInvalidKey, r, i)
		}
	}
	return nil
}

func isNoncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

// runRoute does everything for one (event, connector), fills res, and
// never panics. The work is split so that the frames on the hot path stay
// small: a route runs on a fresh goroutine, and a deep stack would be copied
// as it grows.
func (d *Dispatcher) runRoute(ctx context.Context, ev *Event, rt *route, res *Result, fromBus bool) {
	start := time.Now()
	res.Connector = rt.conn.name
	ctl := d.control(rt.conn)
	op, err := d.routeSteps(ctx, ev, rt, ctl, res, start, fromBus)
	if err != nil {
		failRoute(ev, res, op, err)
	}
	res.Duration = time.Since(start)
	d.count(ctl, res)
	if op == "map" {
		// No push was attempted; record the dead letter with its event.
		d.record(ctx, Delivery{EventID: ev.ID, EventType: ev.Type, Connector: res.Connector, State: StateDead,
			Error: bound(res.Err.Error()), Event: cloneEvent(ev)})
	}
	if d.obs != nil {
		d.obs.ObserveResult(ctx, *ev, *res)
	}
}

//go:noinline
func failRoute(ev *Event, res *Result, op string, err error) {
	res.Status = StatusFailed
	res.Err = &SyncError{EventID: ev.ID, EventType: ev.Type, Connector: res.Connector, Key: res.Key, Op: op, Err: err}
}

// routeSteps maps, serialises, claims, pushes and records. It returns the
// step that failed and why. start is when the route began.
func (d *Dispatcher) routeSteps(ctx context.Context, ev *Event, rt *route, ctl *connControl, res *Result, start time.Time, fromBus bool) (op string, err error) {
	ce := rt.conn
	rec, err := safeMap(ctx, rt.mapper, ev)
	if err != nil {
		return "map", err
	}
	if err := validateKey(rec.Key); err != nil {
		return "map", badKey(err, rec.Key) // res.Key stays empty: reports never echo a bad key
	}
	res.Key = rec.Key
	rec.Event = *ev

	if d.log != nil && ctl.held(start) {
		return d.hold(ctx, ev, &rec, ctl, res)
	}

	if err := ce.locks.lock(ctx, rec.Key); err != nil {
		return "wait for key", err
	}
	defer ce.locks.unlock(rec.Key)

	claim := Claim{
		Connector: ce.name,
		Key:       rec.Key,
		EventID:   ev.ID,
		Version:   rec.Version,
		LeaseTTL:  d.leaseTTLFor(ce),
		Retention: d.retention,
	}
	cr, err := d.claim(ctx, claim, fromBus)
	if err != nil {
		return "claim", err
	}
	switch cr.Status {
	case ClaimDone:
		res.Status = StatusDuplicate
		d.record(ctx, Delivery{EventID: ev.ID, EventType: ev.Type, Connector: ce.name, Key: rec.Key, State: StateDuplicate, Updated: start})
		return "", nil
	case ClaimStale:
		res.Status = StatusStale
		d.record(ctx, Delivery{EventID: ev.ID, EventType: ev.Type, Connector: ce.name, Key: rec.Key, State: StateStale, Updated: start})
		return "", nil
	}

	first := time.Now()
	d.record(ctx, Delivery{EventID: ev.ID, EventType: ev.Type, Connector: ce.name, Key: rec.Key, State: StateInProgress, FirstAttempt: first, Updated: first})
	ctl.inFlight.Add(1)
	pctx, hb := ctx, (*heartbeat)(nil)
	if d.renewer != nil {
		hb = d.keepLease(ctx, claim, cr.Token)
		pctx = hb.ctx
	}
	out := d.push(pctx, ce, ctl, &rec, first)
	if hb != nil && hb.stop() && out.err != nil {
		out.err = leaseLost(out.err)
	}
	ctl.inFlight.Add(-1)
	res.Attempts = out.attempts
	end := time.Now()
	dl := Delivery{EventID: ev.ID, EventType: ev.Type, Connector: ce.name, Key: rec.Key, Attempts: out.attempts,
		FirstAttempt: first, LastAttempt: out.last, Duration: end.Sub(first), PartnerID: out.partnerID, Updated: end}
	if d.log != nil {
		dl.PayloadHash = payloadHash(rec.Payload)
	}
	if err := out.err; err != nil {
		if rerr := settle(ctx, d.store.Release, claim, cr.Token); rerr != nil {
			err = joinStoreErr(err, "release lease", rerr)
		}
		if errors.Is(err, ErrHeld) && d.log != nil {
			return d.hold(ctx, ev, &rec, ctl, res)
		}
		dl.State, dl.Error, dl.Event = StateFailed, bound(err.Error()), cloneEvent(ev)
		if IsPermanent(err) {
			dl.State = StateDead
		}
		d.record(ctx, dl)
		return "sync", err
	}
	dl.State = StateSynced
	if err := d.complete(ctx, claim, cr.Token, dl); err != nil {
		err = joinStoreErr(nil, "pushed, but could not record it", err)
		dl.State, dl.Error, dl.Event = StateFailed, bound(err.Error()), cloneEvent(ev)
		d.record(ctx, dl)
		return "complete", err
	}
	res.Status = StatusSynced
	return "", nil
}

// complete marks the route done in the store and records dl, in one round
// trip when the store can write the log too ([LogCompleter]).
func (d *Dispatcher) complete(ctx context.Context, c Claim, token string, dl Delivery) error {
	if d.logCompleter != nil && d.log != nil {
		var done bool
		err := settle(ctx, func(ctx context.Context, c Claim, token string) error {
			var err error
			done, err = d.logCompleter.CompleteLogged(ctx, c, token, d.log, dl)
			return err
		}, c, token)
		if err != nil {
			return err
		}
		if done {
			d.notify(dl)
			return nil
		}
	}
	if err := settle(ctx, d.store.Complete, c, token); err != nil {
		return err
	}
	d.record(ctx, dl)
	return nil
}

// hold queues the route as pending in the delivery log. When the log
// cannot take it (a [MemoryLog] full of pending entries, a failing log),
// the route fails with a redelivery request, so the bus keeps the event.
func (d *Dispatcher) hold(ctx context.Context, ev *Event, rec *Record, ctl *connControl, res *Result) (string, error) {
	dl := Delivery{EventID: ev.ID, EventType: ev.Type, Connector: res.Connector, Key: rec.Key,
		State: StatePending, Attempts: res.Attempts, Event: cloneEvent(ev), Updated: time.Now()}
	if err := d.log.Put(ctx, dl); err != nil {
		return "hold", Redeliver(fmt.Errorf("%w: the delivery log cannot keep the route: %w", ErrHeld, err), ctl.holdDelay(time.Now()))
	}
	d.notify(dl)
	res.Status = StatusPending
	return "", nil
}

// count adds a result to the connector's counters.
func (d *Dispatcher) count(ctl *connControl, res *Result) {
	switch res.Status {
	case StatusSynced:
		ctl.synced.Add(1)
	case StatusDuplicate:
		ctl.duplicate.Add(1)
	case StatusStale:
		ctl.stale.Add(1)
	case StatusPending:
		ctl.pending.Add(1)
	case StatusFailed:
		if IsPermanent(res.Err) {
			ctl.dead.Add(1)
		} else {
			ctl.failed.Add(1)
		}
	}
}

func cloneEvent(ev *Event) *Event {
	c := *ev
	return &c
}

//go:noinline
func badKey(err error, key string) error {
	return Permanent(fmt.Errorf("%w (key %s)", err, quote(key)))
}

//go:noinline
func joinStoreErr(err error, what string, serr error) error {
	return errors.Join(err, fmt.Errorf("%w: %s: %w", ErrStore, what, serr))
}

// settle calls Complete or Release. The outcome must be recorded even when
// ctx ended during the push (the push happened), so a failure under a done
// ctx is retried once under a detached context with its own time limit.
func settle(ctx context.Context, op func(context.Context, Claim, string) error, c Claim, token string) error {
	if ctx.Err() == nil {
		err := op(ctx, c, token)
		if err == nil || ctx.Err() == nil {
			return err
		}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return op(dctx, c, token)
}

// How long a route that finds its key leased by another process waits in
// a handler of Run before it hands the event back to the bus, and the
// bounds of the redelivery delay it asks for. The delay is short even when
// the lease has long to run: a live holder renews its lease, so its expiry
// says little about when it will be done.
const (
	busyWait        = 250 * time.Millisecond
	minBusyRedelay  = 100 * time.Millisecond
	maxBusyRedelay  = time.Second
	busyPollInitial = 10 * time.Millisecond
)

// claim asks the store, waiting while another process holds the key. From
// the bus it waits at most busyWait, then asks for a redelivery.
func (d *Dispatcher) claim(ctx context.Context, c Claim, fromBus bool) (ClaimResult, error) {
	wait := busyPollInitial
	var since time.Time
	for {
		cr, err := d.store.Claim(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return cr, ctx.Err()
			}
			return cr, fmt.Errorf("%w: %w", ErrStore, err)
		}
		if cr.Status != ClaimBusy {
			if cr.Status == ClaimAcquired || cr.Status == ClaimDone || cr.Status == ClaimStale {
				return cr, nil
			}
			return cr, fmt.Errorf("%w: unknown claim status %v", ErrStore, cr.Status)
		}
		now := time.Now()
		if since.IsZero() {
			since = now
		}
		until := cr.Expires.Sub(now)
		if fromBus && now.Sub(since) >= busyWait {
			return cr, busyErr(cr.Expires, until, ErrKeyBusy)
		}
		w := jitter(wait, 0.2)
		if until > 0 && until < w {
			w = until
		}
		if err := sleep(ctx, w); err != nil {
			return cr, err
		}
		wait = min(wait*2, time.Second)
	}
}

//go:noinline
func busyErr(expires time.Time, until time.Duration, what error) error {
	return Redeliver(fmt.Errorf("%w: its lease runs until %s", what, expires.UTC().Format(time.RFC3339Nano)),
		jitter(min(max(until, minBusyRedelay), maxBusyRedelay), 0.2))
}

// pushOutcome is what push reports about its attempts.
type pushOutcome struct {
	attempts  int
	last      time.Time // start of the last attempt
	partnerID string
	err       error
}

// push calls the connector under its retry policy. first is when the first
// attempt may start (the caller read the clock just before).
func (d *Dispatcher) push(ctx context.Context, ce *connEntry, ctl *connControl, rec *Record, first time.Time) (out pushOutcome) {
	var sched *backoff.ExponentialBackOff
	probe := false
	defer func() {
		if probe {
			// The probe never ran, or its outcome is unknown: give the slot
			// back so that the next attempt probes.
			ctl.br.cancelProbe()
		}
	}()
	aStart := first
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			aStart = time.Now()
		}
		if ctl.br != nil {
			var ok bool
			if ok, probe = ctl.br.allow(aStart); !ok {
				out.err = ErrHeld // the route queues as pending
				return out
			}
		}
		waited := false
		if ce.limiter != nil {
			if err := ce.limiter.Wait(ctx); err != nil {
				out.err = fmt.Errorf("rate limit: %w", err)
				return out
			}
			waited = true
		}
		select {
		case ce.sem <- struct{}{}:
		default:
			waited = true
			select {
			case ce.sem <- struct{}{}:
			case <-ctx.Done():
				out.err = ctx.Err()
				return out
			}
		}
		if waited {
			aStart = time.Now() // the attempt's timeout starts now
		}
		actx := &attemptCtx{parent: ctx, deadline: aStart.Add(ce.timeout)}
		err := safeSync(actx, ce.conn, rec)
		actx.release()
		<-ce.sem
		out.attempts, out.last = attempt, aStart
		ctl.attempts.Add(1)
		if attempt > 1 {
			ctl.retries.Add(1)
		}
		if actx.partnerID != "" {
			out.partnerID = actx.partnerID
		}
		var now time.Time
		if ctl.br != nil || err != nil || d.obs != nil {
			now = time.Now()
		}
		if ctl.br != nil {
			// Only the partner's answers count, not a cancelled dispatch.
			if err == nil || ctx.Err() == nil {
				from, to := ctl.br.record(now, err != nil, probe)
				probe = false
				if from != to {
					d.breakerChanged(ctx, ce, from, to)
				}
			}
		}

		var wait time.Duration
		var final error
		if err != nil {
			if sched == nil {
				sched = ce.policy.schedule()
			}
			wait, final = nextWait(ctx, &ce.policy, sched, attempt, first, now, err)
		}
		if d.obs != nil {
			d.observeAttempt(ctx, ce, rec, attempt, aStart, now.Sub(aStart), err, wait)
		}
		if err == nil {
			return out
		}
		if final != nil {
			out.err = final
			return out
		}
		if serr := sleep(ctx, wait); serr != nil {
			out.err = afterErr(serr, err)
			return out
		}
	}
}

// nextWait decides, after a failed attempt, how long to wait before the
// next one, or returns the route's final error.
//
//go:noinline
func nextWait(ctx context.Context, p *RetryPolicy, sched *backoff.ExponentialBackOff, attempt int, first, now time.Time, err error) (time.Duration, error) {
	switch {
	case IsPermanent(err):
		return 0, err
	case ctx.Err() != nil:
		return 0, afterErr(ctx.Err(), err)
	case attempt >= p.MaxAttempts:
		return 0, Permanent(fmt.Errorf("gave up after %d attempts in %v: %w", attempt, now.Sub(first).Round(time.Millisecond), err))
	}
	wait := sched.NextBackOff()
	if hint, ok := RetryAfterHint(err); ok {
		wait = min(hint, p.MaxInterval)
	}
	if wait < 0 || now.Sub(first)+wait > p.MaxElapsed {
		return 0, Permanent(fmt.Errorf("gave up after %d attempts in %v (retry budget %v spent): %w", attempt, now.Sub(first).Round(time.Millisecond), p.MaxElapsed, err))
	}
	return wait, nil
}

//go:noinline
func afterErr(ctxErr, last error) error { return fmt.Errorf("%w (after: %w)", ctxErr, last) }

//go:noinline
func (d *Dispatcher) observeAttempt(ctx context.Context, ce *connEntry, rec *Record, attempt int, start time.Time, took time.Duration, err error, wait time.Duration) {
	d.obs.ObserveAttempt(ctx, Attempt{Event: rec.Event, Connector: ce.name, Key: rec.Key, Attempt: attempt, Start: start, Duration: took, Err: err, Wait: wait})
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func safeMap(ctx context.Context, m Mapper, ev *Event) (rec Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(fmt.Errorf("%w: %w", ErrMapping, newPanicError("mapper", p)))
		}
	}()
	rec, err = m.Map(ctx, *ev)
	if err != nil {
		err = mappingErr(err)
	}
	return rec, err
}

//go:noinline
func mappingErr(err error) error {
	if errors.Is(err, ErrMapping) {
		return Permanent(err)
	}
	return Permanent(fmt.Errorf("%w: %w", ErrMapping, err))
}

func safeSync(ctx context.Context, c Connector, rec *Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(newPanicError("connector", p))
		}
	}()
	return c.Sync(ctx, *rec)
}

// bound cuts s to a size fit for an error message.
func bound(s string) string {
	const n = 1024
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
