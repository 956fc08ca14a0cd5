package nats

import (
	"context"
	"fmt"
	"strings"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

func validSubject(s string) bool {
	if s == "" {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n*>") {
			return false
		}
	}
	return true
}

// checkType validates an event type for use in a subject.
func checkType(t string) error {
	if !validSubject(t) || strings.ContainsAny(t, "\x00") {
		return fmt.Errorf("%w: %q", ErrInvalidType, t)
	}
	return nil
}

// Publish sends ev to the stream and waits for JetStream to store it.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	if b.subs.Closed() {
		return fmt.Errorf("nats: publish %q: %w", ev.ID, ErrClosed)
	}
	msg, err := b.message(ev)
	if err != nil {
		return err
	}
	if _, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID)); err != nil {
		return fmt.Errorf("nats: publish %q: %w", ev.ID, err)
	}
	return nil
}

// message is ev as Publish and PublishBatch send it, or the permanent
// error they return for an event that cannot be sent.
func (b *Bus) message(ev synclayer.Event) (*natsgo.Msg, error) {
	if err := checkType(ev.Type); err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("nats: publish %q: %w", ev.ID, err))
	}
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("nats: publish %q: %w", ev.ID, err))
	}
	return &natsgo.Msg{
		Subject: b.Subject(ev.Type),
		Data:    body,
		Header:  natsgo.Header{"Content-Type": []string{cloudevents.ContentType}},
	}, nil
}
