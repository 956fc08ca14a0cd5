package config_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// deleteKeys deletes the keys of rdb that match pattern.
func deleteKeys(t *testing.T, rdb *redis.Client, pattern string) {
	t.Helper()
	ctx := context.Background()
	var keys []string
	iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if len(keys) > 0 {
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			t.Errorf("delete %s: %v", pattern, err)
		}
	}
}

// A redis delivery log builds with its own URL beside any store, or on
// the redis store's client when it gives no URL; either way the
// dispatcher's entries, held routes included, are in Redis, where a log
// opened anew on the prefix finds them.
func TestRedisLogBuilds(t *testing.T) {
	url := "redis://" + testenv.Redis.Need(t)
	cases := []struct{ name, sections string }{
		{"own URL", "store: {kind: memory}\nlog: {kind: redis, url: \"${env:REDIS}\", prefix: \"%s\", retention: 48h}\n"},
		{"store's client", "store: {kind: redis, url: \"${env:REDIS}\", prefix: \"%[1]sidem:\"}\nlog: {kind: redis, prefix: \"%[1]s\"}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "cfgrl-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
			rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis.Addr()})
			defer rdb.Close()
			defer deleteKeys(t, rdb, prefix+"*")
			src := fmt.Sprintf(tc.sections, prefix) + restPartner
			cfg, err := config.Parse("redislog.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			svc, err := config.Build(ctx, cfg, config.WithLogger(slog.New(slog.DiscardHandler)),
				config.WithLookupEnv(func(n string) (string, bool) { return url, n == "REDIS" }))
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close(context.Background())
			if err := svc.Ready(ctx); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			if err := svc.Dispatcher.Pause("records"); err != nil {
				t.Fatal(err)
			}
			ev := synclayer.Event{ID: "evt-held", Type: "WorkflowDeployed", Data: json.RawMessage(`{"workflowId":"WF-1"}`)}
			if rep, err := svc.Dispatcher.Dispatch(ctx, ev); err != nil || rep.Results[0].Status != synclayer.StatusPending {
				t.Fatalf("dispatch while paused: %+v, %v; want pending", rep.Results, err)
			}
			lg, err := redisstore.NewLog(rdb, redisstore.WithLogPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			got, err := lg.List(ctx, synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusPending}})
			if err != nil || len(got) != 1 || got[0].EventID != ev.ID || got[0].Event == nil {
				t.Errorf("pending entries in Redis: %+v, %v; want evt-held with its event", got, err)
			}
		})
	}
}
