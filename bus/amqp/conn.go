package amqp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// connection returns a live connection, dialling a new one if needed.
// b.mu must be held.
func (b *Bus) connection() (*amqp.Connection, error) {
	if b.closed {
		return nil, ErrClosed
	}
	if b.conn != nil && !b.conn.IsClosed() {
		return b.conn, nil
	}
	c, err := amqp.DialConfig(b.url, b.dial)
	if err != nil {
		return nil, fmt.Errorf("amqp: connect: %w", redact(err, b.url))
	}
	b.conn = c
	b.pub = nil
	b.declared = map[string]bool{}
	return c, nil
}

// channel opens a channel on a live connection, dialling one if needed.
func (b *Bus) channel() (*amqp.Channel, error) {
	b.mu.Lock()
	c, err := b.connection()
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ch, err := c.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqp: open channel: %w", err)
	}
	return ch, nil
}

// redact keeps the URL's password out of an error.
func redact(err error, url string) error {
	if u, perr := amqp.ParseURI(url); perr == nil && u.Password != "" && strings.Contains(err.Error(), u.Password) {
		return errors.New(strings.ReplaceAll(err.Error(), u.Password, "xxxxx"))
	}
	return err
}

// publisher returns the confirm-mode channel for publishing, opening it
// (and the connection) if needed, and declaring the exchange.
// b.mu must be held.
func (b *Bus) publisher(ctx context.Context) (*amqp.Channel, error) {
	c, err := b.connection()
	if err != nil {
		return nil, err
	}
	if b.pub != nil && !b.pub.IsClosed() {
		return b.pub, nil
	}
	ch, err := c.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqp: open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("amqp: confirm mode: %w", err)
	}
	if err := ch.ExchangeDeclare(b.exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("amqp: declare exchange %q: %w", b.exchange, err)
	}
	b.pub = ch
	return ch, nil
}

// send publishes one message with a publisher confirm, reconnecting once if
// the connection was lost.
func (b *Bus) send(ctx context.Context, exchange, key string, msg amqp.Publishing) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		b.mu.Lock()
		var ch *amqp.Channel
		ch, err = b.publisher(ctx)
		if err != nil {
			b.mu.Unlock()
			if errors.Is(err, ErrClosed) {
				return err
			}
			continue
		}
		if exchange == "" {
			err = b.declareQueue(ch, key)
		}
		var conf *amqp.DeferredConfirmation
		if err == nil {
			conf, err = ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
		}
		b.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // the channel or connection died: open new ones
		}
		ok, werr := conf.WaitContext(ctx)
		if werr != nil {
			return werr
		}
		if !ok {
			return ErrNotConfirmed
		}
		return nil
	}
	return err
}
