package synclayer

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/internal/option"
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
	source        string
	retention     time.Duration
	drainTimeout  time.Duration
	maxEventBytes int

	leaseTTL     time.Duration
	renewer      idempotency.LeaseRenewer // store, when it can renew leases
	logCompleter LogCompleter             // store, when it can write the log with Complete
	durableLog   bool                     // log survives a restart (DurableLog)
	ledger       Ledger                   // nil when off
	storeLedger  bool                     // ledger is the store: Complete writes it
	remoteStore  bool                     // store is across the network (not the MemoryStore)

	ctl      sync.Map // *connEntry -> *connControl
	watchMu  sync.Mutex
	watchSeq uint64
	watchers atomic.Pointer[map[uint64]func(Delivery)]
	pool     routePool // runs the routes Dispatch does not run itself

	announceLocks keyLocks // per event ID
	resyncs       resyncList

	runsMu sync.Mutex
	runs   []*runLife // the Runs in progress, newest last
}

// NewDispatcher returns a dispatcher over reg (nil: an empty registry).
// A nil option is skipped; an option given a bad value makes it return an
// error wrapping [ErrInvalidOption].
func NewDispatcher(reg *Registry, opts ...Option) (*Dispatcher, error) {
	if reg == nil {
		reg = new(Registry)
	}
	d := &Dispatcher{reg: reg}
	if err := option.Apply("synclayer: new dispatcher", d, opts); err != nil {
		return nil, err
	}
	d.source = option.Default(d.source, defaultSource)
	d.retention = option.Default(d.retention, defaultRetention)
	d.drainTimeout = option.Default(d.drainTimeout, defaultDrainTimeout)
	d.leaseTTL = option.Default(d.leaseTTL, defaultLeaseTTL)
	d.maxEventBytes = option.Default(d.maxEventBytes, defaultMaxEventBytes)
	switch d.obs {
	case nil:
		d.obs = LogObserver(slog.Default())
	case NoObserver:
		d.obs = nil
	}
	switch d.log {
	case nil:
		d.log = new(MemoryLog)
	case NoDeliveryLog:
		d.log = nil
	}
	if d.store == nil {
		d.store = new(MemoryStore)
	}
	switch l, isLedger := d.store.(Ledger); {
	case d.ledger == NoLedger:
		d.ledger = nil
	case d.ledger != nil: // the caller's, written after Complete
	case isLedger:
		d.ledger, d.storeLedger = l, true
	default:
		d.ledger = new(MemoryStore) // used as a ledger only
	}
	d.renewer, _ = d.store.(idempotency.LeaseRenewer)
	d.logCompleter, _ = d.store.(LogCompleter)
	_, local := d.store.(*MemoryStore)
	d.remoteStore = !local
	if dl, ok := d.log.(idempotency.DurableLog); ok {
		d.durableLog = dl.Durable()
	}
	d.evObs, _ = d.obs.(EventObserver)
	d.watchers.Store(&map[uint64]func(Delivery){})
	d.pool.run = func(t *routeTask) { d.runRoute(t.ctx, t.ev, t.rt, t.res, t.fromBus) }
	d.announceLocks.init()
	return d, nil
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
		tasks := make([]routeTask, len(routes)-1)
		for i := range tasks {
			t := &tasks[i]
			t.wg, t.ctx, t.ev, t.rt, t.res, t.fromBus = &wg, ctx, &ev, &routes[i+1], &rep.Results[i+1], fromBus
		}
		d.pool.offer(tasks)
		d.runRoute(ctx, &ev, &routes[0], &rep.Results[0], fromBus)
		d.pool.join(tasks, &wg)
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
