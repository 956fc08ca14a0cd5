package storetest

import (
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// CompleteAtOnce claims each of cs on s, each to be acquired, then
// completes them all at once, a goroutine each, so that the store may
// gather the Completes in batches.
func CompleteAtOnce(t *testing.T, s synclayer.Store, cs []idempotency.Claim) {
	t.Helper()
	ctx := t.Context()
	toks := make([]string, len(cs))
	for i, c := range cs {
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim %d: %v, %v", i, r.Status, err)
		}
		toks[i] = r.Token
	}
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			if err := s.Complete(ctx, c, toks[i]); err != nil {
				t.Errorf("complete %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}
