package synclayer_test

import (
	"context"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// ctxLog is a durable log whose Put fails once ctx has ended, as the SQL
// and Redis logs do.
type ctxLog struct{ durableLog }

func (l ctxLog) Put(ctx context.Context, d synclayer.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.durableLog.Put(ctx, d)
}

// cancelledByItsPush returns a context and a registry of one connector p0
// routing WorkflowDeployed by keyMapper, whose push ends that context once
// it has begun, waits for the push's own context to end with it, and
// returns what then returns: a call on the context that gives up while
// the partner is at work.
func cancelledByItsPush(t *testing.T, then func(context.Context) error) (context.Context, *synclayer.Registry) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	started := make(chan struct{}, 1)
	go func() {
		select {
		case <-started:
			cancel()
		case <-ctx.Done(): // the test ended with no push
		}
	}()
	conn := synclayer.ConnectorFunc(func(ctx context.Context, r synclayer.Record) error {
		started <- struct{}{}
		<-ctx.Done()
		return then(ctx)
	})
	reg := new(synclayer.Registry)
	must(t, reg.Register("p0", conn, synclayer.Route("WorkflowDeployed", keyMapper)))
	return ctx, reg
}

// A drained route whose push succeeds as its ctx ends (the partner
// answered 200 anyway) is completed in the store, and so must be logged
// Synced and announced: its entry does not stay in progress for good,
// never announced, with a store (MemoryStore) that writes no log itself.
func TestPushThatEndsWithItsContextIsLoggedAndAnnounced(t *testing.T) {
	log := ctxLog{durableLog{new(synclayer.MemoryLog)}}
	ctx, reg := cancelledByItsPush(t, func(context.Context) error {
		time.Sleep(5 * time.Millisecond) // the partner's 200 comes in
		return nil
	})
	pub := &recordingPublisher{}
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log), synclayer.WithPublisher(pub))
	must(t, err)
	must(t, d.Pause("p0"))
	rep, _ := d.Dispatch(context.Background(), event("e1", "K", 1))
	wantStatuses(t, "held", rep, "p0:pending")
	res, err := d.Resume(ctx, "p0") // err: the drain's next pass found ctx ended
	if len(res) != 1 || res[0].Status != synclayer.StatusSynced {
		t.Fatalf("Resume = %+v, %v; want e1 synced", res, err)
	}
	got, err := d.Deliveries(context.Background(), synclayer.DeliveryFilter{EventID: "e1", Connector: "p0"})
	must(t, err)
	if len(got) != 1 || got[0].State != synclayer.StatusSynced {
		t.Fatalf("log = %+v; want e1 synced", got)
	}
	if evs := pub.Events(); len(evs) != 1 || evs[0].Type != synclayer.SyncCompleted {
		t.Fatalf("announcements %+v; want one SyncCompleted", evs)
	}
}

// A live push that fails because its ctx ended (the caller gave up) has
// its outcome logged: the in-progress entry does not stay for good in a
// log that refuses writes under an ended ctx.
func TestPushFailedByItsContextIsLogged(t *testing.T) {
	log := ctxLog{durableLog{new(synclayer.MemoryLog)}}
	ctx, reg := cancelledByItsPush(t, context.Context.Err)
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
	must(t, err)
	rep, _ := d.Dispatch(ctx, event("e1", "K", 1))
	wantStatuses(t, "cancelled", rep, "p0:failed")
	got, err := d.Deliveries(context.Background(), synclayer.DeliveryFilter{EventID: "e1", Connector: "p0"})
	must(t, err)
	if len(got) != 1 || got[0].State != synclayer.StatusFailed {
		t.Fatalf("log = %+v; want e1 failed", got)
	}
}
