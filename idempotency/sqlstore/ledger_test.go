package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestLedgerConformance runs synclayertest.TestLedger on every backend,
// every subtest on one table (the suite keeps them apart by connector),
// and synclayertest.TestStoreLedger with group commit on and off, so that
// the batch statements and the single-row ones both write the entry.
func TestLedgerConformance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		var dropped sync.Map
		table := uniqueTable("sqlledger")
		s, _ := openStore(t, b, table, &dropped)
		synclayertest.TestLedger(t, func(t *testing.T) synclayer.Ledger { return s })
		for _, mode := range []struct {
			name string
			opts []sqlstore.Option
		}{{"batched", nil}, {"unbatched", []sqlstore.Option{sqlstore.WithMaxBatch(sqlstore.NoGroupCommit)}}} {
			t.Run("Complete/"+mode.name, func(t *testing.T) {
				synclayertest.TestStoreLedger(t, func(t *testing.T, ns string) synclayer.Store {
					s, _ := openStore(t, b, ns, &dropped, mode.opts...)
					return s
				})
			})
		}
	})
}

// ledgerStore opens a store over a fresh table of b named after prefix,
// migrated, and dropped when the test ends.
func ledgerStore(t *testing.T, b backend, prefix string) *sqlstore.Store {
	t.Helper()
	var dropped sync.Map
	s, _ := openStore(t, b, uniqueTable(prefix), &dropped)
	return s
}

// TestLedgerConcurrentCompletes writes the entries of 64 keys with
// concurrent Completes, so that they go in multi-row batches (PostgreSQL's
// arrays, MariaDB's JSON document), each key with and without a
// done-marker: every entry holds its own event and hash.
func TestLedgerConcurrentCompletes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		s := ledgerStore(t, b, "sqlledgerc")
		ctx := t.Context()
		const n = 64
		claims := make([]idempotency.Claim, n)
		for i := range n {
			claims[i] = idempotency.Claim{Connector: "c", Key: string(rune('A' + i)), EventID: "e" + string(rune('A'+i)),
				Version: int64(i + 1), LeaseTTL: time.Minute, Hash: "h" + string(rune('A'+i))}
			if i%2 == 0 {
				claims[i].Retention = time.Hour
			}
		}
		storetest.CompleteAtOnce(t, s, claims)
		hs, err := s.Holdings(ctx, "c", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != n {
			t.Fatalf("Holdings after %d completes: %d entries", n, len(hs))
		}
		for i, h := range hs {
			c := claims[i]
			if h.Key != c.Key || h.Version != c.Version || h.EventID != c.EventID || h.Hash != c.Hash || h.PushedAt.IsZero() {
				t.Errorf("entry %d = %+v, want key %q v%d, event %q, hash %q, a PushedAt", i, h, c.Key, c.Version, c.EventID, c.Hash)
			}
		}
		if sum, err := s.Summary(ctx, "c"); err != nil || sum.Keys != n || sum.Unverified != n || sum.Behind != 0 {
			t.Errorf("Summary = %+v, %v; want %d keys, all unverified, none behind", sum, err, n)
		}
	})
}

// TestLedgerMigratesOldTable: Migrate adds the ledger's columns to a table
// made before them, keeping its rows, and running it again changes
// nothing.
func TestLedgerMigratesOldTable(t *testing.T) {
	old := map[string]string{
		"postgres": `CREATE TABLE %s (id bytea PRIMARY KEY, kind char(1) NOT NULL, connector bytea NOT NULL, name bytea NOT NULL,
	version bigint NOT NULL DEFAULT 0, token text NOT NULL DEFAULT '', lease_until bigint NOT NULL DEFAULT 0, last_event bytea,
	done_until bigint NOT NULL DEFAULT 0, purge_at bigint NOT NULL)`,
		"mariadb": `CREATE TABLE %s (id VARBINARY(40) NOT NULL PRIMARY KEY, kind CHAR(1) CHARACTER SET ascii NOT NULL, connector BLOB NOT NULL,
	name MEDIUMBLOB NOT NULL, version BIGINT NOT NULL DEFAULT 0, token VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0, last_event VARBINARY(40) NULL, done_until BIGINT NOT NULL DEFAULT 0, purge_at BIGINT NOT NULL) ENGINE=InnoDB`,
		"sqlite": `CREATE TABLE %s (id BLOB PRIMARY KEY, kind TEXT NOT NULL, connector BLOB NOT NULL, name BLOB NOT NULL,
	version INTEGER NOT NULL DEFAULT 0, token TEXT NOT NULL DEFAULT '', lease_until INTEGER NOT NULL DEFAULT 0, last_event BLOB,
	done_until INTEGER NOT NULL DEFAULT 0, purge_at INTEGER NOT NULL) WITHOUT ROWID`,
	}
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		table := uniqueTable("sqlledgerm")
		db := openDB(t, b, table)
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, fmt.Sprintf(old[b.name], table)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dropTable(t, b, table) })
		oldRow := map[string]string{"postgres": `'\x01'::bytea`, "mariadb": "X'01'", "sqlite": "X'01'"}[b.name]
		if _, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (id, kind, connector, name, purge_at) VALUES (%s, 'e', %[2]s, %[2]s, 0)",
			table, oldRow)); err != nil {
			t.Fatal(err)
		}
		s, err := sqlstore.New(db, b.dialect, table)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate of a table without the ledger's columns: %v", err)
			}
		}
		if n := countRows(t, db, table); n != 1 {
			t.Errorf("%d rows after Migrate, want the old one", n)
		}
		c := idempotency.Claim{Connector: "c", Key: "k", EventID: "e", Version: 4, LeaseTTL: time.Minute, Retention: time.Hour, Hash: "h"}
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim after Migrate: %v, %v", r.Status, err)
		}
		if err := s.Complete(context.WithoutCancel(ctx), c, r.Token); err != nil {
			t.Fatal(err)
		}
		if h, ok, err := s.Holding(ctx, "c", "k"); err != nil || !ok || h.Version != 4 || h.Hash != "h" {
			t.Errorf("Holding after Complete on a migrated table = %+v, %v, %v; want v4, hash \"h\"", h, ok, err)
		}
	})
}

// TestCleanupKeepsEntryBehind: Cleanup keeps a key row whose ledger entry
// is behind, as the Redis and memory stores keep theirs, however the
// lease calls since left its purge time. A dispatcher whose push of
// version 5 fails twice claims, releases and wants 5 each time: the second
// Want does not raise the wanted version, and the claim and release in
// between had made the row purgeable. A drift found by Verified keeps the
// row too. Once a Complete brings the entry level, Cleanup may delete it.
func TestCleanupKeepsEntryBehind(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		s := ledgerStore(t, b, "sqlpin")
		ctx := t.Context()
		cleanup := func() {
			t.Helper()
			if _, err := s.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
		}
		failedPush := idempotency.Claim{Connector: "c", Key: "wanted", EventID: "e5", Version: 5, LeaseTTL: time.Minute, Retention: time.Hour}
		for attempt := 1; attempt <= 2; attempt++ {
			r, err := s.Claim(ctx, failedPush)
			if err != nil || r.Status != idempotency.ClaimAcquired {
				t.Fatalf("claim, attempt %d: %v, %v", attempt, r.Status, err)
			}
			if err := s.Release(ctx, failedPush, r.Token); err != nil {
				t.Fatal(err)
			}
			if err := s.Want(ctx, "c", "wanted", 5); err != nil {
				t.Fatal(err)
			}
		}
		// Retention 0: the key row is purgeable once its lease is gone.
		drifted := idempotency.Claim{Connector: "c", Key: "drifted", EventID: "d1", Version: 1, LeaseTTL: time.Minute}
		r, err := s.Claim(ctx, drifted)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim: %v, %v", r.Status, err)
		}
		if err := s.Complete(ctx, drifted, r.Token); err != nil {
			t.Fatal(err)
		}
		if err := s.Verified(ctx, "c", "drifted", time.Now(), synclayer.DriftMissing); err != nil {
			t.Fatal(err)
		}
		cleanup()
		if h, ok, err := s.Holding(ctx, "c", "wanted"); err != nil || !ok || !h.Behind() || h.Wanted != 5 {
			t.Errorf("Holding of the key wanted at 5 after Cleanup = %+v, %v, %v; want the entry, behind", h, ok, err)
		}
		if h, ok, err := s.Holding(ctx, "c", "drifted"); err != nil || !ok || !h.Behind() {
			t.Errorf("Holding of the key found missing after Cleanup = %+v, %v, %v; want the entry, behind", h, ok, err)
		}
		for _, c := range []idempotency.Claim{
			{Connector: "c", Key: "wanted", EventID: "e5", Version: 5, LeaseTTL: time.Minute},
			{Connector: "c", Key: "drifted", EventID: "d2", Version: 2, LeaseTTL: time.Minute},
		} {
			r, err := s.Claim(ctx, c)
			if err != nil || r.Status != idempotency.ClaimAcquired {
				t.Fatalf("claim of %s: %v, %v", c.Key, r.Status, err)
			}
			if err := s.Complete(ctx, c, r.Token); err != nil {
				t.Fatal(err)
			}
		}
		cleanup()
		for _, key := range []string{"wanted", "drifted"} {
			if h, ok, err := s.Holding(ctx, "c", key); err != nil || ok {
				t.Errorf("Holding of %s, level and past its retention, after Cleanup = %+v, %v, %v; want none", key, h, ok, err)
			}
		}
	})
}
