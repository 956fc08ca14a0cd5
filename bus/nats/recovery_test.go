package nats_test

import (
	"testing"

	"github.com/hmsplatform/synclayer/bus/internal/bustest"
)

// With the default settings, the message held by a subscriber whose
// connection dies is delivered to another subscriber of the group after
// the ack wait.
func TestDeadSubscriberRecoveredWithDefaults(t *testing.T) {
	doomed := connect(t)
	stream := bustest.UniqueName(t, "nats")
	survivor := newBus(t, connect(t), stream)
	dying := openBus(t, doomed, stream)
	bustest.DeadSubscriberRecovered(t, survivor, dying, doomed.Close)
}
