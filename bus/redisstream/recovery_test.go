package redisstream_test

import (
	"testing"

	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/redisstream"
)

// With the default settings, the entry held by a subscriber whose
// connection dies is delivered to another subscriber of the group once
// idle for the claim idle time.
func TestDeadSubscriberRecoveredWithDefaults(t *testing.T) {
	rdb := client(t, "survivor")
	doomed := client(t, "doomed")
	prefix := bustest.UniqueName(t, "redis")
	cleanup(t, rdb, prefix)
	survivor, err := redisstream.NewBus(rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	dying, err := redisstream.NewBus(doomed, prefix)
	if err != nil {
		t.Fatal(err)
	}
	bustest.DeadSubscriberRecovered(t, survivor, dying, func() { doomed.Close() })
}
