package nats

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// Headers of a dead letter, besides the original message's own.
const (
	// HeaderReason holds why the message was dead-lettered: the handler's
	// error, or why the message is not a valid event.
	HeaderReason = "Synclayer-Dead-Reason"
	// HeaderDeliveries holds how many times the message was delivered.
	HeaderDeliveries = "Synclayer-Deliveries"
	// HeaderSubject holds the subject the message was published on.
	HeaderSubject = "Synclayer-Subject"
	// HeaderSequence holds the message's sequence number in the stream.
	HeaderSequence = "Synclayer-Stream-Sequence"
)

// deadLetter publishes msg to the dead-letter subject with the reason, then
// terminates it. If the dead letter cannot be published, msg is redelivered
// later instead.
func (b *Bus) deadLetter(msg jetstream.Msg, reason error, deliveries int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dl := &natsgo.Msg{Subject: b.DeadLetterSubject(), Data: msg.Data(), Header: natsgo.Header{}}
	for k, vs := range msg.Headers() {
		if !strings.HasPrefix(k, "Nats-") {
			dl.Header[k] = vs
		}
	}
	dl.Header.Set(HeaderReason, oneLine.Replace(deliver.Reason(reason)))
	dl.Header.Set(HeaderDeliveries, strconv.Itoa(deliveries))
	dl.Header.Set(HeaderSubject, msg.Subject())
	var opts []jetstream.PublishOpt
	if md, err := msg.Metadata(); err == nil {
		seq := strconv.FormatUint(md.Sequence.Stream, 10)
		dl.Header.Set(HeaderSequence, seq)
		// The group is part of the id: each group that gives up on the
		// message has its own dead letter, and JetStream drops only a
		// second one of the same group as a duplicate.
		opts = append(opts, jetstream.WithMsgID("deadletter-"+b.cfg.Group+"-"+seq))
	}
	if _, err := b.js.PublishMsg(ctx, dl, opts...); err != nil {
		if b.cfg.Logger != nil {
			b.cfg.Logger.Error("nats: dead letter not published; the message will be redelivered", "subject", msg.Subject(), "reason", reason, "err", fmt.Errorf("%w: %w", ErrDeadLetter, err))
		}
		b.nak(msg, b.cfg.RedeliveryDelay)
		return
	}
	if err := msg.Term(); err != nil && b.cfg.Logger != nil {
		b.cfg.Logger.Warn("nats: term failed after dead-lettering", "subject", msg.Subject(), "err", err)
	}
	if b.cfg.Logger != nil {
		b.cfg.Logger.Warn("nats: message dead-lettered", "subject", msg.Subject(), "deliveries", deliveries, "reason", reason)
	}
}

// oneLine keeps a reason on one line: a header value cannot hold a line
// break.
var oneLine = strings.NewReplacer("\r", " ", "\n", " ")

// DeadLetter is a message the bus gave up on, as [Bus.DeadLetters] reads
// it back.
type DeadLetter struct {
	// Event is the decoded event; zero when the message was not a valid
	// event (then Body holds it).
	Event      synclayer.Event
	Body       []byte
	Header     natsgo.Header
	Reason     string // the handler's last error, or why the message is invalid
	Deliveries int
	Subject    string // the subject the message was published on
}

// DeadLetters reads every dead letter in the stream, oldest first.
func (b *Bus) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	c, err := b.js.OrderedConsumer(ctx, b.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{b.DeadLetterSubject()},
	})
	if err != nil {
		return nil, fmt.Errorf("nats: dead letters: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("nats: dead letters: %w", err)
	}
	want := int(info.NumPending)
	var out []DeadLetter
	for len(out) < want {
		batch, err := c.Fetch(want-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return out, fmt.Errorf("nats: dead letters: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			dl := DeadLetter{Body: msg.Data(), Header: msg.Headers(), Reason: msg.Headers().Get(HeaderReason), Subject: msg.Headers().Get(HeaderSubject)}
			dl.Deliveries, _ = strconv.Atoi(msg.Headers().Get(HeaderDeliveries))
			if ev, err := cloudevents.Decode(msg.Data(), headers(msg.Headers())); err == nil {
				dl.Event = ev
			}
			out = append(out, dl)
		}
		if err := batch.Error(); err != nil {
			return out, fmt.Errorf("nats: dead letters: %w", err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}
