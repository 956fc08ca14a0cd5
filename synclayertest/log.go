package synclayertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// DeliveryLogOpener opens the [synclayer.DeliveryLog] under test over the
// namespace ns (a table name, a key prefix), with the same rules as a
// [StoreOpener]: ns is made of lowercase ASCII letters, digits and
// underscores, starts with a letter and is at most 40 bytes long; two
// calls with the same ns within one test return logs that share their
// entries, as two processes on one database do; calls with different ns
// return isolated logs; the opener registers its own cleanup with
// t.Cleanup.
type DeliveryLogOpener func(t *testing.T, ns string) synclayer.DeliveryLog

// TestDeliveryLog runs the conformance suite for a [synclayer.DeliveryLog]:
// one subtest per rule of the contract, each explained in its comment and
// in its failure messages. Every subtest uses its own fresh namespace.
//
// The rules:
//
//   - RoundTrip: an entry comes back from List with every field intact:
//     times to the millisecond at least, the duration to the millisecond,
//     the source event with its Data (as JSON) and Meta; an entry without
//     an event comes back without one.
//   - PutReplaces: a second Put of the same (event, connector) replaces the
//     entry; the same event on another connector, or another event on the
//     same connector, is another entry.
//   - NewestFirst: List returns the most recently updated entries first;
//     updating an old entry moves it to the front.
//   - Filters: each filter field selects exactly the matching entries, and
//     fields given together must all match.
//   - Limit: Limit bounds the result to the newest entries; 0 means 100.
//   - Since: Since keeps the entries updated at or after it.
//   - RestartSharesState: a log opened anew on the same namespace lists
//     what the first one recorded; another namespace is isolated.
//   - ConcurrentPuts: Puts from many goroutines at once are all kept, and
//     concurrent replacements of one entry leave one entry.
//   - ContextCancelled: List with an ended context returns an error that
//     matches the context's error; Put either records the entry or returns
//     such an error, never a different failure.
//   - OddValues: names, errors and events with quotes, backslashes, NUL,
//     unicode, HTML and long texts are kept exactly.
func TestDeliveryLog(t *testing.T, open DeliveryLogOpener) {
	t.Helper()
	if open == nil {
		t.Fatal("synclayertest: TestDeliveryLog needs a DeliveryLogOpener")
	}
	run := suiteRunner(t, "dl", func(t *testing.T, ns string) *logSuite {
		return &logSuite{open: open, ns: ns, t0: time.Now().Truncate(time.Millisecond)}
	})

	// Put then List returns the entry with every field as it was put. A
	// dead letter keeps its source event, which Replay pushes again, so the
	// event must come back whole: Data equal as JSON, Meta equal, Time to
	// the millisecond.
	run("RoundTrip", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		want := s.delivery("evt-1", "calendar", 0)
		want.State = synclayer.StatusDead
		want.Attempts = 6
		want.FirstAttempt = s.t0.Add(-3*time.Second + 123*time.Millisecond)
		want.LastAttempt = s.t0.Add(-time.Second + 456*time.Millisecond)
		want.Duration = 2*time.Second + 333*time.Millisecond
		want.Error = `calendar: 422 Unprocessable Entity: "start" is after "end"`
		want.PartnerID = "google-event-7f3a"
		want.PayloadHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		want.Event = &synclayer.Event{
			ID: "evt-1", Type: "WorkflowDeployed", Source: "hms/management-layer", Subject: "WF-123",
			Time: s.t0.Add(-time.Hour),
			Data: json.RawMessage(`{"id":"WF-123","title":"Night shift","steps":[1,2,3],"ok":true}`),
			Meta: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "correlation": "c-9"},
		}
		s.put(t, l, want)
		plain := s.delivery("evt-2", "calendar", time.Second)
		plain.State = synclayer.StatusSynced
		s.put(t, l, plain)

		s.expectOne(t, l, want, "the dead letter with its event")
		s.expectOne(t, l, plain, "a synced entry without an event")
	})

	// A second Put of the same (event, connector) replaces the first: the
	// dispatcher puts "in_progress" and then the outcome, and the log must
	// hold one entry, the outcome. The same event on another connector,
	// and another event on the same connector, are other entries.
	run("PutReplaces", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		first := s.delivery("evt-1", "calendar", 0)
		first.State = synclayer.StatusInProgress
		first.Event = &synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: json.RawMessage(`{"v":1}`)}
		s.put(t, l, first)
		final := s.delivery("evt-1", "calendar", time.Second)
		final.State, final.Attempts = synclayer.StatusSynced, 1
		s.put(t, l, final)
		s.expectOne(t, l, final, "after the second Put (the event must be gone too)")
		all := s.list(t, l, synclayer.DeliveryFilter{})
		if len(all) != 1 {
			t.Fatalf("List after two Puts of one (event, connector) = %d entries, want 1: %s", len(all), describeLog(all))
		}
		other := s.delivery("evt-1", "records", 2*time.Second)
		next := s.delivery("evt-2", "calendar", 3*time.Second)
		s.put(t, l, other)
		s.put(t, l, next)
		s.expectKeys(t, l, synclayer.DeliveryFilter{}, []string{"evt-2/calendar", "evt-1/records", "evt-1/calendar"},
			"another connector and another event are other entries")
	})

	// List returns the most recently updated entries first. (The
	// dispatcher puts entries as it updates them, so the suite puts them
	// in the order of their Updated times; a log may order by either.) A
	// Put that updates an old entry (a replay, a pending push) moves it
	// to the front.
	run("NewestFirst", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		for o := range 10 {
			s.put(t, l, s.delivery(fmt.Sprintf("evt-%d", o), "calendar", time.Duration(o)*time.Second))
		}
		var want []string
		for o := 9; o >= 0; o-- {
			want = append(want, fmt.Sprintf("evt-%d/calendar", o))
		}
		s.expectKeys(t, l, synclayer.DeliveryFilter{}, want, "newest first")
		d := s.delivery("evt-0", "calendar", 10*time.Second)
		d.State = synclayer.StatusSynced
		s.put(t, l, d)
		want = append([]string{"evt-0/calendar"}, want[:9]...)
		s.expectKeys(t, l, synclayer.DeliveryFilter{}, want, "after the oldest entry was updated")
		s.expectKeys(t, l, synclayer.DeliveryFilter{Connector: "calendar", Limit: 3}, want[:3], "with a filter and a limit")
	})

	// Each field of the filter selects exactly the entries that match it,
	// and fields given together must all match (AND).
	run("Filters", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		type row struct {
			ev, typ, conn, key string
			state              synclayer.Status
		}
		rows := []row{
			{"e1", "WorkflowDeployed", "calendar", "WF-1", synclayer.StatusSynced},
			{"e1", "WorkflowDeployed", "records", "WF-1", synclayer.StatusDead},
			{"e2", "WorkflowDeployed", "calendar", "WF-2", synclayer.StatusDead},
			{"e2", "WorkflowDeployed", "records", "WF-2", synclayer.StatusPending},
			{"e3", "PolicyUpdated", "calendar", "P-1", synclayer.StatusFailed},
			{"e3", "PolicyUpdated", "gis", "P-1", synclayer.StatusSynced},
			{"e4", "PolicyUpdated", "records", "WF-1", synclayer.StatusStale},
		}
		for i, r := range rows {
			d := s.delivery(r.ev, r.conn, time.Duration(i)*time.Second)
			d.EventType, d.Key, d.State = r.typ, r.key, r.state
			s.put(t, l, d)
		}
		cases := []struct {
			name string
			f    synclayer.DeliveryFilter
			want []string // newest first
		}{
			{"EventID", synclayer.DeliveryFilter{EventID: "e2"}, []string{"e2/records", "e2/calendar"}},
			{"EventType", synclayer.DeliveryFilter{EventType: "PolicyUpdated"}, []string{"e4/records", "e3/gis", "e3/calendar"}},
			{"Connector", synclayer.DeliveryFilter{Connector: "calendar"}, []string{"e3/calendar", "e2/calendar", "e1/calendar"}},
			{"Key", synclayer.DeliveryFilter{Key: "WF-1"}, []string{"e4/records", "e1/records", "e1/calendar"}},
			{"OneState", synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusDead}}, []string{"e2/calendar", "e1/records"}},
			{"States", synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusDead, synclayer.StatusFailed, synclayer.StatusPending}},
				[]string{"e3/calendar", "e2/records", "e2/calendar", "e1/records"}},
			{"EventAndConnector", synclayer.DeliveryFilter{EventID: "e3", Connector: "gis"}, []string{"e3/gis"}},
			{"EventAndWrongConnector", synclayer.DeliveryFilter{EventID: "e4", Connector: "calendar"}, nil},
			{"ConnectorAndStates", synclayer.DeliveryFilter{Connector: "records", States: []synclayer.Status{synclayer.StatusDead, synclayer.StatusPending}},
				[]string{"e2/records", "e1/records"}},
			{"TypeAndKey", synclayer.DeliveryFilter{EventType: "WorkflowDeployed", Key: "WF-1"}, []string{"e1/records", "e1/calendar"}},
			{"AllFields", synclayer.DeliveryFilter{EventID: "e1", EventType: "WorkflowDeployed", Connector: "records", Key: "WF-1",
				States: []synclayer.Status{synclayer.StatusDead}, Since: s.t0}, []string{"e1/records"}},
			{"AllFieldsOneWrong", synclayer.DeliveryFilter{EventID: "e1", EventType: "WorkflowDeployed", Connector: "records", Key: "WF-1",
				States: []synclayer.Status{synclayer.StatusSynced}}, nil},
			{"NoMatch", synclayer.DeliveryFilter{EventID: "nope"}, nil},
			{"NamesAreExact", synclayer.DeliveryFilter{Connector: "Calendar"}, nil},
			{"NoPrefixMatch", synclayer.DeliveryFilter{Key: "WF"}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s.expectKeys(t, l, c.f, c.want, fmt.Sprintf("filter %+v", c.f))
			})
		}
	})

	// Limit returns the newest entries up to the limit; a zero Limit means
	// 100 (DeliveryFilter.Max).
	run("Limit", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		const n = 105
		for i := range n {
			s.put(t, l, s.delivery(fmt.Sprintf("evt-%03d", i), "calendar", time.Duration(i)*time.Millisecond))
		}
		got := s.list(t, l, synclayer.DeliveryFilter{Limit: 3})
		s.sameKeys(t, got, []string{"evt-104/calendar", "evt-103/calendar", "evt-102/calendar"}, "Limit 3")
		got = s.list(t, l, synclayer.DeliveryFilter{Connector: "calendar", Limit: 1})
		s.sameKeys(t, got, []string{"evt-104/calendar"}, "Limit 1 with a filter")
		if got := s.list(t, l, synclayer.DeliveryFilter{}); len(got) != 100 {
			t.Errorf("List with Limit 0 over %d entries = %d entries, want 100 (DeliveryFilter.Max)", n, len(got))
		} else if logKey(got[99]) != "evt-005/calendar" {
			t.Errorf("List with Limit 0: the 100th entry is %s, want evt-005/calendar (the 100 newest)", logKey(got[99]))
		}
		if got := s.list(t, l, synclayer.DeliveryFilter{Limit: 1000}); len(got) != n {
			t.Errorf("List with Limit 1000 over %d entries = %d entries, want all", n, len(got))
		}
	})

	// Since keeps the entries updated at or after it (the bound itself
	// included), to the millisecond.
	run("Since", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		for i := range 5 {
			s.put(t, l, s.delivery(fmt.Sprintf("evt-%d", i), "calendar", time.Duration(i)*time.Second))
		}
		s.expectKeys(t, l, synclayer.DeliveryFilter{Since: s.t0.Add(2 * time.Second)},
			[]string{"evt-4/calendar", "evt-3/calendar", "evt-2/calendar"}, "Since the third entry's Updated (inclusive)")
		s.expectKeys(t, l, synclayer.DeliveryFilter{Since: s.t0.Add(2*time.Second + time.Millisecond)},
			[]string{"evt-4/calendar", "evt-3/calendar"}, "Since 1ms after the third entry")
		s.expectKeys(t, l, synclayer.DeliveryFilter{Since: s.t0.Add(time.Hour)}, nil, "Since after every entry")
		s.expectKeys(t, l, synclayer.DeliveryFilter{Since: s.t0.Add(time.Second), Connector: "calendar", Limit: 2},
			[]string{"evt-4/calendar", "evt-3/calendar"}, "Since with a connector and a limit")
	})

	// What one log recorded is listed by a log opened anew on the same
	// namespace, as after a restart or by another process: the dead
	// letters and pending routes survive. A log on another namespace sees
	// none of it.
	run("RestartSharesState", func(t *testing.T, s *logSuite) {
		first := s.log(t)
		d := s.delivery("evt-1", "calendar", 0)
		d.State, d.Error = synclayer.StatusDead, "calendar: 400 Bad Request"
		d.Event = &synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: json.RawMessage(`{"a":1}`)}
		s.put(t, first, d)
		second := s.log(t)
		s.expectOne(t, second, d, "in a log opened anew on the same namespace")
		p := s.delivery("evt-2", "calendar", time.Second)
		p.State = synclayer.StatusPending
		s.put(t, second, p)
		s.expectKeys(t, first, synclayer.DeliveryFilter{}, []string{"evt-2/calendar", "evt-1/calendar"},
			"the first log sees what the second recorded")

		other := s.openNS(t, s.ns+"_x")
		s.expectKeys(t, other, synclayer.DeliveryFilter{}, nil, "another namespace")
		s.put(t, other, s.delivery("evt-1", "calendar", 5*time.Second))
		s.expectOne(t, first, d, "after a Put of the same (event, connector) in another namespace")
	})

	// Puts from many goroutines at once are all recorded; and when they all
	// replace one entry, one entry remains, holding one of the Puts whole
	// (not a mix of two).
	run("ConcurrentPuts", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		const workers, each = 8, 20
		ctx, cancel := context.WithTimeout(context.Background(), storeWait)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, workers*each*2)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					d := s.delivery(fmt.Sprintf("evt-%d-%d", w, i), fmt.Sprintf("conn-%d", w), time.Duration(w*each+i)*time.Millisecond)
					if err := l.Put(ctx, d); err != nil {
						errs <- err
					}
					shared := s.delivery("shared", "calendar", time.Duration(i)*time.Millisecond)
					shared.Key = fmt.Sprintf("worker-%d", w)
					shared.Attempts = w
					shared.Error = strings.Repeat(string(rune('a'+w)), 100)
					if err := l.Put(ctx, shared); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("a concurrent Put failed: %v", err)
		}
		all := s.list(t, l, synclayer.DeliveryFilter{Limit: 10_000})
		if len(all) != workers*each+1 {
			t.Fatalf("after %d distinct concurrent Puts and %d of one entry: %d entries, want %d", workers*each, workers*each, len(all), workers*each+1)
		}
		for w := range workers {
			got := s.list(t, l, synclayer.DeliveryFilter{Connector: fmt.Sprintf("conn-%d", w), Limit: 1000})
			if len(got) != each {
				t.Errorf("connector conn-%d: %d entries, want %d", w, len(got), each)
			}
		}
		shared := s.list(t, l, synclayer.DeliveryFilter{EventID: "shared"})
		if len(shared) != 1 {
			t.Fatalf("the entry replaced concurrently: %d entries, want 1", len(shared))
		}
		sh := shared[0]
		if sh.Key != fmt.Sprintf("worker-%d", sh.Attempts) || sh.Error != strings.Repeat(string(rune('a'+sh.Attempts)), 100) {
			t.Errorf("the entry replaced concurrently mixes two Puts: key %q, attempts %d, error %.10q...", sh.Key, sh.Attempts, sh.Error)
		}
	})

	// With a cancelled or expired context, List returns an error matching
	// the context's error. Put either records the entry (an in-memory log
	// may ignore the context) or returns such an error, never another
	// failure.
	run("ContextCancelled", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		s.put(t, l, s.delivery("evt-1", "calendar", 0))
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel2()
		for _, c := range []struct {
			name string
			ctx  context.Context
		}{{"cancelled", cancelled}, {"expired", expired}} {
			if _, err := l.List(c.ctx, synclayer.DeliveryFilter{}); !errors.Is(err, c.ctx.Err()) {
				t.Errorf("List with a %s context: error %v, want one matching %v", c.name, err, c.ctx.Err())
			}
			d := s.delivery("evt-"+c.name, "calendar", time.Second)
			if err := l.Put(c.ctx, d); err != nil && !errors.Is(err, c.ctx.Err()) {
				t.Errorf("Put with a %s context: error %v, want nil or one matching %v", c.name, err, c.ctx.Err())
			}
		}
		s.expectKeys(t, l, synclayer.DeliveryFilter{EventID: "evt-1"}, []string{"evt-1/calendar"}, "after calls with ended contexts")
	})

	// Names, errors and events of odd content come back exactly: quotes
	// and backslashes (SQL and JSON), NUL, HTML, right-to-left and
	// combining characters, emoji, a 10 KB error, JSON Data with nested
	// strings and escapes, and Data that is not compact JSON.
	run("OddValues", func(t *testing.T, s *logSuite) {
		l := s.log(t)
		odd := []string{
			`it's "quoted" \ back\slash; DROP TABLE x; --`,
			"nul\x00inside",
			"<script>alert('x')</script>&amp;",
			"Ünïcödé ✓ 日本語 עברית e\u0301 👩‍🚀",
			"%_*?[]{}$1:name",
		}
		for i, v := range odd {
			d := s.delivery(fmt.Sprintf("%s #%d", v, i), v, time.Duration(i)*time.Second)
			d.EventType, d.Key, d.PartnerID, d.PayloadHash = v, v, v, v
			d.State = synclayer.StatusDead
			d.Error = v + " " + strings.Repeat("x", 10_000) + " ✓"
			d.Event = &synclayer.Event{ID: d.EventID, Type: v, Source: v, Subject: v,
				Data: json.RawMessage(`{"text":` + logJSON(v) + `,"esc":"\u00e9\n\t\"","n":[1.5e10,-0,null]}`),
				Meta: map[string]string{v: v, "empty": ""}}
			s.put(t, l, d)
			s.expectOne(t, l, d, fmt.Sprintf("odd value %q", v))
			got := s.list(t, l, synclayer.DeliveryFilter{Key: v, EventType: v})
			if len(got) != 1 || got[0].EventID != d.EventID {
				t.Errorf("List by key and type %q = %s, want exactly %q", v, describeLog(got), d.EventID)
			}
		}
		spaced := s.delivery("evt-spaced", "calendar", time.Minute)
		spaced.State = synclayer.StatusFailed
		spaced.Event = &synclayer.Event{ID: "evt-spaced", Type: "T", Data: json.RawMessage("{ \"a\" : [ 1 , 2 ] }\n")}
		s.put(t, l, spaced)
		s.expectOne(t, l, spaced, "Data that is valid but not compact JSON")
	})
}

// logSuite holds one subtest's namespace and time base.
type logSuite struct {
	open DeliveryLogOpener
	ns   string
	t0   time.Time // whole milliseconds
}

func (s *logSuite) log(t *testing.T) synclayer.DeliveryLog { return s.openNS(t, s.ns) }

func (s *logSuite) openNS(t *testing.T, ns string) synclayer.DeliveryLog {
	t.Helper()
	l := s.open(t, ns)
	if l == nil {
		t.Fatalf("the opener returned a nil DeliveryLog for namespace %q", ns)
	}
	return l
}

// delivery returns an in-progress entry updated at t0+at.
func (s *logSuite) delivery(eventID, connector string, at time.Duration) synclayer.Delivery {
	return synclayer.Delivery{
		EventID: eventID, EventType: "WorkflowDeployed", Connector: connector, Key: "WF-" + eventID,
		State: synclayer.StatusInProgress, Attempts: 1, FirstAttempt: s.t0.Add(at - time.Second),
		Updated: s.t0.Add(at),
	}
}

func (s *logSuite) put(t *testing.T, l synclayer.DeliveryLog, d synclayer.Delivery) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	if err := l.Put(ctx, d); err != nil {
		t.Fatalf("Put of event %q, connector %q: %v", d.EventID, d.Connector, err)
	}
}

func (s *logSuite) list(t *testing.T, l synclayer.DeliveryLog, f synclayer.DeliveryFilter) []synclayer.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	got, err := l.List(ctx, f)
	if err != nil {
		t.Fatalf("List(%+v): %v", f, err)
	}
	return got
}

// expectOne checks that the entry of (want.EventID, want.Connector) is
// listed once, equal to want, by the event and connector filter and also
// among all entries.
func (s *logSuite) expectOne(t *testing.T, l synclayer.DeliveryLog, want synclayer.Delivery, what string) {
	t.Helper()
	got := s.list(t, l, synclayer.DeliveryFilter{EventID: want.EventID, Connector: want.Connector})
	if len(got) != 1 {
		t.Fatalf("%s: List by event %q and connector %q = %d entries, want 1: %s", what, want.EventID, want.Connector, len(got), describeLog(got))
	}
	if diffs := diffDelivery(got[0], want); len(diffs) > 0 {
		t.Errorf("%s: the entry came back changed:\n\t%s", what, strings.Join(diffs, "\n\t"))
	}
	found := false
	for _, d := range s.list(t, l, synclayer.DeliveryFilter{Limit: 10_000}) {
		if d.EventID == want.EventID && d.Connector == want.Connector {
			if found {
				t.Errorf("%s: the entry is listed twice among all entries", what)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("%s: the entry is missing from the unfiltered List", what)
	}
}

// expectKeys checks the event/connector of each listed entry, in order.
func (s *logSuite) expectKeys(t *testing.T, l synclayer.DeliveryLog, f synclayer.DeliveryFilter, want []string, what string) {
	t.Helper()
	s.sameKeys(t, s.list(t, l, f), want, what)
}

func (s *logSuite) sameKeys(t *testing.T, got []synclayer.Delivery, want []string, what string) {
	t.Helper()
	keys := make([]string, len(got))
	for i, d := range got {
		keys[i] = logKey(d)
	}
	if !slices.Equal(keys, want) {
		t.Errorf("%s: List = %q, want %q", what, keys, want)
	}
}

func logKey(d synclayer.Delivery) string { return d.EventID + "/" + d.Connector }

func describeLog(ds []synclayer.Delivery) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%s(%s)", logKey(d), d.State)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// diffDelivery lists the differences of got from want: exact strings and
// numbers, times and durations to the millisecond, Data as JSON.
func diffDelivery(got, want synclayer.Delivery) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %s, want %s", name, clipLog(g), clipLog(w)))
		}
	}
	tm := func(name string, g, w time.Time) {
		if g.IsZero() != w.IsZero() || g.Sub(w).Abs() >= time.Millisecond {
			d = append(d, fmt.Sprintf("%s = %v, want %v (to the millisecond)", name, g, w))
		}
	}
	str("EventID", got.EventID, want.EventID)
	str("EventType", got.EventType, want.EventType)
	str("Connector", got.Connector, want.Connector)
	str("Key", got.Key, want.Key)
	if got.State != want.State {
		d = append(d, fmt.Sprintf("State = %v, want %v", got.State, want.State))
	}
	if got.Attempts != want.Attempts {
		d = append(d, fmt.Sprintf("Attempts = %d, want %d", got.Attempts, want.Attempts))
	}
	tm("FirstAttempt", got.FirstAttempt, want.FirstAttempt)
	tm("LastAttempt", got.LastAttempt, want.LastAttempt)
	tm("Updated", got.Updated, want.Updated)
	if (got.Duration - want.Duration).Abs() >= time.Millisecond {
		d = append(d, fmt.Sprintf("Duration = %v, want %v (to the millisecond)", got.Duration, want.Duration))
	}
	str("Error", got.Error, want.Error)
	str("PartnerID", got.PartnerID, want.PartnerID)
	str("PayloadHash", got.PayloadHash, want.PayloadHash)
	switch {
	case got.Event == nil && want.Event == nil:
	case got.Event == nil:
		d = append(d, "Event = nil, want the source event (replay needs it)")
	case want.Event == nil:
		d = append(d, fmt.Sprintf("Event = %+v, want nil", *got.Event))
	default:
		g, w := got.Event, want.Event
		str("Event.ID", g.ID, w.ID)
		str("Event.Type", g.Type, w.Type)
		str("Event.Source", g.Source, w.Source)
		str("Event.Subject", g.Subject, w.Subject)
		tm("Event.Time", g.Time, w.Time)
		if !sameLogJSON(g.Data, w.Data) {
			d = append(d, fmt.Sprintf("Event.Data = %s, want %s (as JSON)", clipLog(string(g.Data)), clipLog(string(w.Data))))
		}
		if !maps.Equal(g.Meta, w.Meta) && !(len(g.Meta) == 0 && len(w.Meta) == 0) {
			d = append(d, fmt.Sprintf("Event.Meta = %q, want %q", g.Meta, w.Meta))
		}
	}
	return d
}

// sameJSON reports whether a and b are the same JSON text, ignoring
// insignificant white space; texts that are not JSON must be equal bytes.
func sameLogJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func clipLog(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q...(%d bytes)", s[:80], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func logJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
