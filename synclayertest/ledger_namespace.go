package synclayertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// storeLedgerOwnNamespace is the part of TestStoreLedger about synclayer's
// own namespaces (connectors whose names begin with '$', such as the
// announcements' "$announce"): claims there, completed concurrently (so a
// store may batch them) and alone, record their versions and done-markers
// and write no ledger entry.
func storeLedgerOwnNamespace(t *testing.T, st synclayer.Store, l synclayer.Ledger) {
	t.Helper()
	ctx := t.Context()
	const conn, n = "$announce", 9
	claims := make([]idempotency.Claim, n)
	toks := make([]string, n)
	for i := range n {
		c := idempotency.Claim{Connector: conn, Key: fmt.Sprint("a", i), EventID: fmt.Sprint("ea", i),
			Version: int64(i % 2), LeaseTTL: time.Minute, Retention: time.Duration(i%3) * time.Hour}
		r, err := st.Claim(ctx, c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim of %s key %d: %v, %v", conn, i, r.Status, err)
		}
		claims[i], toks[i] = c, r.Token
	}
	var wg sync.WaitGroup
	for i := range n - 1 {
		wg.Go(func() {
			if err := st.Complete(ctx, claims[i], toks[i]); err != nil {
				t.Errorf("complete of %s key %d: %v", conn, i, err)
			}
		})
	}
	wg.Wait()
	if err := st.Complete(ctx, claims[n-1], toks[n-1]); err != nil {
		t.Fatalf("complete of %s key %d alone: %v", conn, n-1, err)
	}
	for i, c := range claims {
		if h, ok, err := l.Holding(ctx, c.Connector, c.Key); err != nil || ok {
			t.Errorf("Holding of %s key %d = %+v, %v, %v; want no entry", conn, i, h, ok, err)
		}
		if c.Version != 0 {
			c.EventID += "-next"
			if r, err := st.Claim(ctx, c); err != nil || r.Status != idempotency.ClaimStale {
				t.Errorf("claim of %s key %d again at v%d: %v, %v; want stale (the version was recorded)", conn, i, c.Version, r.Status, err)
			}
		}
	}
	if hs, err := l.Holdings(ctx, conn, "", 0); err != nil || len(hs) != 0 {
		t.Errorf("Holdings of %s = %v, %v; want none", conn, hs, err)
	}
}
