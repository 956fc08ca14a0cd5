package nats_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus"
)

// TestPublishBatch: PublishBatch stores the events in the stream in the
// batch's order, names the one event it refused (a type that cannot be a
// subject token) as permanent, and drops a copy of an event sent again.
func TestPublishBatch(t *testing.T) {
	nc := connect(t)
	stream := fmt.Sprintf("batch-%d", time.Now().UnixNano())
	b := newBus(t, nc, stream)
	ctx := t.Context()
	evs := make([]synclayer.Event, 50)
	for i := range evs {
		evs[i] = synclayer.Event{ID: fmt.Sprintf("%s-%d", stream, i), Type: "Batched", Subject: fmt.Sprint("s", i)}
	}
	evs[17].Type = "bad type"
	err := b.PublishBatch(ctx, evs)
	var be *bus.BatchError
	if !errors.As(err, &be) || len(be.Errs) != len(evs) {
		t.Fatalf("PublishBatch = %v; want a BatchError with %d entries", err, len(evs))
	}
	for i, e := range be.Errs {
		if (e != nil) != (i == 17) {
			t.Errorf("entry %d = %v; want an error for entry 17 only", i, e)
		}
	}
	if !synclayer.IsPermanent(be.Errs[17]) {
		t.Errorf("entry 17 = %v; want a permanent error", be.Errs[17])
	}
	// Again, valid events only: the stream keeps one copy of each.
	evs = append(evs[:17], evs[18:]...)
	if err := b.PublishBatch(ctx, evs); err != nil {
		t.Fatalf("PublishBatch again = %v", err)
	}

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{b.Subject("Batched")}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(len(evs)+1, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for msg := range batch.Messages() {
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.ID)
	}
	if len(got) != len(evs) {
		t.Fatalf("stream holds %d events, want %d", len(got), len(evs))
	}
	for i, id := range got {
		if id != evs[i].ID {
			t.Fatalf("stream position %d holds %s, want %s (the batch's order)", i, id, evs[i].ID)
		}
	}
}
