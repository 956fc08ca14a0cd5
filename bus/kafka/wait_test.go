package kafka_test

import (
	"context"
	"errors"
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

// When a waiting record is due, its partition is polled again from it:
// the record and those behind it in its partition are handled, in order,
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
