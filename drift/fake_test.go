package drift_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/drift"
)

// partner is a fake partner with ETags: each record is a map of fields and
// a revision, and one field ("notes") belongs to the partner.
type partner struct {
	mu      sync.Mutex
	recs    map[string]map[string]string
	rev     map[string]int
	reads   []time.Time // when each Verify read
	writes  int
	onWrite func() // runs before a Repair's conditional write, outside the lock
	onRead  func() // runs after a Verify's read, before it returns, outside the lock
}

const owned = "notes"

func newPartner() *partner {
	return &partner{recs: map[string]map[string]string{}, rev: map[string]int{}}
}

// fields is what Sync writes for rec: its payload, a map of fields.
func fields(rec synclayer.Record) map[string]string { return rec.Payload.(map[string]string) }

func (p *partner) Sync(_ context.Context, rec synclayer.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writes++
	if rec.Delete {
		delete(p.recs, rec.Key)
		p.rev[rec.Key]++
		return nil
	}
	p.put(rec.Key, fields(rec), p.recs[rec.Key][owned])
	return nil
}

// put stores f, keeping the partner's own notes.
func (p *partner) put(key string, f map[string]string, notes string) {
	f = maps.Clone(f)
	if notes != "" {
		f[owned] = notes
	}
	p.recs[key] = f
	p.rev[key]++
}

// edit changes a record by hand at the partner.
func (p *partner) edit(key, field, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs[key][field] = value
	p.rev[key]++
}

func (p *partner) remove(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.recs, key)
	p.rev[key]++
}

func (p *partner) get(key string) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.recs[key])
}

// Verify reads rec.Key. Like a partner's client whose request ctx cuts
// short, it fails with ctx's error when ctx ended during the read.
func (p *partner) Verify(ctx context.Context, rec synclayer.Record) (drift.Verdict, error) {
	v, err := p.read(ctx, rec)
	if p.onRead != nil {
		p.onRead()
	}
	if ctx.Err() != nil {
		return drift.Verdict{}, fmt.Errorf("partner: read %s: %w", rec.Key, ctx.Err())
	}
	return v, err
}

// read is Verify's read and comparison, under the lock.
func (p *partner) read(_ context.Context, rec synclayer.Record) (drift.Verdict, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads = append(p.reads, time.Now())
	have, ok := p.recs[rec.Key]
	etag := fmt.Sprint(p.rev[rec.Key])
	switch {
	case !ok && rec.Delete:
		return drift.Verdict{Kind: drift.InSync, ETag: etag}, nil
	case !ok:
		return drift.Verdict{Kind: drift.Missing, ETag: etag}, nil
	case rec.Delete:
		return drift.Verdict{Kind: drift.Unexpected, ETag: etag, State: maps.Clone(have)}, nil
	}
	var diff []string
	want := fields(rec)
	for f := range maps.Keys(want) {
		if f != owned && want[f] != have[f] {
			diff = append(diff, f)
		}
	}
	for f := range maps.Keys(have) {
		if _, ok := want[f]; !ok && f != owned {
			diff = append(diff, f)
		}
	}
	if len(diff) == 0 {
		return drift.Verdict{Kind: drift.InSync, ETag: etag}, nil
	}
	slices.Sort(diff)
	return drift.Verdict{Kind: drift.Differs, Fields: diff, ETag: etag, State: maps.Clone(have)}, nil
}

func (p *partner) Repair(_ context.Context, rec synclayer.Record, v drift.Verdict) error {
	if p.onWrite != nil {
		p.onWrite()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if fmt.Sprint(p.rev[rec.Key]) != v.ETag {
		return fmt.Errorf("partner: If-Match %s: 412 Precondition Failed: %w", v.ETag, drift.ErrConflict)
	}
	p.writes++
	if rec.Delete {
		delete(p.recs, rec.Key)
		p.rev[rec.Key]++
		return nil
	}
	notes := ""
	if st, ok := v.State.(map[string]string); ok {
		notes = st[owned]
	}
	p.put(rec.Key, fields(rec), notes)
	return nil
}

// publisher keeps what it is given.
type publisher struct {
	mu     sync.Mutex
	events []synclayer.Event
}

func (p *publisher) Publish(_ context.Context, ev synclayer.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev)
	return nil
}

func (p *publisher) all() []synclayer.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}
