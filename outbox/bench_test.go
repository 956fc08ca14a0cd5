package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/outbox"
)

// benchEvents returns n events over 1,000 subjects.
func benchEvents(run string, n int) []synclayer.Event {
	evs := make([]synclayer.Event, n)
	for i := range evs {
		evs[i] = synclayer.Event{ID: fmt.Sprintf("%s-%d", run, i), Type: "ItemChanged", Source: "bench",
			Subject: fmt.Sprintf("key-%d", i%1000), Time: time.Now(),
			Data: []byte(`{"workflowId":"WF-123","name":"AutoApproveLowRisk","startDate":"2024-07-01"}`)}
	}
	return evs
}

// fill writes evs through ob in transactions of 500.
func fill(b *testing.B, db *sql.DB, ob *outbox.Outbox, evs []synclayer.Event) {
	b.Helper()
	for chunk := range slices.Chunk(evs, 500) {
		writeCommitted(b, context.Background(), db, ob, chunk...)
	}
}

// BenchmarkRelayVsRaw measures, per iteration, 2,000 events over 1,000
// subjects from PostgreSQL to NATS JetStream twice: through Relay (claim,
// publish through bus/nats, delete), and through the baseline, a raw loop
// of SELECT batches by id with asynchronous JetStream publishes that
// neither claims nor deletes. It reports both rates and their ratio.
func BenchmarkRelayVsRaw(b *testing.B) {
	natsURL := testenv.NATS.Need(b)
	db := openDB(b, "pgx", testenv.Postgres.Need(b))
	nc, err := natsgo.Connect(natsURL, natsgo.Timeout(3*time.Second))
	if err != nil {
		testenv.Unavailable(b, "NATS JetStream", err)
	}
	defer nc.Close()
	stream := "outbox-bench-" + strings.ReplaceAll(uniqueName("s"), "_", "-")
	ctx := context.Background()
	bus := newNATSBus(b, ctx, nc, stream)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = js.DeleteStream(context.Background(), stream) }()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		b.Fatal(err)
	}
	stored := func() uint64 {
		info, err := st.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return info.State.Msgs
	}
	ob := newOutbox(b, db, outbox.Postgres)
	raw := newOutbox(b, db, outbox.Postgres) // the same table layout, read naively
	const n = 2000
	var relayTime, rawTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		fill(b, db, ob, benchEvents(fmt.Sprintf("o%d", i), n))
		fill(b, db, raw, benchEvents(fmt.Sprintf("r%d", i), n))
		want := stored() + n
		b.StartTimer()

		start := time.Now()
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- ob.Relay(rctx, bus) }()
		for stored() < want {
			time.Sleep(time.Millisecond)
		}
		relayTime += time.Since(start)
		stop()
		<-done

		start = time.Now()
		var cursor int64
		subject := bus.Subject("ItemChanged")
		for {
			rs, err := db.QueryContext(ctx, "SELECT id, event FROM "+raw.Table()+" WHERE id > $1 ORDER BY id LIMIT 256", cursor)
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			for rs.Next() {
				var body []byte
				if err := rs.Scan(&cursor, &body); err != nil {
					b.Fatal(err)
				}
				var ev struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(body, &ev); err != nil {
					b.Fatal(err)
				}
				if _, err := js.PublishMsgAsync(&natsgo.Msg{Subject: subject, Data: body}, jetstream.WithMsgID(ev.ID)); err != nil {
					b.Fatal(err)
				}
				got++
			}
			rs.Close()
			if got == 0 {
				break
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			b.Fatal("raw loop: acknowledgements did not arrive")
		}
		rawTime += time.Since(start)
		b.StopTimer()
		if got := stored(); got != want+n {
			b.Fatalf("stream holds %d, want %d", got, want+n)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM "+raw.Table()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	relayRate := float64(n*b.N) / relayTime.Seconds()
	rawRate := float64(n*b.N) / rawTime.Seconds()
	b.ReportMetric(relayRate, "relay-ev/s")
	b.ReportMetric(rawRate, "raw-ev/s")
	b.ReportMetric(relayRate/rawRate, "ratio")
}

// BenchmarkWrite compares Write of 100 events in a transaction with a
// plain multi-row INSERT of the same rows into a table of the same layout,
// per dialect.
func BenchmarkWrite(b *testing.B) {
	const n = 100
	for _, c := range dbCases {
		b.Run(c.name, func(b *testing.B) {
			db := c.open(b)
			ob := newOutbox(b, db, c.dialect)
			plain := newOutbox(b, db, c.dialect) // migrated only for its table
			evs := benchEvents("w", n)
			subjects := make([][]byte, n)
			bodies := make([][]byte, n)
			for i, ev := range evs {
				subjects[i] = []byte("s" + ev.Subject)
				bodies[i], _ = json.Marshal(ev)
			}
			// created_ms as Write stores it, a time in milliseconds: SQLite
			// stores 0 in no bytes, which made the baseline's rows smaller.
			now := time.Now().UnixMilli()
			var q strings.Builder
			q.WriteString("INSERT INTO " + plain.Table() + " (subject, event, created_ms) VALUES ")
			args := make([]any, 0, 2*n)
			for i := range n {
				if i > 0 {
					q.WriteString(", ")
				}
				if c.dialect == outbox.Postgres {
					fmt.Fprintf(&q, "($%d, $%d, %d)", 2*i+1, 2*i+2, now)
				} else {
					fmt.Fprintf(&q, "(?, ?, %d)", now)
				}
				args = append(args, subjects[i], bodies[i])
			}
			insert := q.String()
			ctx := context.Background()
			var writeTime, plainTime time.Duration
			b.ResetTimer()
			for i := range b.N {
				// Alternate, so drift in the machine's load hits both.
				for _, useWrite := range []bool{i%2 == 0, i%2 != 0} {
					start := time.Now()
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					if useWrite {
						err = ob.Write(ctx, tx, evs...)
					} else {
						_, err = tx.ExecContext(ctx, insert, args...)
					}
					if err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
					if useWrite {
						writeTime += time.Since(start)
					} else {
						plainTime += time.Since(start)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(writeTime.Microseconds())/float64(b.N), "write-µs/100ev")
			b.ReportMetric(float64(plainTime.Microseconds())/float64(b.N), "insert-µs/100ev")
			b.ReportMetric(float64(writeTime)/float64(plainTime), "ratio")
			for _, t := range []string{ob.Table(), plain.Table()} {
				_, _ = db.ExecContext(ctx, "DELETE FROM "+t)
			}
		})
	}
}

// BenchmarkCommitToPublish measures the latency from a transaction's
// commit to the relay's call of Publish, one event at a time, per dialect
// and, on PostgreSQL, with and without LISTEN/NOTIFY. With polling, the
// next commit often lands before the claim that follows the previous
// event's delete, so p50 understates the wait; p99 shows the poll interval.
func BenchmarkCommitToPublish(b *testing.B) {
	cases := []struct {
		name string
		c    dbCase
		opts []outbox.Option
	}{
		{"postgres-notify", dbCases[0], nil},
		{"postgres-poll100ms", dbCases[0], []outbox.Option{outbox.WithoutNotify(), outbox.WithPollInterval(100 * time.Millisecond)}},
		{"mariadb-poll100ms", dbCases[1], nil},
		{"sqlite-poll100ms", dbCases[2], nil},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			db := tc.c.open(b)
			ob := newOutbox(b, db, tc.c.dialect, tc.opts...)
			got := make(chan time.Time, 1)
			pub := publisherFunc(func(context.Context, synclayer.Event) error {
				got <- time.Now()
				return nil
			})
			stop := startRelay(b, ob, pub)
			defer stop()
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				writeCommitted(b, ctx, db, ob, synclayer.Event{ID: fmt.Sprintf("l%d", i), Type: "T", Subject: "s"})
				committed := time.Now()
				select {
				case at := <-got:
					lat = append(lat, at.Sub(committed))
				case <-time.After(10 * time.Second):
					b.Fatal("not published within 10s")
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// publisherFunc adapts a function to synclayer.Publisher.
type publisherFunc func(ctx context.Context, ev synclayer.Event) error

func (f publisherFunc) Publish(ctx context.Context, ev synclayer.Event) error { return f(ctx, ev) }
