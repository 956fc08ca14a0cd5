package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
)

// A delivery log in Redis beside the store: a push that the partner
// refuses for good is a dead letter, which a restarted process still
// lists and replays once the partner is fixed. (It needs a Redis on
// 127.0.0.1:6379, so it has no Output to check; TestLogHoldsSurviveRestart
// runs the same story.)
func ExampleNewLog() {
	ctx := context.Background()
	fixed := false
	partner := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error {
		if !fixed {
			return synclayer.Permanent(errors.New(`records: 422 unknown field "owner"`))
		}
		fmt.Println("pushed", rec.Key)
		return nil
	})
	mapper := synclayer.MapperFunc(func(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})

	// start connects as a process would at start-up.
	start := func() (*synclayer.Dispatcher, *redis.Client) {
		client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		store, err := redisstore.New(client, redisstore.WithPrefix("example:idem:"))
		if err != nil {
			panic(err)
		}
		log, err := redisstore.NewLog(client, redisstore.WithLogPrefix("example:log:"),
			redisstore.WithLogRetention(72*time.Hour))
		if err != nil {
			panic(err)
		}
		reg := new(synclayer.Registry)
		if err := reg.Register("records", partner, synclayer.Route("WorkflowDeployed", mapper)); err != nil {
			panic(err)
		}
		d, err := synclayer.NewDispatcher(reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(log),
			synclayer.WithObserver(synclayer.NoObserver))
		if err != nil {
			panic(err)
		}
		return d, client
	}

	d, client := start()
	ev := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Subject: "WF-123", Data: json.RawMessage(`{"title":"Night shift"}`)}
	_, err := d.Dispatch(ctx, ev)
	fmt.Println("dispatch failed:", err != nil)
	client.Close()

	fixed = true
	d, client = start() // a restarted process
	defer client.Close()
	dead, _ := d.DeadLetters(ctx, synclayer.DeliveryFilter{})
	for _, dl := range dead {
		fmt.Printf("dead letter: %s %s %s: %s\n", dl.EventID, dl.Connector, dl.Key, dl.Error)
	}
	res, _ := d.Replay(ctx, synclayer.DeliveryFilter{})
	fmt.Println("replayed:", len(res))
}
