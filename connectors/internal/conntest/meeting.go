package conntest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Meeting is the Data of the calendar connectors' test events, of type
// MeetingChanged: a key's title at a version, or its delete.
type Meeting struct {
	Key     string `json:"key"`
	Title   string `json:"title"`
	Version int64  `json:"version"`
	Delete  bool   `json:"delete"`
}

// MeetingDispatcher routes MeetingChanged events to c, registered as
// name: payload makes a record's payload from the meeting's title, and
// attempts follow policy, each bounded by timeout. Every dispatcher has
// its own idempotency store.
func MeetingDispatcher(t *testing.T, name string, c synclayer.Connector, payload func(title string) any,
	policy synclayer.RetryPolicy, timeout time.Duration) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	m := synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, m Meeting) (synclayer.Record, error) {
		return synclayer.Record{Key: m.Key, Version: m.Version, Delete: m.Delete, Payload: payload(m.Title)}, nil
	})
	if err := reg.Register(name, c, synclayer.Route("MeetingChanged", m), synclayer.WithRetry(policy), synclayer.WithTimeout(timeout)); err != nil {
		t.Fatal(err)
	}
	return synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
}

// SendMeeting dispatches m through d as a MeetingChanged event with a
// fresh random ID, and returns its one result.
func SendMeeting(t *testing.T, d *synclayer.Dispatcher, m Meeting) synclayer.Result {
	t.Helper()
	data := fmt.Sprintf(`{"key":%q,"title":%q,"version":%d,"delete":%v}`, m.Key, m.Title, m.Version, m.Delete)
	rep, _ := d.Dispatch(t.Context(), synclayer.Event{ID: fmt.Sprintf("evt-%x", rand.Uint64()), Type: "MeetingChanged", Data: []byte(data)})
	if len(rep.Results) != 1 {
		t.Fatalf("%d results", len(rep.Results))
	}
	return rep.Results[0]
}

// StaleVersion checks that an older version never overwrites a newer
// one. Version 5 of key "k", titled "five", is sent through a dispatcher
// and syncs; version 3 through the same dispatcher is stale. Through a
// second dispatcher with its own store, version 3 and a delete at
// version 4 report synced, but the connector's own version guard must
// leave the partner's record alone: kept checks that it still holds
// "five" at version 5. newDispatcher gives a fresh dispatcher over one
// connector; send dispatches a change through one.
func StaleVersion(t *testing.T, newDispatcher func() *synclayer.Dispatcher, send func(*synclayer.Dispatcher, Meeting) synclayer.Result, kept func(*testing.T)) {
	t.Helper()
	d := newDispatcher()
	if r := send(d, Meeting{Key: "k", Title: "five", Version: 5}); r.Status != synclayer.StatusSynced {
		t.Fatalf("version 5: %v %v", r.Status, r.Err)
	}
	if r := send(d, Meeting{Key: "k", Title: "three", Version: 3}); r.Status != synclayer.StatusStale {
		t.Errorf("version 3 after 5: status %v, want stale", r.Status)
	}
	d2 := newDispatcher() // its own store: the connector guards
	if r := send(d2, Meeting{Key: "k", Title: "three", Version: 3}); r.Status != synclayer.StatusSynced {
		t.Errorf("second dispatcher, version 3: %v %v", r.Status, r.Err)
	}
	if r := send(d2, Meeting{Key: "k", Version: 4, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Errorf("second dispatcher, stale delete: %v %v", r.Status, r.Err)
	}
	kept(t)
}
