package synclayertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

// ErrUnavailable is the transient error a [Fault] returns when it names none:
// the partner was unreachable, so the dispatcher retries.
var ErrUnavailable = errors.New("synclayertest: partner unavailable")

// Fault makes a [Fake] misbehave. Inject it with [Fake.Inject].
type Fault struct {
	// Key limits the fault to calls for this record key; "" means any key.
	Key string
	// Times is how many calls the fault affects; a negative number means
	// every call from now on. Zero is taken as 1.
	Times int
	// Err is what the affected calls return; nil means ErrUnavailable.
	// Wrap it with synclayer.Permanent or synclayer.RetryAfter as needed.
	Err error
	// Apply makes the call apply the write before returning Err: the partner
	// changed, but the response was lost.
	Apply bool
	// Wait, if set, blocks the call until the channel is closed or the
	// call's context ends (then it returns the context's error and applies
	// nothing). Use it to hold a push in flight. A Fault with Wait and no
	// Err, once released, goes on with the call normally.
	Wait <-chan struct{}
}

// Call is one recorded call of [Fake.Sync].
type Call struct {
	Key     string
	Version int64
	Delete  bool
	Payload any
	EventID string
	Err     error // what the call returned
	Applied bool  // whether the write reached the partner's state
}

// Stored is what the fake partner holds for one key.
type Stored struct {
	Key     string
	Version int64
	Payload any
	EventID string // the event of the last write
	Writes  int    // how many writes reached this key, deletes included
}

// Fake is a recording fake partner connector. The zero value is ready to
// use, and is safe for concurrent use.
type Fake struct {
	mu          sync.Mutex
	records     map[string]Stored
	writes      map[string]int
	calls       []Call
	faults      []*Fault
	active      map[string]int
	inFlight    int
	maxInFlight int
	overlaps    int
	notify      chan struct{}
}

// NewFake returns an empty fake partner. It is the same as new(Fake).
func NewFake() *Fake { return new(Fake) }

// Inject queues faults; each call uses the first queued fault that matches
// its key and still has Times left.
func (f *Fake) Inject(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fl := range faults {
		if fl.Times == 0 {
			fl.Times = 1
		}
		f.faults = append(f.faults, &fl)
	}
}

// ClearFaults drops every queued fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Hold makes every following call block until release is called (or its
// context ends). release is safe to call more than once.
func (f *Fake) Hold() (release func()) {
	ch := make(chan struct{})
	f.Inject(Fault{Times: -1, Wait: ch})
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.faults = slices.DeleteFunc(f.faults, func(fl *Fault) bool { return fl.Wait == (<-chan struct{})(ch) })
			f.mu.Unlock()
			close(ch)
		})
	}
}

// Sync implements synclayer.Connector: it upserts (or deletes) rec.Key in
// the fake partner's state, unless a fault says otherwise.
func (f *Fake) Sync(ctx context.Context, rec synclayer.Record) error {
	f.mu.Lock()
	if f.active == nil {
		f.active = make(map[string]int)
	}
	if f.active[rec.Key] > 0 {
		f.overlaps++
	}
	f.active[rec.Key]++
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	fault := f.takeFault(rec.Key)
	idx := len(f.calls)
	f.calls = append(f.calls, Call{Key: rec.Key, Version: rec.Version, Delete: rec.Delete, Payload: rec.Payload, EventID: rec.Event.ID})
	f.signal()
	f.mu.Unlock()

	err, apply := f.decide(ctx, fault)

	f.mu.Lock()
	defer f.mu.Unlock()
	if apply {
		f.apply(rec)
	}
	f.calls[idx].Err = err
	f.calls[idx].Applied = apply
	f.active[rec.Key]--
	if f.active[rec.Key] == 0 {
		delete(f.active, rec.Key)
	}
	f.inFlight--
	f.signal()
	return err
}

// decide waits as the fault says and returns the call's error and whether
// to apply the write.
func (f *Fake) decide(ctx context.Context, fault *Fault) (error, bool) {
	if fault == nil {
		if err := ctx.Err(); err != nil {
			return err, false
		}
		return nil, true
	}
	if fault.Wait != nil {
		select {
		case <-fault.Wait:
		case <-ctx.Done():
			return ctx.Err(), false
		}
		if fault.Err == nil && !fault.Apply {
			return nil, true
		}
	}
	err := fault.Err
	if err == nil {
		err = ErrUnavailable
	}
	return err, fault.Apply
}

func (f *Fake) takeFault(key string) *Fault {
	for i, fl := range f.faults {
		if fl.Key != "" && fl.Key != key {
			continue
		}
		cp := *fl
		if fl.Times > 0 {
			fl.Times--
			if fl.Times == 0 {
				f.faults = slices.Delete(f.faults, i, i+1)
			}
		}
		return &cp
	}
	return nil
}

func (f *Fake) apply(rec synclayer.Record) {
	if f.records == nil {
		f.records = make(map[string]Stored)
		f.writes = make(map[string]int)
	}
	f.writes[rec.Key]++
	if rec.Delete {
		delete(f.records, rec.Key)
		return
	}
	f.records[rec.Key] = Stored{Key: rec.Key, Version: rec.Version, Payload: rec.Payload, EventID: rec.Event.ID, Writes: f.writes[rec.Key]}
}

func (f *Fake) signal() {
	if f.notify != nil {
		close(f.notify)
		f.notify = nil
	}
}

// Records returns a copy of the partner's state: one entry per key.
func (f *Fake) Records() map[string]Stored {
	return locked(&f.mu, func() map[string]Stored { return maps.Clone(f.records) })
}

// Record returns what the partner holds for key.
func (f *Fake) Record(key string) (Stored, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.records[key]
	return s, ok
}

// Calls returns every call so far, in the order they started.
func (f *Fake) Calls() []Call {
	return locked(&f.mu, func() []Call { return slices.Clone(f.calls) })
}

// CallCount returns how many calls have started.
func (f *Fake) CallCount() int {
	return locked(&f.mu, func() int { return len(f.calls) })
}

// Writes returns how many writes reached key (the partner's own count).
func (f *Fake) Writes(key string) int {
	return locked(&f.mu, func() int { return f.writes[key] })
}

// MaxInFlight returns the most calls that ran at once.
func (f *Fake) MaxInFlight() int {
	return locked(&f.mu, func() int { return f.maxInFlight })
}

// Overlaps returns how many calls started while another call for the same
// key was running. The dispatcher promises zero.
func (f *Fake) Overlaps() int {
	return locked(&f.mu, func() int { return f.overlaps })
}

// WaitCalls waits until at least n calls have started, or ctx ends.
func (f *Fake) WaitCalls(ctx context.Context, n int) error {
	return f.waitFor(ctx, func() bool { return len(f.calls) >= n }, fmt.Sprintf("%d calls", n))
}

// WaitInFlight waits until exactly n calls are running, or ctx ends.
func (f *Fake) WaitInFlight(ctx context.Context, n int) error {
	return f.waitFor(ctx, func() bool { return f.inFlight == n }, fmt.Sprintf("%d calls in flight", n))
}

func (f *Fake) waitFor(ctx context.Context, cond func() bool, what string) error {
	for {
		f.mu.Lock()
		if cond() {
			f.mu.Unlock()
			return nil
		}
		if f.notify == nil {
			f.notify = make(chan struct{})
		}
		ch := f.notify
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("synclayertest: waiting for %s: %w", what, ctx.Err())
		}
	}
}

// Within is a helper for tests: a context that ends after d, cancelled when
// the test ends.
func Within(t interface {
	Context() context.Context
	Cleanup(func())
}, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// locked returns f's result, computed while holding mu.
func locked[T any](mu sync.Locker, f func() T) T {
	mu.Lock()
	defer mu.Unlock()
	return f()
}
