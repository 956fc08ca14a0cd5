package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
)

// BenchmarkCycle measures a claim-then-complete cycle (two scripts, two
// round trips) beside the raw client doing one equivalent upsert (a SET
// with a TTL) in the same run, interleaved (see storetest.BenchCycle for
// what it reports).
func BenchmarkCycle(b *testing.B) {
	client := newClient(b)
	prefix := uniquePrefix(b)
	s := openPrefixed(b, client, prefix)
	storetest.BenchCycle(b, s, func(ctx context.Context, i int) error {
		return client.Set(ctx, prefix+"raw:record-"+strconv.Itoa(i), i, time.Hour).Err()
	})
}
