package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
)

// A delivery log in Redis beside the store, so that a push the partner
// refused for good, a dead letter, outlives the process: a restarted
// process still lists it, and replays it once the partner is fixed. (It
// needs a Redis on 127.0.0.1:6379, so it has no Output to check;
// TestLogHoldsSurviveRestart runs the whole story.)
func ExampleNewLog() {
	ctx := context.Background()
	store, client := localStore()
	defer client.Close()
	log, err := redisstore.NewLog(client, redisstore.WithLogPrefix("example:log:"),
		redisstore.WithLogRetention(72*time.Hour))
	if err != nil {
		panic(err)
	}
	reg := new(synclayer.Registry)
	partner := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error { return nil })
	byID := synclayer.MapperFunc(func(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})
	if err := reg.Register("records", partner, synclayer.Route("WorkflowDeployed", byID)); err != nil {
		panic(err)
	}
	d, err := synclayer.NewDispatcher(reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(log))
	if err != nil {
		panic(err)
	}

	// At start-up: the dead letters that earlier processes left.
	dead, err := d.DeadLetters(ctx, synclayer.DeliveryFilter{Connector: "records"})
	if err != nil {
		panic(err)
	}
	for _, dl := range dead {
		fmt.Printf("dead letter: %s %s %s: %s\n", dl.EventID, dl.Connector, dl.Key, dl.Error)
	}
	res, err := d.Replay(ctx, synclayer.DeliveryFilter{Connector: "records"})
	fmt.Println("replayed:", len(res), err)
}
