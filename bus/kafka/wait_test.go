package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/kafka"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// polledHook sends on polled each time a subscriber polls a record of
// topic (up to its buffer, then it drops the news).
type polledHook struct {
	topic  string
	polled chan struct{}
}

func newPolledHook(topic string) *polledHook {
	return &polledHook{topic: topic, polled: make(chan struct{}, 10)}
}

func (h *polledHook) OnFetchRecordUnbuffered(r *kgo.Record, polled bool) {
	if polled && r.Topic == h.topic {
		select {
		case h.polled <- struct{}{}:
		default:
		}
	}
}

// A record waiting for its not-before time stalls only its own partition:
// an event published once the member has polled a deferred record, whose
// wait outlasts the test, is handled meanwhile.
func TestWaitingRecordStallsOnlyItsPartition(t *testing.T) {
	seeds := cluster(t)
	hook := newPolledHook("wait.retry.synclayer.Order")
	b := newBus(t, seeds, "wait", kafka.WithClientOptions(kgo.WithHooks(hook)))
	if b.RetryTopic("Order") != hook.topic {
		t.Fatalf("retry topic %q, want %q", b.RetryTopic("Order"), hook.topic)
	}
	ctx := synclayertest.Within(t, 30*time.Second)
	var deferred atomic.Int32
	other := make(chan struct{}, 1)
	stop := bustest.Subscribe(t, b, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		if ev.ID == "waits" {
			deferred.Add(1)
			// The wait outlasts the test: the record is still waiting
			// whenever the other event is handled.
			return synclayer.Redeliver(errors.New("too early"), time.Hour)
		}
		other <- struct{}{}
		return nil
	})
	if err := b.Publish(ctx, synclayer.Event{ID: "waits", Type: "Order", Subject: "a"}); err != nil {
		t.Fatal(err)
	}
	bustest.Wait(ctx, t, hook.polled, "the deferred copy was never polled")
	if err := b.Publish(ctx, synclayer.Event{ID: "other", Type: "Order", Subject: "b"}); err != nil {
		t.Fatal(err)
	}
	bustest.Wait(ctx, t, other, "the other event was not handled while the deferred record waited")
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	if n := deferred.Load(); n != 1 {
		t.Errorf("the deferred event was handled %d times, want 1 (its wait had not ended)", n)
	}
}

// When a waiting record is due, it and those behind it in its partition
// are handled, in order,
// and committed, so a later member of the group gets none of them again.
func TestWaitingRecordResumesInOrder(t *testing.T) {
	b := newBus(t, cluster(t), "resume")
	ctx := synclayertest.Within(t, 30*time.Second)
	var (
		mu  sync.Mutex
		seq []string
	)
	got := make(chan string, 10)
	h := func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		seq = append(seq, ev.ID)
		n := len(seq)
		mu.Unlock()
		got <- ev.ID
		switch {
		case n == 1: // "first": its copy waits in the retry topic
			return synclayer.Redeliver(errors.New("too early"), time.Second)
		case n == 2: // "second": its copy, due at once, is behind it
			return synclayer.Redeliver(errors.New("too early"), 0)
		}
		return nil
	}
	stop := bustest.Subscribe(t, b, []string{"Order"}, h)
	for _, id := range []string{"first", "second"} {
		// One subject: one partition of the event topic, then of the
		// retry topic.
		if err := b.Publish(ctx, synclayer.Event{ID: id, Type: "Order", Subject: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		bustest.Wait(ctx, t, got, "a delivery is missing")
	}
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	mu.Lock()
	if want := "first,second,first,second"; strings.Join(seq, ",") != want {
		t.Errorf("delivered %v, want %s", seq, want)
	}
	mu.Unlock()

	// A new member of the group starts after what the first one committed.
	stop = bustest.Subscribe(t, b, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		got <- ev.ID
		return nil
	})
	if err := b.Publish(ctx, synclayer.Event{ID: "last", Type: "Order", Subject: "k"}); err != nil {
		t.Fatal(err)
	}
	if id := bustest.Wait(ctx, t, got, "the last event was not delivered"); id != "last" {
		t.Errorf("the next member got %q first, want last (a record delivered again)", id)
	}
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	if len(got) > 0 {
		t.Errorf("the next member got %q too (a record delivered again)", <-got)
	}
}

// A member that loses a partition in which a record waits forgets that
// wait: when the group gives the partition back, the member fetches it
// again from its committed offset instead of leaving it paused. The range
// balancer is eager: every rebalance takes every partition from every
// member.
func TestWaitingRecordRevoked(t *testing.T) {
	seeds := cluster(t)
	eager := kafka.WithClientOptions(kgo.Balancers(kgo.RangeBalancer()))
	hook := newPolledHook("revoke.retry.synclayer.Order")
	a := newBus(t, seeds, "revoke", eager, kafka.WithClientOptions(kgo.WithHooks(hook)))
	other := newBus(t, seeds, "revoke", eager)
	ctx := synclayertest.Within(t, 30*time.Second)
	h := func(context.Context, synclayer.Event) error {
		return synclayer.Redeliver(errors.New("too early"), time.Hour)
	}
	stopA := bustest.Subscribe(t, a, []string{"Order"}, h)
	if err := a.Publish(ctx, synclayer.Event{ID: "waits", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	bustest.Wait(ctx, t, hook.polled, "the deferred copy was never polled")
	// A second member joins and leaves: a takes every partition back.
	stopOther := bustest.Subscribe(t, other, []string{"Order"}, h)
	raw, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	adm := kadm.NewClient(raw)
	bustest.Eventually(ctx, t, func() bool {
		groups, err := adm.DescribeGroups(ctx, "synclayer")
		if err != nil {
			return false
		}
		g := groups["synclayer"]
		if g.State != "Stable" || len(g.Members) != 2 {
			return false
		}
		for _, m := range g.Members {
			if ca, ok := m.Assigned.AsConsumer(); !ok || len(ca.Topics) == 0 {
				return false
			}
		}
		return true
	}, "the second member never joined")
	for len(hook.polled) > 0 {
		<-hook.polled // fetches before the give-back do not count
	}
	if err := stopOther(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	bustest.Wait(ctx, t, hook.polled, "the partition given back was not fetched again")
	if err := stopA(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
}

// A not-before header on an event topic is not the bus's own: the record
// is handled at once, and its partition is not paused.
func TestNotBeforeOnAnEventTopicIsIgnored(t *testing.T) {
	seeds := cluster(t)
	b := newBus(t, seeds, "nb")
	ctx := synclayertest.Within(t, 30*time.Second)
	handled := make(chan string, 2)
	stop := bustest.Subscribe(t, b, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		handled <- ev.ID
		return nil
	})
	body, err := cloudevents.Marshal(synclayer.Event{ID: "planted", Type: "Order", Subject: "a"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	far := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	rec := &kgo.Record{Topic: b.Topic("Order"), Key: []byte("a"), Value: body, Headers: []kgo.RecordHeader{
		{Key: "content-type", Value: []byte(cloudevents.ContentType)},
		{Key: kafka.HeaderNotBefore, Value: []byte(far)},
	}}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-handled:
		if id != "planted" {
			t.Fatalf("handled %q, want the planted event", id)
		}
	case <-ctx.Done():
		t.Fatal("the event with a not-before header on its event topic was never handled: the header held it")
	}
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
}

// refetchHook counts the records of an event topic that a subscriber
// fetched and then discarded without polling them, and sends the
// not-before time of each retry record it polls of its retry topic.
type refetchHook struct {
	event, retry string
	counting     atomic.Bool
	discarded    atomic.Int64
	polled       chan retryPolled
}

// retryPolled is a polled retry record: the event's ID and its due time.
type retryPolled struct {
	id  string
	due time.Time
}

func (h *refetchHook) OnFetchRecordUnbuffered(r *kgo.Record, polled bool) {
	switch {
	case !polled && r.Topic == h.event && h.counting.Load():
		h.discarded.Add(1)
	case polled && r.Topic == h.retry:
		var ev struct {
			ID string `json:"id"`
		}
		ms, err := strconv.ParseInt(headerOf(r, kafka.HeaderNotBefore), 10, 64)
		if json.Unmarshal(r.Value, &ev) != nil || err != nil {
			return
		}
		select {
		case h.polled <- retryPolled{ev.ID, time.UnixMilli(ms)}:
		default:
		}
	}
}

func headerOf(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Releasing a waiting record does not make the member fetch its other
// partitions again: event records fetched while a retry waited, and not
// yet polled when it became due, are polled, not discarded and fetched
// once more. Each round holds a retry record, then makes the first of a
// batch of events in one partition (fetched together) return only once
// the retry is due, so that the release comes with the rest of the batch
// fetched and not yet polled.
func TestReleaseKeepsOtherPartitionsFetched(t *testing.T) {
	seeds := cluster(t)
	hook := &refetchHook{event: "refetch.event.Order", retry: "refetch.retry.synclayer.Order", polled: make(chan retryPolled, 10)}
	hook.counting.Store(true)
	// One partition at a time: a poll takes 4 records, leaving the rest
	// of a batch fetched.
	b := newBus(t, seeds, "refetch", kafka.WithConcurrency(1), kafka.WithClientOptions(kgo.WithHooks(hook)))
	if b.Topic("Order") != hook.event || b.RetryTopic("Order") != hook.retry {
		t.Fatalf("topics %q and %q, want %q and %q", b.Topic("Order"), b.RetryTopic("Order"), hook.event, hook.retry)
	}
	ctx := synclayertest.Within(t, 60*time.Second)
	raw, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	const rounds, batch = 3, 100
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		dues  = map[string]time.Time{} // gate-i: when r-i is due
		again = make(chan string, rounds)
		got   = make(chan string, rounds*batch)
	)
	stop := bustest.Subscribe(t, b, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		seen[ev.ID]++
		n, due := seen[ev.ID], dues[ev.ID]
		mu.Unlock()
		switch {
		case strings.HasPrefix(ev.ID, "r-") && n == 1:
			return synclayer.Redeliver(errors.New("too early"), 500*time.Millisecond)
		case strings.HasPrefix(ev.ID, "r-"):
			again <- ev.ID
			return nil
		case strings.HasPrefix(ev.ID, "gate-"):
			// Return once the retry is due: the poll loop releases it
			// right after this poll's records, with the rest of the
			// batch fetched.
			<-time.After(time.Until(due))
		}
		got <- ev.ID
		return nil
	})
	for i := range rounds {
		for len(hook.polled) > 0 {
			<-hook.polled
		}
		id := fmt.Sprint("r-", i)
		if err := b.Publish(ctx, synclayer.Event{ID: id, Type: "Order", Subject: "r"}); err != nil {
			t.Fatal(err)
		}
		var p retryPolled
		for p.id != id {
			p = bustest.Wait(ctx, t, hook.polled, "the retry copy was never polled")
		}
		gate := fmt.Sprint("gate-", i)
		mu.Lock()
		dues[gate] = p.due
		mu.Unlock()
		var recs []*kgo.Record
		for j := range batch {
			eid := gate
			if j > 0 {
				eid = fmt.Sprintf("e-%d-%d", i, j)
			}
			body, err := cloudevents.Marshal(synclayer.Event{ID: eid, Type: "Order", Subject: "batch"})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: hook.event, Key: []byte("batch"), Value: body, Headers: []kgo.RecordHeader{
				{Key: "content-type", Value: []byte(cloudevents.ContentType)},
			}})
		}
		if err := raw.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if got := bustest.Wait(ctx, t, again, "the retry was not delivered again"); got != id {
			t.Fatalf("delivered %s again, want %s", got, id)
		}
	}
	for range rounds * batch {
		bustest.Wait(ctx, t, got, "an event of a batch was not delivered")
	}
	// Leaving the group discards what is fetched: count no further.
	hook.counting.Store(false)
	if n := hook.discarded.Load(); n != 0 {
		t.Errorf("%d event records were fetched and discarded unpolled while retries were released, want 0", n)
	}
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range seen {
		if want := 1 + btoi(strings.HasPrefix(id, "r-")); n != want {
			t.Errorf("%s delivered %d times, want %d", id, n, want)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The records polled behind a waiting record are kept with it, and those
// fetched but not yet polled are fetched again: when it is due, the whole
// partition is handled in order, each record once, and committed. A poll
// takes 4 records, and the records come in one batch, so that some are
// kept and some dropped while the partition is paused.
func TestWaitingRecordKeepsTheRestInOrder(t *testing.T) {
	seeds := cluster(t)
	b := newBus(t, seeds, "tail", kafka.WithConcurrency(1))
	ctx := synclayertest.Within(t, 30*time.Second)
	h, got := bustest.Collector()
	stop := bustest.Subscribe(t, b, []string{"Order"}, h)
	// The member is up once it handles an event.
	if err := b.Publish(ctx, synclayer.Event{ID: "warm", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	bustest.Received(ctx, t, got, 1)

	raw, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.AllowAutoTopicCreation(), kgo.ManualFlushing())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	due := strconv.FormatInt(time.Now().Add(time.Second).UnixMilli(), 10)
	var want []string
	for i := range 10 {
		id := fmt.Sprint("t-", i)
		want = append(want, id)
		body, err := cloudevents.Marshal(synclayer.Event{ID: id, Type: "Order", Subject: "k"})
		if err != nil {
			t.Fatal(err)
		}
		rec := &kgo.Record{Topic: b.RetryTopic("Order"), Key: []byte("k"), Value: body, Headers: []kgo.RecordHeader{
			{Key: "content-type", Value: []byte(cloudevents.ContentType)},
		}}
		if i == 0 {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: kafka.HeaderNotBefore, Value: []byte(due)})
		}
		raw.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := raw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ids := bustest.Received(ctx, t, got, len(want))
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("delivered %v, want %v", ids, want)
	}
	if err := b.Publish(ctx, synclayer.Event{ID: "last", Type: "Order", Subject: "k"}); err != nil {
		t.Fatal(err)
	}
	if ids := bustest.Received(ctx, t, got, 1); ids[0] != "last" {
		t.Errorf("delivered %v after the partition, want last (a record delivered again)", ids)
	}
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}

	// A new member of the group starts after what the first one committed.
	stop = bustest.Subscribe(t, b, []string{"Order"}, h)
	if err := b.Publish(ctx, synclayer.Event{ID: "next", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	if ids := bustest.Received(ctx, t, got, 1); ids[0] != "next" {
		t.Errorf("the next member got %v first, want next (a record delivered again)", ids)
	}
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
}
