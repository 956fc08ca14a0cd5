package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// A batch completes a claim in synclayer's own namespace ("$announce", an
// event's announcements) with the key's row alone, and a redelivery of it
// is still done; a registered connector's completes keep their done-marker
// rows. SQLite runs a batch as single-row statements, which write the
// marker row either way.
func TestOwnNamespaceBatchWritesNoMarkerRow(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		for _, conn := range []string{"$announce", "records"} {
			table := uniqueTable("sqlown")
			var dropped sync.Map
			// One batch in flight at a time: the first complete goes alone,
			// held until the others have queued, which then go as one batch.
			s, db := openStore(t, b, table, &dropped, sqlstore.WithInflight(1))
			h := holdFirstBatch(s, "complete")
			const n = 8
			ctx := context.Background()
			claims := make([]idempotency.Claim, n)
			tokens := make([]string, n)
			for i := range claims {
				claims[i] = idempotency.Claim{Connector: conn, Key: fmt.Sprint("evt-", i), EventID: fmt.Sprint("SyncCompleted/evt-", i),
					LeaseTTL: time.Minute, Retention: time.Hour}
				r, err := s.Claim(ctx, claims[i])
				if err != nil || r.Status != idempotency.ClaimAcquired {
					t.Fatalf("%s: claim %d: %v, %v", conn, i, r.Status, err)
				}
				tokens[i] = r.Token
			}
			var wg sync.WaitGroup
			for i := range claims {
				wg.Go(func() {
					if err := s.Complete(ctx, claims[i], tokens[i]); err != nil {
						t.Errorf("%s: complete %d: %v", conn, i, err)
					}
				})
				if i == 0 {
					<-h.entered
				}
			}
			waitPending(t, s, "complete", n-1)
			close(h.release)
			wg.Wait()

			var markers int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE kind = 'e'").Scan(&markers); err != nil {
				t.Fatal(err)
			}
			want := n // one marker row per complete
			if conn == "$announce" && b.dialect != sqlstore.SQLite {
				want = 1 // the lone first one's; the batch of the other 7 wrote none
			}
			if markers != want {
				t.Errorf("%s: %d done-marker rows after %d completes; want %d", conn, markers, n, want)
			}
			for i, c := range claims {
				if r, err := s.Claim(ctx, c); err != nil || r.Status != idempotency.ClaimDone {
					t.Errorf("%s: redelivery %d: %v, %v; want done", conn, i, r.Status, err)
				}
			}
		}
	})
}
