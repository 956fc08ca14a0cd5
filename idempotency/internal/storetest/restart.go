package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Restart checks that a durable store and delivery log keep what one
// process leaves for the next. start opens the store and the log anew
// over the same tables or keys, as a process does at start-up.
//
// A first Dispatcher pushes an event to a partner that refuses it for
// good (a dead letter), and, its connector paused, holds a second event
// (pending). A second Dispatcher, a restarted process with the partner
// fixed, finds the pending entry in the log with its event; lists the
// dead letter with its event (data and meta), connector, key, state,
// error and attempts; replays it once (a second Replay pushes nothing,
// and the event dispatched again is a duplicate, so logged); and Resume
// pushes the held event once. The partner takes each record once.
func Restart(t *testing.T, start func(t *testing.T) (synclayer.Store, synclayer.DeliveryLog)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var (
		mu     sync.Mutex
		pushes = map[string]int{} // writes the partner accepted, by key
		broken = true
	)
	partner := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if broken {
			return synclayer.Permanent(errors.New("records: 422 Unprocessable Entity: field \"owner\" is unknown"))
		}
		pushes[rec.Key]++
		return nil
	})
	mapper := synclayer.MapperFunc(func(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			return synclayer.Record{}, err
		}
		return synclayer.Record{Key: v.ID, Payload: v}, nil
	})
	dispatcher := func() (*synclayer.Dispatcher, synclayer.DeliveryLog) {
		store, log := start(t)
		reg := new(synclayer.Registry)
		if err := reg.Register("records", partner, synclayer.Route("WorkflowDeployed", mapper),
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond})); err != nil {
			t.Fatal(err)
		}
		return synclayertest.NewDispatcher(t, reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(log),
			synclayer.WithObserver(synclayer.NoObserver)), log
	}

	first, _ := dispatcher()
	ev := synclayer.Event{ID: "evt-dead-1", Type: "WorkflowDeployed", Subject: "WF-1",
		Data: json.RawMessage(`{"id":"WF-1","title":"Night shift"}`), Meta: map[string]string{"correlation": "c-1"}}
	rep, err := first.Dispatch(ctx, ev)
	if err == nil || len(rep.Results) != 1 || rep.Results[0].Status != synclayer.StatusFailed {
		t.Fatalf("dispatch to the broken partner: %+v, %v; want one failed result", rep.Results, err)
	}
	if err := first.Pause("records"); err != nil {
		t.Fatal(err)
	}
	held := synclayer.Event{ID: "evt-held-2", Type: "WorkflowDeployed", Subject: "WF-2", Data: json.RawMessage(`{"id":"WF-2","n":[1,2]}`)}
	if rep, err := first.Dispatch(ctx, held); err != nil || rep.Results[0].Status != synclayer.StatusPending {
		t.Fatalf("dispatch while paused: %+v, %v; want pending", rep.Results, err)
	}

	// The restart: new connections, store, log and dispatcher; the
	// partner is fixed.
	mu.Lock()
	broken = false
	mu.Unlock()
	second, log := dispatcher()
	pending, err := log.List(ctx, synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusPending}})
	if err != nil || len(pending) != 1 || pending[0].EventID != held.ID || pending[0].Event == nil ||
		string(pending[0].Event.Data) != string(held.Data) {
		t.Fatalf("pending entries after the restart: %+v, %v; want %s with its event", pending, err, held.ID)
	}
	dead, err := second.DeadLetters(ctx, synclayer.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 {
		t.Fatalf("dead letters after the restart: %d, want 1: %+v", len(dead), dead)
	}
	dl := dead[0]
	if dl.EventID != ev.ID || dl.Connector != "records" || dl.Key != "WF-1" || dl.State != synclayer.StatusDead ||
		dl.Attempts != 1 || !strings.Contains(dl.Error, `field "owner" is unknown`) || dl.Event == nil ||
		string(dl.Event.Data) != string(ev.Data) || dl.Event.Meta["correlation"] != "c-1" || dl.LastAttempt.IsZero() {
		t.Errorf("the dead letter after the restart: %+v (event %+v)", dl, dl.Event)
	}

	res, err := second.Replay(ctx, synclayer.DeliveryFilter{Connector: "records"})
	if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced {
		t.Fatalf("Replay: %+v, %v; want one synced result", res, err)
	}
	res, err = second.Replay(ctx, synclayer.DeliveryFilter{})
	if err != nil || len(res) != 0 {
		t.Errorf("second Replay: %+v, %v; want nothing replayed", res, err)
	}
	if rep, err := second.Dispatch(ctx, ev); err != nil || rep.Results[0].Status != synclayer.StatusDuplicate {
		t.Errorf("the replayed event dispatched again: %+v, %v; want duplicate", rep.Results, err)
	}
	got, err := second.Deliveries(ctx, synclayer.DeliveryFilter{EventID: ev.ID})
	if err != nil || len(got) != 1 || got[0].State != synclayer.StatusDuplicate {
		t.Errorf("log entry of the replayed event: %+v, %v", got, err)
	}

	res, err = second.Resume(ctx, "records")
	if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced || res[0].Key != "WF-2" {
		t.Fatalf("Resume after the restart: %+v, %v; want WF-2 synced", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"WF-1": 1, "WF-2": 1}; !maps.Equal(pushes, want) {
		t.Errorf("partner writes = %v, want %v", pushes, want)
	}
}
