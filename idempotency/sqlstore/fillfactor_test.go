package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// On PostgreSQL the store's table leaves room in its pages for the updates
// of key rows (fillfactor 75), both when Migrate creates it and when the
// table was made before.
func TestPostgresTableLeavesRoomForUpdates(t *testing.T) {
	pg := backends[0]
	fillfactor := func(t *testing.T, table string) string {
		t.Helper()
		db := openDB(t, pg, table)
		var opts string
		err := db.QueryRowContext(context.Background(),
			`SELECT COALESCE(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = to_regclass($1)`, table).Scan(&opts)
		if err != nil {
			t.Fatal(err)
		}
		return opts
	}
	t.Run("new table", func(t *testing.T) {
		table := uniqueTable("sqlff")
		var dropped sync.Map
		openStore(t, pg, table, &dropped)
		if got := fillfactor(t, table); got != "fillfactor=75" {
			t.Fatalf("reloptions %q, want fillfactor=75", got)
		}
	})
	t.Run("table made before", func(t *testing.T) {
		table := uniqueTable("sqlff")
		db := openDB(t, pg, table)
		if _, err := db.ExecContext(context.Background(), fmt.Sprintf(`CREATE TABLE %s (
	id bytea PRIMARY KEY, kind char(1) NOT NULL, connector bytea NOT NULL, name bytea NOT NULL,
	version bigint NOT NULL DEFAULT 0, token text NOT NULL DEFAULT '', lease_until bigint NOT NULL DEFAULT 0,
	last_event bytea, done_until bigint NOT NULL DEFAULT 0, purge_at bigint NOT NULL)`, table)); err != nil {
			t.Fatal(err)
		}
		var dropped sync.Map
		openStore(t, pg, table, &dropped)
		if got := fillfactor(t, table); got != "fillfactor=75" {
			t.Fatalf("reloptions %q after Migrate, want fillfactor=75", got)
		}
	})
}
