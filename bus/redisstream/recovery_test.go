package redisstream_test

import (
	"testing"

	"github.com/hmsplatform/synclayer/bus/internal/bustest"
)

// With the default settings, the entry held by a subscriber whose
// connection dies is delivered to another subscriber of the group once
// idle for the claim idle time.
func TestDeadSubscriberRecoveredWithDefaults(t *testing.T) {
	rdb := client(t, "survivor")
	doomed := client(t, "doomed")
	prefix := uniquePrefix(t, rdb)
	survivor := newBus(t, rdb, prefix)
	dying := newBus(t, doomed, prefix)
	bustest.DeadSubscriberRecovered(t, survivor, dying, func() { doomed.Close() })
}
