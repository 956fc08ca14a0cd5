package outbox_test

import (
	"context"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer/bus/nats"
)

// newNATSBus makes a bus/nats Bus on stream over nc, the bus the relay
// tests publish to, failing t if it cannot.
func newNATSBus(t testing.TB, ctx context.Context, nc *natsgo.Conn, stream string, opts ...nats.Option) *nats.Bus {
	t.Helper()
	bus, err := nats.NewBus(ctx, nc, stream, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return bus
}

// streamMsgs returns how many messages stream holds.
func streamMsgs(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}
