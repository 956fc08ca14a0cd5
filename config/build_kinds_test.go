package config_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// Every bus, store and log kind builds against its real service, answers
// Ready, and carries an event from the bus to a partner.
func TestEveryBusStoreAndLogKindRuns(t *testing.T) {
	kafka, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer kafka.Close()
	redisAddr := func(t *testing.T) string { return "redis://" + testenv.Redis.Need(t) }
	cases := []struct {
		name string
		// precreate publishes once before Run subscribes: franz-go refreshes
		// its metadata every 5 minutes by default, so a consumer sees a
		// topic only if it exists when the consumer starts.
		precreate bool
		sections  func(t *testing.T, id string) (yaml string, env map[string]string)
	}{
		{"memory", false, func(*testing.T, string) (string, map[string]string) {
			return "bus: {kind: memory}\nstore: {kind: memory, maxEntries: 100}\nlog: {kind: none}\n", nil
		}},
		{"nats+postgres", false, func(t *testing.T, id string) (string, map[string]string) {
			return fmt.Sprintf("bus: {kind: nats, url: %q, stream: CFGK_%s, prefix: cfgk.%s}\nstore: {kind: postgres, dsn: \"${env:DSN}\", table: cfgk_%s}\nlog: {kind: postgres, table: cfgkl_%s}\n",
				testenv.NATS.Need(t), strings.ToUpper(id), id, id, id), map[string]string{"DSN": testenv.Postgres.Need(t)}
		}},
		{"redisstream+redis", false, func(t *testing.T, id string) (string, map[string]string) {
			return fmt.Sprintf("bus: {kind: redisstream, url: \"${env:REDIS}\", prefix: cfgk-%s}\nstore: {kind: redis, url: \"${env:REDIS}\", prefix: cfgk-%s}\nlog: {kind: redis, url: \"${env:REDIS}\", prefix: \"cfgkl-%s:\"}\n", id, id, id),
				map[string]string{"REDIS": redisAddr(t)}
		}},
		{"amqp+mariadb", false, func(t *testing.T, id string) (string, map[string]string) {
			return fmt.Sprintf("bus: {kind: amqp, url: \"${env:AMQP}\", exchange: cfgk-%s, group: g%s}\nstore: {kind: mariadb, dsn: \"${env:DSN}\", table: cfgk_%s}\nlog: {kind: mariadb, table: cfgkl_%s}\n", id, id, id, id),
				map[string]string{"AMQP": testenv.RabbitMQ.Need(t), "DSN": testenv.MySQL.Need(t)}
		}},
		{"kafka+sqlite", false, func(t *testing.T, id string) (string, map[string]string) {
			db := filepath.Join(t.TempDir(), "store.db")
			return fmt.Sprintf("bus: {kind: kafka, brokers: [%q], prefix: cfgk-%s, group: g%s, metadataMaxAge: 500ms}\nstore: {kind: sqlite, dsn: %q}\nlog: {kind: sqlite}\n", kafka.ListenAddrs()[0], id, id, db), nil
		}},
	}
	// after checks, by case, what the run left behind.
	after := map[string]func(t *testing.T, ctx context.Context, id string, ev synclayer.Event){
		// The delivery log is the one in Redis: a log opened anew on its
		// prefix lists the synced entry.
		"redisstream+redis": func(t *testing.T, ctx context.Context, id string, ev synclayer.Event) {
			rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis.Addr()})
			defer rdb.Close()
			defer deleteKeys(t, rdb, "cfgkl-"+id+":*")
			lg, err := redisstore.NewLog(rdb, redisstore.WithLogPrefix("cfgkl-"+id+":"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := lg.List(ctx, synclayer.DeliveryFilter{EventID: ev.ID})
			if err != nil || len(got) != 1 || got[0].Connector != "records" || got[0].State != synclayer.StatusSynced {
				t.Errorf("the Redis delivery log holds %+v, %v; want the event synced to records", got, err)
			}
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			partner := &recorder{}
			srv := httptest.NewServer(partner)
			defer srv.Close()
			id := strconv.FormatInt(time.Now().UnixNano(), 36)
			sections, env := tc.sections(t, id)
			src := sections + fmt.Sprintf(`
partners:
  - name: records
    kind: rest
    settings: {baseUrl: %q}
    routes:
      WorkflowDeployed: {key: data.workflowId, record: data}
`, srv.URL)
			cfg, err := config.Parse("kinds.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			svc, err := config.Build(ctx, cfg, config.WithLogger(slog.New(slog.DiscardHandler)),
				config.WithLookupEnv(func(n string) (string, bool) { v, ok := env[n]; return v, ok }))
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close(context.Background())
			if err := svc.Ready(ctx); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			ev := synclayer.Event{ID: "evt-" + id, Type: "WorkflowDeployed", Time: time.Now(), Data: []byte(`{"workflowId":"WF-1"}`)}
			if tc.precreate {
				if err := svc.Bus.Publish(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- svc.Run(runCtx) }()
			// Brokers that route to subscriptions (AMQP queues, Kafka groups
			// starting at the end) drop what is published before Run has
			// subscribed: publish the same event until it arrives; the
			// store makes the repeats duplicates.
			for len(partner.all()) == 0 {
				if err := svc.Bus.Publish(ctx, ev); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ctx.Done():
					t.Fatal("the event never reached the partner")
				case <-time.After(500 * time.Millisecond):
				}
			}
			stop()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if n := len(partner.all()); n != 1 {
				t.Errorf("the partner got %d requests, want 1", n)
			}
			if got := partner.all()[0]; !strings.HasPrefix(got, "PUT /records/WF-1") || !strings.HasSuffix(got, `{"workflowId":"WF-1"}`) {
				t.Errorf("partner got %s", got)
			}
			if f := after[tc.name]; f != nil {
				f(t, ctx, id, ev)
			}
		})
	}
}
