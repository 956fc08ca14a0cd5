package nats

import (
	"context"
	"fmt"
	"iter"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// handle processes one message: decode, call, then ack, nak or dead-letter.
// stopped is closed once the Subscribe's loops have stopped pulling.
func (b *Bus) handle(ctx context.Context, msg jetstream.Msg, h func(context.Context, synclayer.Event) error, stopped <-chan struct{}) {
	deliveries, seq, deferred := 1, uint64(0), 0
	if md, err := msg.Metadata(); err == nil {
		seq = md.Sequence.Stream
		if md.NumDelivered > 1 {
			deferred = b.deferrals(ctx, seq)
		}
		deliveries = max(int(md.NumDelivered)-deferred, 1)
	}
	ev, err := cloudevents.Decode(msg.Data(), headers(msg.Headers()))
	if err != nil {
		b.settled(seq, deferred)
		b.deadLetter(msg, fmt.Errorf("nats: message on %s: %w", msg.Subject(), err), deliveries)
		return
	}
	if deliveries > b.cfg.MaxDeliveries {
		// Delivered again after its handlers' processes died.
		b.settled(seq, deferred)
		b.deadLetter(msg, deliver.OverLimit("nats", ev.ID, deliveries, b.cfg.MaxDeliveries), deliveries)
		return
	}

	stopBeat := b.heartbeat(msg)
	herr := deliver.Call(ctx, "nats", h, ev)
	stopBeat()

	if after, ok := synclayer.RedeliverAfter(herr); ok {
		// The event came too early: this delivery is not counted.
		b.deferral(seq, deferred+1)
		b.nak(msg, after)
		return
	}
	if deliver.Interrupted(ctx, herr) {
		// Cut short by the subscriber stopping: handed back at once,
		// uncounted, as a message no handler saw is. Not before the
		// loops have stopped pulling: the broker could pass it to one of
		// their pull requests, where no one would take it, and count
		// that delivery.
		b.deferral(seq, deferred+1)
		<-stopped
		b.nak(msg, 0)
		return
	}
	switch {
	case herr == nil:
		b.settled(seq, deferred)
		if err := msg.Ack(); err != nil && b.cfg.Logger != nil {
			b.cfg.Logger.Warn("nats: ack failed; the event will be redelivered", "event", ev.ID, "err", err)
		}
	case synclayer.IsPermanent(herr) || deliveries >= b.cfg.MaxDeliveries:
		b.settled(seq, deferred)
		b.deadLetter(msg, herr, deliveries)
	default:
		b.nak(msg, b.cfg.RetryDelay(deliveries))
	}
}

func headers(h natsgo.Header) iter.Seq2[string, string] {
	if len(h) == 0 {
		return nil
	}
	return func(yield func(string, string) bool) {
		for k, vs := range h {
			if len(vs) > 0 && !yield(k, vs[0]) {
				return
			}
		}
	}
}
