package drift_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/drift"
	"github.com/hmsplatform/synclayer/synclayertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type policy struct {
	Key     string `json:"key"`
	Version int64  `json:"version"`
	Name    string `json:"name"`
	Area    string `json:"area"`
}

var mapper = synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, p policy) (synclayer.Record, error) {
	return synclayer.Record{Key: p.Key, Version: p.Version, Payload: map[string]string{"name": p.Name, "area": p.Area}}, nil
})

func policyEvent(p policy) synclayer.Event {
	data, _ := json.Marshal(p)
	return synclayer.Event{ID: fmt.Sprintf("%s-v%d", p.Key, p.Version), Type: "PolicyUpdated", Data: data}
}

// truth is the source of truth: n policies at version 1.
func truth(n int) []policy {
	out := make([]policy, n)
	for i := range out {
		out[i] = policy{Key: fmt.Sprintf("P%d", i), Version: 1, Name: fmt.Sprintf("Policy %d", i), Area: "north"}
	}
	return out
}

func events(ps []policy) iter.Seq2[synclayer.Event, error] {
	return func(yield func(synclayer.Event, error) bool) {
		for _, p := range ps {
			if !yield(policyEvent(p), nil) {
				return
			}
		}
	}
}

// synced returns a dispatcher whose partner holds every policy of ps.
func synced(t *testing.T, ps []policy) (*synclayer.Dispatcher, *partner) {
	t.Helper()
	return syncedWith(t, ps, mapper)
}

// syncedWith is synced with the route's mapper m.
func syncedWith(t *testing.T, ps []policy, m synclayer.Mapper) (*synclayer.Dispatcher, *partner) {
	t.Helper()
	p := newPartner()
	reg := new(synclayer.Registry)
	if err := reg.Register("gis", p, synclayer.Route("PolicyUpdated", m)); err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	for ev := range events(ps) {
		if _, err := d.Dispatch(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	return d, p
}

func reports(t *testing.T, pub *publisher, typ string) []drift.Report {
	t.Helper()
	var out []drift.Report
	for _, ev := range pub.all() {
		if ev.Type != typ {
			continue
		}
		var r drift.Report
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b drift.Report) int { return cmpString(a.Key, b.Key) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var fastCfg = drift.Config{Rate: 1e6, Burst: 100}

// walkOnce makes a reconciler of d with cfg and runs one Walk of the
// ledger, failing the test on an error of either.
func walkOnce(t *testing.T, d *synclayer.Dispatcher, cfg drift.Config) drift.Summary {
	t.Helper()
	r, err := drift.New(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Walk(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkOnce makes a reconciler of d with cfg and runs one Check of ps,
// failing the test on an error of either.
func checkOnce(t *testing.T, d *synclayer.Dispatcher, cfg drift.Config, ps []policy) (*drift.Reconciler, drift.Summary) {
	t.Helper()
	r, err := drift.New(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Check(t.Context(), events(ps))
	if err != nil {
		t.Fatal(err)
	}
	return r, s
}

func TestCheckReportsEachKindOfDrift(t *testing.T) {
	ps := truth(6)
	d, p := synced(t, ps)
	p.edit("P1", "name", "Policy one (typo fixed by hand)")
	p.remove("P2")
	p.edit("P3", "notes", "agency note") // the partner's own field
	p.edit("P4", "area", "south")
	p.edit("P4", "extra", "added by hand")
	pub := &publisher{}
	cfg := fastCfg
	cfg.Publisher = pub
	_, s := checkOnce(t, d, cfg, ps)
	want := drift.Summary{Checked: 6, InSync: 3, Missing: 1, Differs: 2}
	if s != want {
		t.Fatalf("summary %+v, want %+v", s, want)
	}
	got := reports(t, pub, drift.Detected)
	wantReports := []drift.Report{
		{Connector: "gis", Key: "P1", Drift: drift.Differs, Fields: []string{"name"}, Version: 1},
		{Connector: "gis", Key: "P2", Drift: drift.Missing, Version: 1},
		{Connector: "gis", Key: "P4", Drift: drift.Differs, Fields: []string{"area", "extra"}, Version: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(wantReports) {
		t.Fatalf("DriftDetected %v, want %v", got, wantReports)
	}
	if n := len(reports(t, pub, drift.Repaired)); n != 0 {
		t.Fatalf("%d repairs announced without Repair", n)
	}
	for key, wantDrift := range map[string]synclayer.Drift{"P0": drift.InSync, "P1": drift.Differs, "P2": drift.Missing, "P3": drift.InSync} {
		h, _, err := d.Holding(t.Context(), "gis", key)
		if err != nil || h.Drift != wantDrift || h.VerifiedAt.IsZero() {
			t.Errorf("ledger %s: %+v, %v; want drift %v", key, h, err, wantDrift)
		}
	}
	if h, _, _ := d.Holding(t.Context(), "gis", "P1"); !h.Behind() {
		t.Errorf("a drifted key is not behind: %+v", h)
	}
}

func TestRepairRestoresAndKeepsPartnerFields(t *testing.T) {
	ps := truth(4)
	d, p := synced(t, ps)
	p.edit("P0", "notes", "call before visiting")
	p.edit("P0", "name", "renamed by hand")
	p.remove("P1")
	pub := &publisher{}
	cfg := fastCfg
	cfg.Publisher, cfg.Repair = pub, true
	r, s := checkOnce(t, d, cfg, ps)
	if s.Repaired != 2 || s.Differs != 1 || s.Missing != 1 || s.Conflicts != 0 {
		t.Fatalf("summary %+v, want 2 repaired", s)
	}
	want0 := map[string]string{"name": "Policy 0", "area": "north", "notes": "call before visiting"}
	if got := p.get("P0"); !maps.Equal(got, want0) {
		t.Fatalf("P0 after repair: %v, want %v", got, want0)
	}
	if got := p.get("P1"); !maps.Equal(got, map[string]string{"name": "Policy 1", "area": "north"}) {
		t.Fatalf("P1 after repair: %v", got)
	}
	if n := len(reports(t, pub, drift.Repaired)); n != 2 {
		t.Fatalf("%d DriftRepaired, want 2", n)
	}
	// A second pass finds everything in sync, and the ledger agrees.
	s, err := r.Check(t.Context(), events(ps))
	if err != nil || s.InSync != 4 {
		t.Fatalf("second pass: %+v, %v; want all in sync", s, err)
	}
	h, _, _ := d.Holding(t.Context(), "gis", "P1")
	if h.Behind() || h.Version != 1 {
		t.Fatalf("ledger for P1 after repair: %+v", h)
	}
}

// A repair never overwrites an edit made at the partner after its check.
func TestRepairDoesNotOverwriteAConcurrentEdit(t *testing.T) {
	ps := truth(1)
	d, p := synced(t, ps)
	p.edit("P0", "name", "first hand edit")
	p.onWrite = func() {
		p.onWrite = nil
		p.edit("P0", "name", "second hand edit, during the repair")
	}
	cfg := fastCfg
	cfg.Repair = true
	_, s := checkOnce(t, d, cfg, ps)
	if s.Conflicts != 1 || s.Repaired != 0 {
		t.Fatalf("summary %+v, want one conflict and no repair", s)
	}
	if got := p.get("P0")["name"]; got != "second hand edit, during the repair" {
		t.Fatalf("the concurrent edit was overwritten: name %q", got)
	}
}

// A ledger walk checks every key the ledger holds against the source of
// truth, and a key the source no longer has as a delete.
func TestWalkChecksTheLedger(t *testing.T) {
	ps := truth(5)
	d, p := synced(t, ps)
	p.edit("P3", "area", "east")
	byKey := map[string]policy{}
	for _, x := range ps[:4] { // P4 was withdrawn at the source, not at the partner
		byKey[x.Key] = x
	}
	cfg := fastCfg
	cfg.Lookup = func(_ context.Context, _, key string) (synclayer.Event, bool, error) {
		x, ok := byKey[key]
		return policyEvent(x), ok, nil
	}
	s := walkOnce(t, d, cfg)
	want := drift.Summary{Checked: 5, InSync: 3, Differs: 1, Unexpected: 1}
	if s != want {
		t.Fatalf("walk: %+v, want %+v", s, want)
	}
}

// A repair writes nothing to a paused connector: the drift is counted,
// not repaired.
func TestRepairWritesNothingWhilePaused(t *testing.T) {
	ps := truth(1)
	d, p := synced(t, ps)
	p.edit("P0", "name", "by hand")
	if err := d.Pause("gis"); err != nil {
		t.Fatal(err)
	}
	cfg := fastCfg
	cfg.Repair = true
	_, s := checkOnce(t, d, cfg, ps)
	if want := (drift.Summary{Checked: 1, Differs: 1}); s != want {
		t.Fatalf("check of a paused connector: %+v, want %+v", s, want)
	}
	if got := p.get("P0"); got["name"] != "by hand" || p.writes != 1 {
		t.Fatalf("paused, yet repaired: P0 %v after %d writes (1 by the sync)", got, p.writes)
	}
}

// A walk's repair of a key the source no longer has deletes only the
// version the ledger knew: when the record is re-created at a newer version
// after Lookup answered, the live version wins and the partner keeps it.
// Re-created before the check, the delete is stale and not checked;
// re-created during the check's read, the repair finds it stale.
func TestWalkDeleteRepairLosesToANewerVersion(t *testing.T) {
	for _, tc := range []struct {
		name       string
		duringRead bool
		want       drift.Summary
	}{
		{"before the check", false, drift.Summary{Checked: 1, Stale: 1}},
		{"during the read", true, drift.Summary{Checked: 1, Unexpected: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := truth(1)
			d, p := synced(t, ps)
			reborn := policy{Key: "P0", Version: 2, Name: "reborn", Area: "south"}
			recreate := func() {
				if _, err := d.Dispatch(t.Context(), policyEvent(reborn)); err != nil {
					t.Error(err)
				}
			}
			cfg := fastCfg
			cfg.Repair = true
			cfg.Lookup = func(ctx context.Context, _, key string) (synclayer.Event, bool, error) {
				// The source answers "none"; the live re-creation lands right after.
				if !tc.duringRead {
					recreate()
				}
				return synclayer.Event{}, false, nil
			}
			if tc.duringRead {
				p.onRead = func() { p.onRead = nil; recreate() }
			}
			s := walkOnce(t, d, cfg)
			if s != tc.want {
				t.Fatalf("walk: %+v, want %+v", s, tc.want)
			}
			if got := p.get("P0"); got["name"] != "reborn" {
				t.Fatalf("the partner holds %v for P0, want the live version 2 (name reborn)", got)
			}
			h, ok, err := d.Holding(t.Context(), "gis", "P0")
			if err != nil || !ok || h.Version != 2 || h.EventID != policyEvent(reborn).ID {
				t.Fatalf("ledger for P0: %+v, %v, %v; want version 2 from %s", h, ok, err, policyEvent(reborn).ID)
			}
		})
	}
}

// The reconciler's requests stay within its rate, and Run stops when its
// context ends.
func TestRateAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := truth(21)
		d, p := synced(t, ps)
		r, err := drift.New(d, drift.Config{Rate: 10, Lookup: func(_ context.Context, _, key string) (synclayer.Event, bool, error) {
			for _, x := range ps {
				if x.Key == key {
					return policyEvent(x), true, nil
				}
			}
			return synclayer.Event{}, false, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx, time.Hour) }()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		p.mu.Lock()
		reads := slices.Clone(p.reads)
		p.mu.Unlock()
		if len(reads) != 21 { // 1 at once, then one every 100ms: 21 by 2s
			t.Fatalf("%d reads in 3s at 10/s with 21 keys, want all 21", len(reads))
		}
		for i := 1; i < len(reads); i++ {
			if gap := reads[i].Sub(reads[i-1]); gap < 100*time.Millisecond {
				t.Fatalf("reads %d and %d %v apart, under the 100ms a rate of 10/s allows", i-1, i, gap)
			}
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
	})
}

// A pass whose ctx has a deadline checks at its rate until the deadline,
// and stops then with ctx's error: the rate limiter's refusal of a wait
// past the deadline does not stop it early.
func TestCheckRunsUntilTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := truth(3)
		d, _ := synced(t, ps)
		r, err := drift.New(d, drift.Config{Rate: 1}) // reads at 0s, 1s, 2s
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		s, err := r.Check(ctx, events(ps))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the pass stopped with %v, want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took != 1500*time.Millisecond || s != (drift.Summary{Checked: 2, InSync: 2}) {
			t.Fatalf("the pass stopped after %v with %+v; want 2 keys checked, stopped at the deadline (1.5s)", took, s)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	d, _ := synced(t, nil)
	if _, err := drift.New(d, drift.Config{Rate: -1}); !errors.Is(err, synclayer.ErrInvalidOption) {
		t.Errorf("negative rate: %v", err)
	}
	if _, err := drift.New(d, drift.Config{Connectors: []string{"nope"}}); !errors.Is(err, synclayer.ErrUnknownConnector) {
		t.Errorf("unknown connector: %v", err)
	}
	reg := new(synclayer.Registry)
	if err := reg.Register("blind", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("PolicyUpdated", mapper)); err != nil {
		t.Fatal(err)
	}
	d2 := synclayertest.NewDispatcher(t, reg)
	_, err := drift.New(d2, drift.Config{Connectors: []string{"blind"}})
	if err == nil || err.Error() != `drift: new reconciler: connector "blind" cannot read its partner (it is not a drift.Verifier)` {
		t.Errorf("connector without Verify: %v", err)
	}
	r, err := drift.New(d, drift.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Walk(t.Context()); err == nil || err.Error() != "drift: walk: no Lookup configured to find the wanted record of a key" {
		t.Errorf("walk without Lookup: %v", err)
	}
}

// A push that lands between a check's read and its verdict is not hidden:
// the verdict is recorded at the time of the read, so the ledger shows the
// push as newer than the check and counts the key unverified.
func TestPushDuringCheckStaysUnverified(t *testing.T) {
	ps := truth(1)
	d, p := synced(t, ps)
	p.edit("P0", "name", "by hand")
	newer := policy{Key: "P0", Version: 2, Name: "Policy 0, renamed", Area: "north"}
	p.onRead = func() {
		p.onRead = nil
		if _, err := d.Dispatch(t.Context(), policyEvent(newer)); err != nil {
			t.Error(err)
		}
	}
	checkOnce(t, d, fastCfg, ps)
	h, ok, err := d.Holding(t.Context(), "gis", "P0")
	if err != nil || !ok || h.Version != 2 {
		t.Fatalf("ledger for P0: %+v, %v, %v; want version 2", h, ok, err)
	}
	if !h.VerifiedAt.Before(h.PushedAt) {
		t.Errorf("the check's verdict is recorded at %v, not before the push at %v that landed after its read", h.VerifiedAt, h.PushedAt)
	}
	sum, err := d.Ledger().Summary(t.Context(), "gis")
	if err != nil || sum.Unverified != 1 || sum.OldestUnverified != "P0" {
		t.Errorf("ledger summary %+v, %v; want P0 unverified (pushed after the check read it)", sum, err)
	}
}

// A check against an event older than the version the partner was brought
// to (the source lags a newer push) is no drift: it is counted Stale, and
// nothing is announced, recorded as a verdict or repaired.
func TestCheckOfAnOlderEventIsStale(t *testing.T) {
	ps := truth(2)
	d, p := synced(t, ps)
	newer := policy{Key: "P0", Version: 2, Name: "Policy 0, renamed", Area: "south"}
	if _, err := d.Dispatch(t.Context(), policyEvent(newer)); err != nil {
		t.Fatal(err)
	}
	writes := p.writes
	pub := &publisher{}
	cfg := fastCfg
	cfg.Publisher, cfg.Repair = pub, true
	_, s := checkOnce(t, d, cfg, ps) // P0 at version 1
	if want := (drift.Summary{Checked: 2, InSync: 1, Stale: 1}); s != want {
		t.Fatalf("summary %+v, want %+v", s, want)
	}
	if n := len(pub.all()); n != 0 {
		t.Fatalf("%d announcements for a check of an older event: DriftDetected %v", n, reports(t, pub, drift.Detected))
	}
	if got := p.get("P0"); got["name"] != newer.Name || p.writes != writes {
		t.Fatalf("the partner holds %v after %d writes (%d before the check), want version 2 untouched", got, p.writes, writes)
	}
	h, _, err := d.Holding(t.Context(), "gis", "P0")
	if err != nil || h.Version != 2 || !h.VerifiedAt.IsZero() || h.Drift != 0 || h.Behind() {
		t.Fatalf("ledger for P0: %+v, %v; want version 2, no verdict, not behind", h, err)
	}
}

// When ctx ends, a pass stops with ctx's error: the records it did not get
// to (their mapping refused by the ended ctx) and a read ctx cut short are
// not counted, so Failed counts only checks that failed.
func TestEndedPassCountsOnlyWhatWasChecked(t *testing.T) {
	for _, pass := range []string{"check", "walk"} {
		for _, when := range []string{"between records", "during a read"} {
			t.Run(pass+"/"+when, func(t *testing.T) {
				ps := truth(5)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				var (
					armed  bool // set during the pass
					mapped []string
				)
				// A mapper doing I/O: it fails once ctx has ended.
				m := synclayer.MapperFunc(func(mctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
					rec, err := mapper.Map(mctx, ev)
					if armed {
						mapped = append(mapped, rec.Key)
						if when == "between records" && rec.Key == "P1" {
							cancel()
						}
					}
					if err := mctx.Err(); err != nil {
						return synclayer.Record{}, fmt.Errorf("mapping %s: %w", rec.Key, err)
					}
					return rec, err
				})
				d, p := syncedWith(t, ps, m)
				if when == "during a read" {
					reads := 0
					p.onRead = func() {
						if reads++; reads == 2 {
							cancel()
						}
					}
				}
				cfg := fastCfg
				cfg.Lookup = func(_ context.Context, _, key string) (synclayer.Event, bool, error) {
					for _, x := range ps {
						if x.Key == key {
							return policyEvent(x), true, nil
						}
					}
					return synclayer.Event{}, false, nil
				}
				r, err := drift.New(d, cfg)
				if err != nil {
					t.Fatal(err)
				}
				var s drift.Summary
				armed = true
				if pass == "check" {
					s, err = r.Check(ctx, events(ps))
				} else {
					s, err = r.Walk(ctx)
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("the pass returned %v, want context.Canceled", err)
				}
				if want := (drift.Summary{Checked: 1, InSync: 1}); s != want {
					t.Errorf("summary %+v, want %+v: only P0 was checked", s, want)
				}
				if len(mapped) > 2 {
					t.Errorf("the pass went on to map %v after ctx ended", mapped)
				}
			})
		}
	}
}
