package synclayer

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer/internal/ctxsleep"
	"golang.org/x/time/rate"
)

// ResyncOptions configures [Dispatcher.Resync]. The zero value resyncs
// every connector routed for each event, skipping what the partners hold,
// at up to 100 events a second, two at a time.
type ResyncOptions struct {
	// Connectors limits the resync to these connectors (default: all).
	Connectors []string
	// Rate bounds the events taken from the source per second (default
	// 100); Burst is how many may go at once after a pause (default 1).
	Rate  float64
	Burst int
	// Concurrency is how many events are in flight at once (default 2).
	// Each holds at most one of a connector's concurrency slots while it
	// pushes, so live traffic keeps the rest.
	Concurrency int
	// Force pushes records the partner already holds at their version too,
	// for a partner that lost its data. It never pushes a version older
	// than one already applied, nor to a connector that is paused or whose
	// breaker is open: such a route is counted Failed and not queued, so
	// resync again once the connector is let go.
	Force bool
	// Name labels the resync in its progress reports (default "resync").
	Name string
	// Total is how many events the source holds, when the caller knows
	// (a COUNT(*) beside the scan), for a progress bar; 0 when unknown.
	Total int
	// Progress, when set, hears where the resync stands: after every
	// event, and once more with Done set. It is called from the resync's
	// goroutines, one call at a time, and must not block for long. It
	// may call [Dispatcher.Resyncs], which tells the same to whoever asks.
	Progress func(ResyncProgress)
}

// ResyncProgress is where a resync stands. Routes are counted once each:
// Pushed, Skipped (the partner held that version or a newer one, or the
// event was done already: no request was made), Failed (including routes
// held because the connector was paused or its breaker open).
type ResyncProgress struct {
	Name       string    `json:"name"`
	Connectors []string  `json:"connectors"` // the connectors resynced
	Started    time.Time `json:"started"`
	Total      int       `json:"total,omitempty"` // ResyncOptions.Total
	Events     int       `json:"events"`          // taken up so far (not those left queued when ctx ended)
	Pushed     int       `json:"pushed"`
	Skipped    int       `json:"skipped"`
	Failed     int       `json:"failed"`
	// Done is set in the last report; Err then holds why the resync
	// stopped early ("" when it read the whole source).
	Done bool   `json:"done"`
	Err  string `json:"error,omitempty"`
}

// Resync pushes the authoritative state of every record to the partners
// again, from the source of truth: events yields the newest event of each
// record (a database scan, an export), and each goes through the normal
// pipeline (map, claim, stale check, push, complete, ledger) of every
// connector routed for its type, without announcements.
//
// What a partner already holds at the event's version (or newer) is
// skipped by the store's claim, without a request to the partner, unless
// opt.Force is set. So a resync killed halfway and started again over the
// same source skips what was done (with a durable store) instead of
// pushing it again, and live events for the same keys still win by
// version. Resync runs at opt.Rate beside live traffic.
//
// It returns when the source is exhausted, it yields an error, or ctx
// ends, with the final progress; the error is the source's or ctx's (route
// failures are counted in Failed, reported to the Observer, and kept as
// dead letters like any other). When ctx ends, the events being pushed
// end with it and count as Failed; those still queued for the workers are
// dropped uncounted.
func (d *Dispatcher) Resync(ctx context.Context, events iter.Seq2[Event, error], opt ResyncOptions) (ResyncProgress, error) {
	if opt.Rate < 0 || opt.Burst < 0 || opt.Concurrency < 0 {
		return ResyncProgress{}, fmt.Errorf("synclayer: resync: %w: Rate, Burst and Concurrency must not be negative", ErrInvalidOption)
	}
	only := map[string]bool{}
	for _, name := range opt.Connectors {
		if _, err := d.entry(name); err != nil {
			return ResyncProgress{}, fmt.Errorf("synclayer: resync: %w", err)
		}
		only[name] = true
	}
	conns := slices.Clone(opt.Connectors)
	if len(conns) == 0 {
		conns = d.reg.Connectors()
	}
	r := &resync{d: d, opt: opt, only: only,
		limit: rate.NewLimiter(rate.Limit(cmp.Or(opt.Rate, 100)), max(opt.Burst, 1)),
		p:     ResyncProgress{Name: cmp.Or(opt.Name, "resync"), Connectors: conns, Started: time.Now(), Total: max(opt.Total, 0)}}
	d.resyncs.start(r)
	err := r.run(ctx, events, max(opt.Concurrency, 2))
	p := r.report(func(p *ResyncProgress) {
		p.Done = true
		if err != nil {
			p.Err = err.Error()
		}
	})
	d.resyncs.end(r)
	return p, err
}

// Resyncs returns the progress of the resyncs running now and of the last
// finished one of each name, oldest first: what the monitor shows.
func (d *Dispatcher) Resyncs() []ResyncProgress {
	return d.resyncs.list()
}

// resyncList keeps the resyncs of a Dispatcher for Resyncs.
type resyncList struct {
	mu      sync.Mutex
	running []*resync
	last    []ResyncProgress // the last finished of each name
}

func (l *resyncList) start(r *resync) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running = append(l.running, r)
}

func (l *resyncList) end(r *resync) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running = slices.DeleteFunc(l.running, func(x *resync) bool { return x == r })
	r.mu.Lock()
	p := r.p
	r.mu.Unlock()
	l.last = slices.DeleteFunc(l.last, func(x ResyncProgress) bool { return x.Name == p.Name })
	l.last = append(l.last, p)
}

func (l *resyncList) list() []ResyncProgress {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.last)
	for _, r := range l.running {
		r.mu.Lock()
		out = append(out, r.p)
		r.mu.Unlock()
	}
	slices.SortStableFunc(out, func(a, b ResyncProgress) int { return a.Started.Compare(b.Started) })
	return out
}

// resync is one run of Dispatcher.Resync.
type resync struct {
	d     *Dispatcher
	opt   ResyncOptions
	only  map[string]bool
	limit *rate.Limiter

	reporting sync.Mutex // held across a change of p and its Progress call
	mu        sync.Mutex // guards p; taken after reporting, and by resyncList after its own
	p         ResyncProgress
}

// run feeds the source's events to workers at the set rate.
func (r *resync) run(ctx context.Context, events iter.Seq2[Event, error], workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan Event, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ev := range todo {
				if ctx.Err() != nil {
					continue // left queued when ctx ended: not taken up, not counted
				}
				r.event(ctx, ev)
			}
		})
	}
	err := func() error {
		defer close(todo)
		for ev, err := range events {
			if err != nil {
				return fmt.Errorf("synclayer: resync: the source failed: %w", err)
			}
			// Not limit.Wait: it fails at once, while ctx is live, when the
			// wait would pass ctx's deadline. Only ctx's end stops a resync.
			if err := ctxsleep.Sleep(ctx, r.limit.Reserve().Delay()); err != nil {
				return fmt.Errorf("synclayer: resync: %w", context.Cause(ctx))
			}
			select {
			case todo <- ev:
			case <-ctx.Done():
				return fmt.Errorf("synclayer: resync: %w", context.Cause(ctx))
			}
		}
		return nil
	}()
	wg.Wait()
	return err
}

// event resyncs one event through each of its routes.
func (r *resync) event(ctx context.Context, ev Event) {
	d := r.d
	var pushed, skipped, failed int
	if err := d.validateEvent(ev); err != nil {
		failed++
	} else {
		for _, rt := range d.reg.routesFor(ev.Type) {
			if len(r.only) > 0 && !r.only[rt.conn.name] {
				continue
			}
			var res Result
			if r.opt.Force {
				res = r.force(ctx, ev, &rt)
			} else {
				d.runRoute(ctx, &ev, &rt, &res, false)
			}
			switch res.Status {
			case StatusSynced:
				pushed++
			case StatusDuplicate, StatusStale:
				skipped++
			default:
				failed++
			}
		}
	}
	r.report(func(p *ResyncProgress) {
		p.Events++
		p.Pushed += pushed
		p.Skipped += skipped
		p.Failed += failed
	})
}

// report applies change to the progress and tells it to Progress, if set,
// one report at a time and in the order of the changes. Progress is called
// without r.mu held, so that it may ask Dispatcher.Resyncs, which takes
// r.mu; it returns the progress reported.
func (r *resync) report(change func(*ResyncProgress)) ResyncProgress {
	r.reporting.Lock()
	defer r.reporting.Unlock()
	r.mu.Lock()
	change(&r.p)
	p := r.p
	r.mu.Unlock()
	if r.opt.Progress != nil {
		r.opt.Progress(p)
	}
	return p
}

// force pushes ev's record for rt's connector through Reapply.
func (r *resync) force(ctx context.Context, ev Event, rt *route) Result {
	rec, err := mapRecord(ctx, rt.mapper, &ev)
	if err != nil {
		res := Result{Connector: rt.conn.name}
		failRoute(&ev, &res, "map", err)
		return res
	}
	res, _ := r.d.Reapply(ctx, rt.conn.name, ev, rec, nil) // the error is res.Err
	return res
}
