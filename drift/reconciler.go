package drift

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/ctxsleep"
	"golang.org/x/time/rate"
)

// Config configures a [Reconciler]. The zero value verifies every
// connector that is a [Verifier], ten requests a second, and repairs
// nothing.
type Config struct {
	// Connectors limits the reconciler to these connectors (default: every
	// registered connector that implements Verifier).
	Connectors []string
	// Rate bounds the reconciler's requests to the partners per second,
	// reads and repairs together, over all connectors (default 10); Burst
	// is how many may go at once (default 1).
	Rate  float64
	Burst int
	// Repair pushes the wanted record again where drift is found, through
	// the Dispatcher's claim path ([synclayer.Dispatcher.Reapply]). A
	// connector that is paused or whose breaker is open is not written:
	// its drift is counted and announced, and left for a later pass.
	Repair bool
	// Publisher receives a DriftDetected event for every drifted key and a
	// DriftRepaired event for every repair (default: none).
	Publisher synclayer.Publisher
	// Source is the Source of those events (default "synclayer").
	Source string
	// Lookup returns the newest event of a record key, the source of truth
	// a ledger walk ([Reconciler.Walk]) compares with; false when the
	// source has none (the record should be absent at the partner).
	Lookup func(ctx context.Context, connector, key string) (synclayer.Event, bool, error)
}

// Summary counts what one pass of a [Reconciler] found. Each checked
// (connector, key) counts once in InSync, Missing, Differs, Unexpected,
// Stale or Failed; Repaired and Conflicts count the repairs among the
// drifted (Missing, Differs and Unexpected).
//
// A pass that ctx ends stops there and returns ctx's error: the records it
// had not come to, and one whose mapping, read or repair ctx cut short,
// are in none of the counts (a repair cut short leaves its drift counted,
// unrepaired). A connector that cannot read its partner as configured
// ([errors.ErrUnsupported]) is not counted either.
type Summary struct {
	// Checked counts the (connector, key)s the pass took up: the sum of
	// InSync, Missing, Differs, Unexpected, Stale and Failed.
	Checked int `json:"checked"`
	// InSync, Missing, Differs and Unexpected count the verdicts of the
	// partner's reads (see [Kind]).
	InSync     int `json:"inSync"`
	Missing    int `json:"missing"`
	Differs    int `json:"differs"`
	Unexpected int `json:"unexpected"`
	// Stale counts the records older than the version the ledger says the
	// partner was brought to (the source lags a newer push): not compared
	// with the partner, not drift, and neither announced nor repaired.
	Stale int `json:"stale"`
	// Failed counts the checks that failed while ctx lasted: the source's
	// Lookup, the mapping or the partner's read returned an error, or a
	// walk's Lookup gave an event the connector has no route for.
	Failed int `json:"failed"`
	// Repaired counts the drifted records written again (see
	// Config.Repair).
	Repaired int `json:"repaired"`
	// Conflicts counts the repairs left undone because the partner's
	// record changed between the read and the write ([ErrConflict]).
	Conflicts int `json:"conflicts"`
}

// Reconciler verifies what partners hold against what they should hold,
// and repairs drift. It is safe for concurrent use; its passes share one
// rate limit.
type Reconciler struct {
	d     *synclayer.Dispatcher
	cfg   Config
	conns map[string]Verifier
	limit *rate.Limiter
}

// New returns a reconciler over d's connectors and ledger. It refuses a
// negative Rate or Burst, an unknown connector, and a named connector that
// is not a Verifier.
func New(d *synclayer.Dispatcher, cfg Config) (*Reconciler, error) {
	if cfg.Rate < 0 || cfg.Burst < 0 {
		return nil, fmt.Errorf("drift: new reconciler: %w: Rate and Burst must not be negative", synclayer.ErrInvalidOption)
	}
	r := &Reconciler{d: d, cfg: cfg, conns: map[string]Verifier{},
		limit: rate.NewLimiter(rate.Limit(cmp.Or(cfg.Rate, 10)), max(cfg.Burst, 1))}
	r.cfg.Source = cmp.Or(cfg.Source, "synclayer")
	for _, name := range cfg.Connectors {
		c, err := d.Connector(name)
		if err != nil {
			return nil, fmt.Errorf("drift: new reconciler: %w", err)
		}
		v, ok := c.(Verifier)
		if !ok {
			return nil, fmt.Errorf("drift: new reconciler: connector %q cannot read its partner (it is not a drift.Verifier)", name)
		}
		r.conns[name] = v
	}
	if len(cfg.Connectors) == 0 {
		for _, st := range d.Status() {
			if c, err := d.Connector(st.Name); err == nil {
				if v, ok := c.(Verifier); ok {
					r.conns[st.Name] = v
				}
			}
		}
	}
	return r, nil
}

// Check verifies the record each event maps to, for every reconciled
// connector routed for the event's type: events is the caller's source of
// truth, the newest event of each record. An event whose record is older
// than the version the ledger says the partner was brought to (the source
// lags a newer push) is counted Stale, and is not compared with the
// partner, announced or repaired. It returns what it found, and the
// source's error or ctx's.
func (r *Reconciler) Check(ctx context.Context, events iter.Seq2[synclayer.Event, error]) (Summary, error) {
	var s Summary
	for ev, err := range events {
		if err != nil {
			return s, fmt.Errorf("drift: check: the source failed: %w", err)
		}
		for _, name := range r.names() {
			rec, routed, err := r.d.Map(ctx, name, ev)
			if !routed {
				continue
			}
			if err != nil && ctx.Err() != nil {
				return s, ctx.Err() // not a failure of the record: the pass ended
			}
			if err != nil {
				s.Checked++
				s.Failed++
				continue
			}
			if err := r.one(ctx, &s, name, ev, rec); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// Walk verifies every key of the reconciled connectors' ledger entries, in
// key order, against the event Config.Lookup gives for it. A key the source
// no longer has is checked as a delete: the partner should hold nothing.
// Its repair is a delete at the ledger's version of the key, so a newer
// version pushed since the ledger was read wins over it.
func (r *Reconciler) Walk(ctx context.Context) (Summary, error) {
	var s Summary
	if r.cfg.Lookup == nil {
		return s, errors.New("drift: walk: no Lookup configured to find the wanted record of a key")
	}
	ledger := r.d.Ledger()
	if ledger == nil {
		return s, errors.New("drift: walk: the Dispatcher keeps no freshness ledger (it was built with synclayer.NoLedger)")
	}
	for _, name := range r.names() {
		for after := ""; ; {
			page, err := ledger.Holdings(ctx, name, after, 256)
			if err != nil {
				return s, fmt.Errorf("drift: walk %q: %w", name, err)
			}
			for _, h := range page {
				if err := r.walkKey(ctx, &s, name, h); err != nil {
					return s, err
				}
			}
			if len(page) < 256 {
				break
			}
			after = page[len(page)-1].Key
		}
	}
	return s, nil
}

// walkKey checks one ledger entry against the source of truth.
func (r *Reconciler) walkKey(ctx context.Context, s *Summary, name string, h synclayer.Holding) error {
	ev, ok, err := r.cfg.Lookup(ctx, name, h.Key)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.Checked++
		s.Failed++
		return nil
	}
	// The delete is of the version the ledger says the partner holds, so
	// that a newer version applied meanwhile (the record re-created at the
	// source after Lookup answered) makes it stale instead of deleted.
	rec := synclayer.Record{Key: h.Key, Delete: true, Version: h.Version}
	if ok {
		m, routed, err := r.d.Map(ctx, name, ev)
		if err != nil && ctx.Err() != nil {
			return ctx.Err() // not a failure of the record: the pass ended
		}
		if !routed || err != nil {
			s.Checked++
			s.Failed++
			return nil
		}
		rec = m
	} else {
		ev = synclayer.Event{ID: "drift/" + h.Key, Type: "Deleted", Subject: h.Key}
	}
	return r.one(ctx, s, name, ev, rec)
}

// Run walks the ledger every interval until ctx ends, and returns ctx's
// error. A failed walk is retried at the next interval.
func (r *Reconciler) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("drift: run: %w: the interval must be positive", synclayer.ErrInvalidOption)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Walk(ctx); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// names lists the reconciled connectors in order.
func (r *Reconciler) names() []string {
	names := make([]string, 0, len(r.conns))
	for n := range r.conns {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// one verifies one record, records the verdict in the ledger (dated at the
// read), announces drift and repairs it when told to. Only ctx's end stops
// the pass.
func (r *Reconciler) one(ctx context.Context, s *Summary, name string, ev synclayer.Event, rec synclayer.Record) error {
	v := r.conns[name]
	stale, err := r.stale(ctx, name, rec)
	if err != nil {
		return err
	}
	if stale {
		s.Checked++
		s.Stale++
		return nil
	}
	if err := r.wait(ctx); err != nil {
		return err
	}
	// The verdict is of the partner's state as read: it is recorded at the
	// time of the read, so that a push landing before it is recorded
	// stays newer than the check in the ledger (unverified).
	readAt := time.Now()
	verdict, err := v.Verify(ctx, rec)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil // the connector cannot read its partner as configured
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // a read ctx cut short is no verdict, nor a failed check
	}
	s.Checked++
	if err != nil {
		s.Failed++
		return nil
	}
	if l := r.d.Ledger(); l != nil {
		_ = l.Verified(ctx, name, rec.Key, readAt, verdict.Kind) // the ledger is advisory here
	}
	switch verdict.Kind {
	case InSync:
		s.InSync++
		return nil
	case Missing:
		s.Missing++
	case Differs:
		s.Differs++
	case Unexpected:
		s.Unexpected++
	}
	r.announce(ctx, Detected, name, rec, verdict)
	if !r.cfg.Repair {
		return nil
	}
	repaired, err := r.repair(ctx, name, v, ev, rec)
	switch {
	case errors.Is(err, ErrConflict):
		s.Conflicts++
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
	case repaired:
		s.Repaired++
		r.announce(ctx, Repaired, name, rec, verdict)
	}
	return nil
}

// stale reports whether the ledger holds a newer version of rec.Key for
// name than rec's: then rec is not what the partner should hold, and
// comparing the partner's record with it would report drift that is not
// there. An unversioned record is never stale. The ledger is advisory
// here: when it has no entry, or fails to answer, rec is checked; only
// ctx's end is returned.
func (r *Reconciler) stale(ctx context.Context, name string, rec synclayer.Record) (bool, error) {
	l := r.d.Ledger()
	if l == nil || rec.Version == 0 {
		return false, nil
	}
	h, ok, err := l.Holding(ctx, name, rec.Key)
	if err != nil {
		return false, ctx.Err()
	}
	return ok && h.Version > rec.Version, nil
}

// wait waits for the rate limiter's next turn, or until ctx ends, and then
// returns ctx's error. Not limit.Wait: it fails at once, while ctx is
// live, when the turn would come after ctx's deadline, and only ctx's end
// stops a pass. A turn not waited for is given back.
func (r *Reconciler) wait(ctx context.Context) error {
	turn := r.limit.Reserve()
	if err := ctxsleep.Sleep(ctx, turn.Delay()); err != nil {
		turn.Cancel()
		return err
	}
	return nil
}

// repair writes rec again under the key's lease: it reads the partner once
// more, and writes only if the record still drifts, over exactly the state
// it read. It reports false when the re-read found the record in sync.
func (r *Reconciler) repair(ctx context.Context, name string, v Verifier, ev synclayer.Event, rec synclayer.Record) (bool, error) {
	wrote := false
	_, err := r.d.Reapply(ctx, name, ev, rec, func(ctx context.Context) error {
		if err := r.wait(ctx); err != nil {
			return err
		}
		now, err := v.Verify(ctx, rec)
		if err != nil || now.Kind == InSync {
			return err
		}
		if err := r.wait(ctx); err != nil {
			return err
		}
		wrote = true
		if rp, ok := v.(Repairer); ok {
			return rp.Repair(ctx, rec, now)
		}
		c, err := r.d.Connector(name)
		if err != nil {
			return err
		}
		return c.Sync(ctx, rec)
	})
	return wrote && err == nil, err
}

// announce publishes a DriftDetected or DriftRepaired event, if a
// Publisher is set. A failure to publish does not stop the pass.
func (r *Reconciler) announce(ctx context.Context, typ, name string, rec synclayer.Record, v Verdict) {
	if r.cfg.Publisher == nil {
		return
	}
	data, err := json.Marshal(Report{Connector: name, Key: rec.Key, Drift: v.Kind, Fields: v.Fields, Version: rec.Version})
	if err != nil {
		return
	}
	now := time.Now()
	_ = r.cfg.Publisher.Publish(ctx, synclayer.Event{
		ID:      fmt.Sprintf("%s/%s/%s/%d", typ, name, rec.Key, now.UnixNano()),
		Type:    typ,
		Source:  r.cfg.Source,
		Subject: rec.Key,
		Time:    now,
		Data:    data,
	})
}
