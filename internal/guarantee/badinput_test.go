package guarantee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// badCase is one hostile event of TestBadInput and what must become of it.
type badCase struct {
	name string
	data []byte // the event's Data

	// want maps each connector to "" when the route must sync, or to a
	// text its permanent error must contain.
	want map[string]string
	// category is the sentinel the failure must wrap (errors.Is).
	category error
	// key is the record key each syncing partner must hold it under.
	key string
	// eventLevel marks an event refused as a whole: no route runs, nothing
	// is announced, the bus dead-letters it.
	eventLevel bool
}

func itemData(key string) []byte {
	b, err := json.Marshal(item{Key: key, Version: 1, Title: "t"})
	if err != nil {
		panic(err)
	}
	return b
}

// both expects the same outcome on both connectors.
func both(s string) map[string]string { return map[string]string{"fake": s, "records": s} }

func badCases() []badCase {
	big := append([]byte(`{"key":"big","version":1,"pad":"`), strings.Repeat("x", 10<<20)...)
	big = append(big, `"}`...)
	return []badCase{
		{name: "malformed JSON", data: []byte(`{"key":"m1","version":`), want: both("malformed JSON"), category: synclayer.ErrMapping},
		{name: "trailing data", data: []byte(`{"key":"t1","version":1} {"key":"t2"}`), want: both("trailing content"), category: synclayer.ErrMapping},
		{name: "not an object", data: []byte(`[1,2,3]`), want: both("want guarantee.item"), category: synclayer.ErrMapping},
		{name: "key of wrong type", data: []byte(`{"key":7,"version":1}`), want: both(`field "key": got JSON number, want string`), category: synclayer.ErrMapping},
		{name: "version of wrong type", data: []byte(`{"key":"v1","version":"one"}`), want: both(`field "version": got JSON string, want int64`), category: synclayer.ErrMapping},
		{name: "missing key", data: []byte(`{"version":1}`), want: both(`field "key" is required`), category: synclayer.ErrMapping},
		{name: "empty key", data: itemData(""), want: both(`field "key" is required`), category: synclayer.ErrMapping},
		{name: "JSON null", data: []byte(`null`), want: both(`field "key" is required`), category: synclayer.ErrMapping},
		{name: "empty data", data: nil, want: both("data is empty"), category: synclayer.ErrMapping},
		{name: "10 MB payload", data: big, eventLevel: true, want: both("over the limit of 1048576"), category: synclayer.ErrInvalidEvent},
		{name: "invalid UTF-8", data: []byte("{\"key\":\"bad\xff\xfekey\",\"version\":1}"), want: both("UTF-8"), category: synclayer.ErrMapping},
		{name: "slash in key", data: itemData("a/b"), want: both(""), key: "a/b"},
		{name: "dot-dot key", data: itemData(".."), want: map[string]string{"fake": "", "records": "cannot be a path segment"}, key: "..", category: rest.ErrKey},
		{name: "dot-dot inside key", data: itemData("a/../b"), want: both(""), key: "a/../b"},
		{name: "quotes in key", data: itemData(`it's "quoted"`), want: both(""), key: `it's "quoted"`},
		{name: "percent and query in key", data: itemData("50%?x=1#f"), want: both(""), key: "50%?x=1#f"},
		{name: "CR LF in key", data: itemData("a\r\nSet-Cookie: x"), want: both("control character U+000D"), category: synclayer.ErrMapping},
		{name: "NUL in key", data: itemData("a\x00b"), want: both("control character U+0000"), category: synclayer.ErrMapping},
		{name: "zero-width joiner in key", data: itemData("a\u200db"), want: both("U+200D"), category: synclayer.ErrMapping},
		{name: "right-to-left override in key", data: itemData("abc\u202Etxt.exe"), want: both("U+202E"), category: synclayer.ErrMapping},
		{name: "2 KB of Unicode key", data: itemData(strings.Repeat("é", 1024)), want: both("over the limit of 1024"), category: synclayer.ErrMapping},
		{name: "1 KB of Unicode key", data: itemData(strings.Repeat("日", 341)), want: both(""), key: strings.Repeat("日", 341)},
	}
}

// rawControl reports whether an error text carries a hostile key's CR, NUL
// or line break raw (the line breaks between joined errors are fine).
func rawControl(s string) bool {
	return strings.ContainsAny(s, "\r\x00") || strings.Contains(s, "\nSet-Cookie")
}

// TestBadInput sends hostile events through the whole path (bus/memory,
// Dispatcher.Run, a Fake connector and the rest connector), each followed
// by a good event. Each bad event must fail alone and permanently, with an
// error that names what is wrong, and be announced (SyncFailed) or
// dead-lettered; odd but legal keys must be stored exactly; every good
// event must sync; nothing else may be lost.
func TestBadInput(t *testing.T) {
	ctx := t.Context()
	const typ = "ItemChanged"
	fake := synclayertest.NewFake()
	restP := newRESTPartner()
	srv := httptest.NewServer(restP)
	t.Cleanup(srv.Close)
	restConn, err := rest.New(rest.Config{BaseURL: srv.URL, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	mapper := synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, it item) (synclayer.Record, error) {
		if it.Key == "" {
			return synclayer.Record{}, errors.New(`field "key" is required`)
		}
		return synclayer.Record{Key: it.Key, Version: it.Version, Payload: it}, nil
	})
	fast := synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond})
	reg := new(synclayer.Registry)
	if err := reg.Register("fake", fake, synclayer.Route(typ, mapper), fast); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("records", restConn, synclayer.Route(typ, mapper), fast); err != nil {
		t.Fatal(err)
	}
	bus, err := memory.New(memory.WithRedeliveryDelay(time.Millisecond), memory.WithMaxDeliveries(3))
	if err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithPublisher(bus), synclayer.WithObserver(synclayer.NoObserver))

	var (
		mu   sync.Mutex
		ann  = map[string][]synclayer.Announcement{} // by source event id
		typ2 = map[string][]string{}
	)
	live := runWithAnnouncements(ctx, d, bus, 10*time.Second, func(_ context.Context, ev synclayer.Event) error {
		var a synclayer.Announcement
		if err := json.Unmarshal(ev.Data, &a); err != nil {
			return synclayer.Permanent(err)
		}
		mu.Lock()
		ann[a.EventID] = append(ann[a.EventID], a)
		typ2[a.EventID] = append(typ2[a.EventID], ev.Type)
		mu.Unlock()
		return nil
	})
	defer live.stop()

	// The bus itself refuses events without an ID or a type, and the
	// dispatcher does too when called directly.
	for _, ev := range []synclayer.Event{{Type: typ, Data: itemData("x")}, {ID: "no-type", Data: itemData("x")}} {
		err := bus.Publish(ctx, ev)
		if !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "memory: publish: event needs an ID and a Type") {
			t.Errorf("Publish(%+v) = %v; want a permanent error asking for an ID and a Type", ev, err)
		}
		_, err = d.Dispatch(ctx, ev)
		why := map[bool]string{true: "no ID", false: "no Type"}[ev.ID == ""]
		if !errors.Is(err, synclayer.ErrInvalidEvent) || !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), why) {
			t.Errorf("Dispatch(%+v) = %v; want a permanent ErrInvalidEvent saying %q", ev, err, why)
		}
	}
	// The size limit is configurable, and checked before any decoding: a
	// body that is not even JSON is refused for its size.
	small := synclayertest.NewDispatcher(t, reg, synclayer.WithMaxEventBytes(100), synclayer.WithObserver(synclayer.NoObserver))
	_, err = small.Dispatch(ctx, synclayer.Event{ID: "big-1", Type: typ, Data: []byte(strings.Repeat("{", 101))})
	if !errors.Is(err, synclayer.ErrInvalidEvent) || !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "101 bytes, over the limit of 100") {
		t.Errorf("WithMaxEventBytes(100), 101 bytes: %v; want a permanent ErrInvalidEvent naming the size", err)
	}
	if rep, err := small.Dispatch(ctx, synclayer.Event{ID: "fits-1", Type: typ, Data: itemData("fits")}); err != nil || !rep.OK() {
		t.Errorf("WithMaxEventBytes(100), %d bytes: %v", len(itemData("fits")), err)
	}

	// A type with no route: Dispatch reports nothing to do; on the bus, Run
	// does not take it, and Close reports it undelivered.
	unrouted := synclayer.Event{ID: "unrouted-1", Type: "NobodyListens", Data: itemData("u")}
	if rep, err := d.Dispatch(ctx, unrouted); err != nil || len(rep.Results) != 0 {
		t.Errorf("Dispatch(unrouted) = %+v, %v; want an empty report and nil", rep.Results, err)
	}
	if err := bus.Publish(ctx, unrouted); err != nil {
		t.Fatal(err)
	}

	cases := badCases()
	var goods []string
	for i, c := range cases {
		if err := bus.Publish(ctx, synclayer.Event{ID: fmt.Sprintf("bad-%02d", i), Type: typ, Data: c.data}); err != nil {
			t.Fatalf("%s: publish: %v", c.name, err)
		}
		key := fmt.Sprintf("good-%02d", i)
		goods = append(goods, key)
		if err := bus.Publish(ctx, synclayer.Event{ID: key, Type: typ, Data: itemData(key)}); err != nil {
			t.Fatal(err)
		}
	}

	deadLetter := func(id string) *memory.DeadLetter {
		for _, dl := range bus.DeadLetters() {
			if dl.Event.ID == id {
				return &dl
			}
		}
		return nil
	}
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i, c := range cases {
			id := fmt.Sprintf("bad-%02d", i)
			if len(ann[goods[i]]) == 0 || (c.eventLevel && deadLetter(id) == nil) || (!c.eventLevel && len(ann[id]) == 0) {
				return false
			}
		}
		return true
	}
	testwait.For(t, time.Minute, func() string { return fmt.Sprintf("announcements %v; dead letters %d", typ2, len(bus.DeadLetters())) }, done)
	runErr, closeErr, annErr := live.stop()
	if runErr != nil || annErr != nil {
		t.Errorf("shutdown: Run: %v; announcement subscriber: %v", runErr, annErr)
	}
	if closeErr == nil {
		t.Error("bus.Close reported nothing undelivered; want the unrouted event")
	}
	if q, _ := bus.Pending(); len(q) != 1 || q[0].ID != unrouted.ID {
		t.Errorf("pending after Close: %v; want only %s", q, unrouted.ID)
	}

	wantKeys := append(slices.Clone(goods), "fits") // "fits" came through the small dispatcher
	wantRecords := slices.Clone(wantKeys)
	mu.Lock()
	defer mu.Unlock()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("bad-%02d", i)
			failing := false
			for _, w := range c.want {
				failing = failing || w != ""
			}
			if c.want["fake"] == "" {
				wantKeys = append(wantKeys, c.key)
			}
			if c.want["records"] == "" {
				wantRecords = append(wantRecords, c.key)
			}
			dl := deadLetter(id)
			switch {
			case !failing:
				if dl != nil {
					t.Errorf("dead-lettered: %v", dl.Err)
				}
			case dl == nil:
				t.Error("not dead-lettered")
			default:
				if !synclayer.IsPermanent(dl.Err) || dl.Deliveries != 1 {
					t.Errorf("dead letter after %d deliveries, permanent %v: %v", dl.Deliveries, synclayer.IsPermanent(dl.Err), dl.Err)
				}
				if c.category != nil && !errors.Is(dl.Err, c.category) {
					t.Errorf("error %v does not wrap %v", dl.Err, c.category)
				}
				if rawControl(dl.Err.Error()) {
					t.Errorf("error text carries a raw control character: %q", dl.Err.Error())
				}
			}
			if c.eventLevel {
				if len(ann[id]) != 0 {
					t.Errorf("announced %v; want no announcement for an event refused as a whole", typ2[id])
				}
				if dl != nil && !strings.Contains(dl.Err.Error(), c.want["fake"]) {
					t.Errorf("error %q does not say %q", dl.Err, c.want["fake"])
				}
				return
			}
			if len(ann[id]) != 1 {
				t.Fatalf("announced %d times (%v), want once", len(ann[id]), typ2[id])
			}
			wantType := synclayer.SyncCompleted
			if failing {
				wantType = synclayer.SyncFailed
			}
			if typ2[id][0] != wantType {
				t.Errorf("announced %s, want %s", typ2[id][0], wantType)
			}
			for _, r := range ann[id][0].Results {
				w := c.want[r.Connector]
				switch {
				case w == "" && (r.Status != synclayer.StatusSynced || r.Key != c.key):
					t.Errorf("%s: %s key %q (%s); want synced under %q", r.Connector, r.Status, r.Key, r.Error, c.key)
				case w != "" && (r.Status != synclayer.StatusFailed || !strings.Contains(r.Error, w)):
					t.Errorf("%s: %s %q; want failed saying %q", r.Connector, r.Status, r.Error, w)
				case w != "" && rawControl(r.Error):
					t.Errorf("%s: error text carries a raw control character: %q", r.Connector, r.Error)
				}
			}
		})
	}

	// Nothing else was lost: each good event synced on both connectors, and
	// the partners hold exactly the good keys and the accepted odd ones.
	for _, g := range goods {
		if a := ann[g]; len(a) != 1 || typ2[g][0] != synclayer.SyncCompleted {
			t.Errorf("good event %s announced %v", g, typ2[g])
		}
	}
	gotFake := slices.Sorted(func(yield func(string) bool) {
		for k := range fake.Records() {
			if !yield(k) {
				return
			}
		}
	})
	gotRecords := slices.Sorted(func(yield func(string) bool) {
		for k := range restP.versions() {
			if !yield(k) {
				return
			}
		}
	})
	slices.Sort(wantKeys)
	slices.Sort(wantRecords)
	if !slices.Equal(gotFake, wantKeys) {
		t.Errorf("fake holds keys %q\nwant %q", gotFake, wantKeys)
	}
	if !slices.Equal(gotRecords, wantRecords) {
		t.Errorf("records partner holds keys %q\nwant %q", gotRecords, wantRecords)
	}
}
