package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// The freshness ledger ([synclayer.Ledger]) lives in the key rows (kind
// 'k') of the store's table, in columns of their own:
//
//	event_id    bytea                  -- the event of the last push (NULL: none)
//	hash        bytea NOT NULL         -- the hash of its payload ('' when none)
//	pushed_at   bigint NOT NULL        -- when, Unix ms (0: never pushed)
//	wanted      bigint NOT NULL        -- the version wanted and not pushed (0: none)
//	wanted_at   bigint NOT NULL        -- since when, Unix ms
//	verified_at bigint NOT NULL        -- the last check, Unix ms (0: never)
//	drift       smallint NOT NULL      -- its result, a synclayer.Drift (0: none)
//
// The version is the key row's own: the version the partner was brought
// to is the one the store applied. A key row is a ledger entry once one of
// pushed_at, wanted_at and verified_at is set: a row that a claim made and
// a release left is not. Complete writes event_id, hash and pushed_at (the
// database's clock) in its own statement.

var _ synclayer.Ledger = (*Store)(nil)

// ledgered reports whether Complete writes the ledger entry of
// connector's keys: not for synclayer's own namespaces, whose names start
// with '$' (a registered connector's never does), such as the
// announcements' done-markers, which no partner holds.
func ledgered(connector string) bool { return !strings.HasPrefix(connector, "$") }

// ledgerColumns returns the ledger's columns and their types in d.
func ledgerColumns(d *Dialect) [][2]string {
	bin, hash, big, small, empty := "bytea", "bytea", "bigint", "smallint", "''"
	switch d {
	case MariaDB:
		bin, hash, big, small = "MEDIUMBLOB NULL", "VARBINARY(255)", "BIGINT", "SMALLINT"
	case SQLite:
		bin, hash, big, small, empty = "BLOB", "BLOB", "INTEGER", "INTEGER", "X''"
	}
	num := func(t string) string { return t + " NOT NULL DEFAULT 0" }
	return [][2]string{
		{"event_id", bin}, {"hash", hash + " NOT NULL DEFAULT " + empty},
		{"pushed_at", num(big)}, {"wanted", num(big)}, {"wanted_at", num(big)},
		{"verified_at", num(big)}, {"drift", num(small)},
	}
}

// migrateLedger adds the ledger's columns to a table made before them.
// A probe that reads them all finds out, outside any transaction, whether
// there is anything to do; PostgreSQL and MariaDB then add the missing
// ones with ADD COLUMN IF NOT EXISTS, SQLite (which has no IF NOT EXISTS
// there) one column at a time, taking "duplicate column name" as done.
func (s *Store) migrateLedger(ctx context.Context) error {
	cols := ledgerColumns(s.dialect)
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c[0]
	}
	probe := func() error {
		rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(names, ", ")+" FROM "+s.table+" WHERE 1 = 0")
		if err != nil {
			return err
		}
		return rows.Close()
	}
	if probe() == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: migrate %s ledger columns: %w", s.table, err)
	}
	if s.dialect != SQLite {
		adds := make([]string, len(cols))
		for i, c := range cols {
			adds[i] = "ADD COLUMN IF NOT EXISTS " + c[0] + " " + c[1]
		}
		return migrate(ctx, s.db, s.dialect, "migrate "+s.table+" ledger columns", s.table,
			[]string{"ALTER TABLE %s " + strings.Join(adds, ", ")})
	}
	for _, c := range cols {
		err := s.retry(ctx, func() error {
			_, err := s.db.ExecContext(ctx, "ALTER TABLE "+s.table+" ADD COLUMN "+c[0]+" "+c[1])
			if err != nil && strings.Contains(err.Error(), "duplicate column name") {
				return nil // another process added it
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlstore: migrate %s ledger column %s: %w", s.table, c[0], err)
		}
	}
	return nil
}

// ledgerStmts are the ledger's statements, compiled for a store.
type ledgerStmts struct {
	pushed, want, verified, holding, holdings, summary, oldest stmt
}

// Conditions over a key row, in every dialect.
var (
	// entryCond: the row is a ledger entry.
	entryCond = "(pushed_at <> 0 OR wanted_at <> 0 OR verified_at <> 0)"
	// behindCond: Holding.Behind.
	behindCond = fmt.Sprintf("(wanted > version OR drift IN (%d, %d, %d))",
		synclayer.DriftMissing, synclayer.DriftDiffers, synclayer.DriftUnexpected)
	// unverifiedCond: the entry counts as unverified in a summary.
	unverifiedCond = "(verified_at = 0 OR verified_at < pushed_at)"
)

// neverPurge is the purge_at of a row that Cleanup must keep: a key row
// that only the ledger wrote, or whose newest version is wanted.
var neverPurge = strconv.FormatInt(math.MaxInt64, 10)

var ledgerTemplates = struct{ pushed, want, verified, holding, holdings, summary, oldest string }{
	pushed: `INS (id, kind, connector, name, version, token, lease_until, done_until, purge_at, event_id, hash, pushed_at)
VALUES (B(:kid), 'k', B(:conn), B(:key), GREATEST(I(:ver), 0), '', 0, 0, NEVER, B(:ename), B(:hash), I(:at))
UPS
	LEDGERSET
	version = GREATEST(K.version, X(version))`,
	// RAISE: the version is above the held and the wanted one.
	want: `INS (id, kind, connector, name, version, token, lease_until, done_until, purge_at, wanted, wanted_at)
VALUES (B(:kid), 'k', B(:conn), B(:key), 0, '', 0, 0, NEVER, I(:ver), :now)
UPS
	wanted_at = CASE WHEN RAISE AND K.wanted = 0 THEN X(wanted_at) ELSE K.wanted_at END,
	purge_at = CASE WHEN RAISE THEN NEVER ELSE K.purge_at END,
	wanted = CASE WHEN RAISE THEN X(wanted) ELSE K.wanted END`,
	// A check dated before the push (STALE) changes nothing. Both
	// assignments test the proposed verified_at, not the stored one, so
	// MariaDB's left-to-right assignment does not change the test.
	verified: `INS (id, kind, connector, name, version, token, lease_until, done_until, purge_at, verified_at, drift)
VALUES (B(:kid), 'k', B(:conn), B(:key), 0, '', 0, 0, NEVER, I(:at), I(:drift))
UPS
	verified_at = CASE WHEN STALE THEN K.verified_at ELSE X(verified_at) END,
	drift = CASE WHEN STALE THEN K.drift ELSE X(drift) END`,
	holding: `SELECT version, event_id, hash, pushed_at, wanted, wanted_at, verified_at, drift FROM %[1]s
WHERE id = B(:kid) AND ENTRY`,
	holdings: `SELECT name, version, event_id, hash, pushed_at, wanted, wanted_at, verified_at, drift FROM %[1]s
WHERE kind = 'k' AND connector = B(:conn) AND name > B(:after) AND ENTRY ORDER BY name LIMIT I(:lim)`,
	summary: `SELECT COUNT(*), COALESCE(SUM(CASE WHEN BEHIND THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN UNVERIFIED THEN 1 ELSE 0 END), 0),
	COALESCE(MIN(CASE WHEN BEHIND THEN CASE WHEN wanted > version THEN wanted_at ELSE verified_at END END), 0)
FROM %[1]s WHERE kind = 'k' AND connector = B(:conn) AND ENTRY`,
	oldest: `SELECT name, pushed_at FROM %[1]s WHERE kind = 'k' AND connector = B(:conn) AND ENTRY AND UNVERIFIED
ORDER BY pushed_at, name LIMIT 1`,
}

var (
	castBytes = regexp.MustCompile(`B\((:[a-z]+)\)`)
	castInt   = regexp.MustCompile(`I\((:[a-z]+)\)`)
	excluded  = regexp.MustCompile(`X\(([a-z_]+)\)`)
)

// ledgerSQL turns a ledger template into d's SQL (still to be compiled):
// INS and UPS open the upsert, K. is the stored row, X(col) the proposed
// value, B(:p) and I(:p) a binary and an integer parameter (PostgreSQL
// casts them), GREATEST the larger of two.
func (d *Dialect) ledgerSQL(tmpl string) string {
	raise := "(X(wanted) > K.version AND X(wanted) > K.wanted)"
	stale := "(X(verified_at) < K.pushed_at)"
	tmpl = strings.NewReplacer("ENTRY", entryCond, "BEHIND", behindCond, "UNVERIFIED", unverifiedCond,
		"NEVER", neverPurge, "RAISE", raise, "STALE", stale, "LEDGERSET", d.ledgerSet()).Replace(tmpl)
	switch d {
	case Postgres:
		tmpl = castBytes.ReplaceAllString(tmpl, "CAST($1 AS bytea)")
		tmpl = castInt.ReplaceAllString(tmpl, "CAST($1 AS bigint)")
		tmpl = excluded.ReplaceAllString(tmpl, "EXCLUDED.$1")
		return strings.NewReplacer("INS", "INSERT INTO %[1]s AS k", "UPS", "ON CONFLICT (id) DO UPDATE SET", "K.", "k.").Replace(tmpl)
	case MariaDB:
		tmpl = castBytes.ReplaceAllString(tmpl, "$1")
		tmpl = castInt.ReplaceAllString(tmpl, "$1")
		tmpl = excluded.ReplaceAllString(tmpl, "VALUES($1)")
		return strings.NewReplacer("INS", "INSERT INTO %[1]s", "UPS", "ON DUPLICATE KEY UPDATE", "K.", "").Replace(tmpl)
	default: // SQLite
		tmpl = castBytes.ReplaceAllString(tmpl, "$1")
		tmpl = castInt.ReplaceAllString(tmpl, "$1")
		tmpl = excluded.ReplaceAllString(tmpl, "excluded.$1")
		return strings.NewReplacer("INS", "INSERT INTO %[1]s", "UPS", "ON CONFLICT (id) DO UPDATE SET", "K.", "", "GREATEST(", "max(").Replace(tmpl)
	}
}

// ledgerSet returns the assignments, each followed by a comma, with which
// an upsert of a key row by a push (Complete, Pushed) merges it into the
// entry by the rule of [synclayer.Ledger.Pushed]: a push of version 0 or
// of at least the stored version replaces event_id, hash and pushed_at,
// clears wanted once the version reaches it and a drift other than
// InSync; an older one changes none of them. They come before the
// assignment of version: MariaDB assigns left to right, each seeing the
// ones before. The proposed row of a done-marker has pushed_at 0, so a
// done-marker's ledger columns stay as they are.
func (d *Dialect) ledgerSet() string { return ledgerSet(d.name) }

// ledgerSet returns the assignments of [Dialect.ledgerSet] in the dialect
// of that name (the batch builders, which the dialects name, cannot name
// the dialects back).
func ledgerSet(dialect string) string {
	apply := "(X(pushed_at) <> 0 AND (X(version) = 0 OR X(version) >= K.version))"
	reached := "K.wanted <= GREATEST(K.version, X(version))"
	s := `wanted_at = CASE WHEN APPLY AND REACHED THEN 0 ELSE K.wanted_at END,
	wanted = CASE WHEN APPLY AND REACHED THEN 0 ELSE K.wanted END,
	drift = CASE WHEN APPLY AND K.drift <> INSYNC THEN 0 ELSE K.drift END,
	event_id = CASE WHEN APPLY THEN X(event_id) ELSE K.event_id END,
	hash = CASE WHEN APPLY THEN X(hash) ELSE K.hash END,
	pushed_at = CASE WHEN APPLY THEN X(pushed_at) ELSE K.pushed_at END,
	`
	s = strings.NewReplacer("APPLY", apply, "REACHED", reached, "INSYNC", strconv.Itoa(int(synclayer.InSync))).Replace(s)
	switch dialect {
	case "postgres":
		s = excluded.ReplaceAllString(s, "EXCLUDED.$1")
		return strings.ReplaceAll(s, "K.", "k.")
	case "mariadb":
		s = excluded.ReplaceAllString(s, "VALUES($1)")
		return strings.ReplaceAll(s, "K.", "")
	default:
		s = excluded.ReplaceAllString(s, "excluded.$1")
		return strings.NewReplacer("K.", "", "GREATEST(", "max(").Replace(s)
	}
}

// compileLedger compiles the ledger's statements for s.
func (s *Store) compileLedger() {
	d, t := s.dialect, s.table
	c := func(tmpl string) stmt { return d.compile(d.ledgerSQL(tmpl), t) }
	s.led = ledgerStmts{
		pushed: c(ledgerTemplates.pushed), want: c(ledgerTemplates.want), verified: c(ledgerTemplates.verified),
		holding: c(ledgerTemplates.holding), holdings: c(ledgerTemplates.holdings),
		summary: c(ledgerTemplates.summary), oldest: c(ledgerTemplates.oldest),
	}
}

// keyParams returns the parameters that name the key row of (connector, key).
func keyParams(connector, key string) [nParams]any {
	var v [nParams]any
	kid, _ := rowIDs(idempotency.Claim{Connector: connector, Key: key})
	v[pKID], v[pConn], v[pKey] = kid, bytesOf(connector), bytesOf(key)
	return v
}

// unixMilli returns t in Unix ms, or now for the zero time.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UnixMilli()
}

// fromMilli returns the time of a stored Unix ms, the zero time for 0.
func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// ledgerExec runs the single statement st of the ledger.
func (s *Store) ledgerExec(ctx context.Context, what, connector, key string, st *stmt, v *[nParams]any) error {
	if err := s.retry(ctx, func() error { return s.exec(ctx, st, v) }); err != nil {
		return s.ledgerFail(ctx, what, connector, key, err)
	}
	return nil
}

// ledgerFail wraps err as fail does, for a ledger call.
func (s *Store) ledgerFail(ctx context.Context, what, connector, key string, err error) error {
	msg := fmt.Sprintf("sqlstore: %s ledger %s of connector %s", s.dialect.name, what, quote(connector))
	if key != "" {
		msg += ", key " + quote(key)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w (%w)", msg, cerr, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// Pushed implements [synclayer.Ledger] in one statement on the key's row;
// a zero PushedAt is taken as now. The Dispatcher never calls it: Complete
// writes the entry. A row it makes is kept by Cleanup until a Complete
// gives the key a retention.
func (s *Store) Pushed(ctx context.Context, h synclayer.Holding) error {
	v := keyParams(h.Connector, h.Key)
	v[pVer], v[pEName], v[pHash], v[pAt] = h.Version, bytesOf(h.EventID), bytesOf(h.Hash), unixMilli(h.PushedAt)
	return s.ledgerExec(ctx, "pushed", h.Connector, h.Key, &s.led.pushed, &v)
}

// Want implements [synclayer.Ledger] in one statement on the key's row,
// stamped with the database's clock. A key that wants a version is kept
// by Cleanup until a Complete. A version of 0 or less changes nothing (and,
// unlike the MemoryStore, makes no empty entry).
func (s *Store) Want(ctx context.Context, connector, key string, version int64) error {
	if err := ctx.Err(); err != nil {
		return s.ledgerFail(ctx, "want", connector, key, err)
	}
	if version <= 0 {
		return nil
	}
	v := keyParams(connector, key)
	v[pVer] = version
	return s.ledgerExec(ctx, "want", connector, key, &s.led.want, &v)
}

// Verified implements [synclayer.Ledger] in one statement on the key's
// row; a zero at is taken as now. A check dated before the row's
// pushed_at, in Unix ms, changes nothing.
func (s *Store) Verified(ctx context.Context, connector, key string, at time.Time, d synclayer.Drift) error {
	v := keyParams(connector, key)
	v[pAt], v[pDrift] = unixMilli(at), int64(d)
	return s.ledgerExec(ctx, "verified", connector, key, &s.led.verified, &v)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanHolding reads the ledger columns of a row into h.
func scanHolding(r scanner, h *synclayer.Holding, name *[]byte) error {
	var (
		event, hash                          []byte
		pushed, wanted, wantedAt, verifiedAt int64
		drift                                int64
	)
	dest := []any{&h.Version, &event, &hash, &pushed, &wanted, &wantedAt, &verifiedAt, &drift}
	if name != nil {
		dest = append([]any{name}, dest...)
	}
	if err := r.Scan(dest...); err != nil {
		return err
	}
	h.EventID, h.Hash, h.PushedAt = string(event), string(hash), fromMilli(pushed)
	h.Wanted, h.WantedAt = wanted, fromMilli(wantedAt)
	h.VerifiedAt, h.Drift = fromMilli(verifiedAt), synclayer.Drift(drift)
	return nil
}

// Holding implements [synclayer.Ledger]: one read of the key's row by its
// primary key.
func (s *Store) Holding(ctx context.Context, connector, key string) (synclayer.Holding, bool, error) {
	v := keyParams(connector, key)
	h := synclayer.Holding{Connector: connector, Key: key}
	found := false
	err := s.retry(ctx, func() error {
		ps, err := s.prepare(ctx, &s.led.holding)
		if err != nil {
			return err
		}
		err = scanHolding(ps.QueryRowContext(ctx, s.led.holding.args(&v)...), &h, nil)
		found = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return synclayer.Holding{}, false, s.ledgerFail(ctx, "holding", connector, key, err)
	}
	if !found {
		return synclayer.Holding{}, false, nil
	}
	return h, true, nil
}

// Holdings implements [synclayer.Ledger]. The table has no index on
// (connector, name): each page scans the table's key rows, which suits a
// reconciler's walk at its own pace, not a hot path. A limit of 0 or less
// returns every entry after after. On MariaDB, keys that share their
// first max_sort_length bytes (1,024 by default) may come out of order.
func (s *Store) Holdings(ctx context.Context, connector, after string, limit int) ([]synclayer.Holding, error) {
	var v [nParams]any
	v[pConn], v[pAfter], v[pLim] = bytesOf(connector), bytesOf(after), int64(limit)
	if limit <= 0 {
		v[pLim] = int64(math.MaxInt64)
	}
	var out []synclayer.Holding
	err := s.retry(ctx, func() error {
		out = out[:0]
		ps, err := s.prepare(ctx, &s.led.holdings)
		if err != nil {
			return err
		}
		rows, err := ps.QueryContext(ctx, s.led.holdings.args(&v)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			h := synclayer.Holding{Connector: connector}
			var name []byte
			if err := scanHolding(rows, &h, &name); err != nil {
				return err
			}
			h.Key = string(name)
			out = append(out, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.ledgerFail(ctx, "holdings", connector, "", err)
	}
	return out, nil
}

// Summary implements [synclayer.Ledger] in two aggregate reads over the
// table's key rows (a scan, as for Holdings). Among unverified entries
// pushed at the same millisecond, the first key in byte order is the
// oldest.
func (s *Store) Summary(ctx context.Context, connector string) (synclayer.LedgerSummary, error) {
	var v [nParams]any
	v[pConn] = bytesOf(connector)
	sum := synclayer.LedgerSummary{Connector: connector}
	err := s.retry(ctx, func() error {
		ps, err := s.prepare(ctx, &s.led.summary)
		if err != nil {
			return err
		}
		var keys, behind, unverified, behindAt int64
		if err := ps.QueryRowContext(ctx, s.led.summary.args(&v)...).Scan(&keys, &behind, &unverified, &behindAt); err != nil {
			return err
		}
		sum.Keys, sum.Behind, sum.Unverified, sum.OldestBehindAt = int(keys), int(behind), int(unverified), fromMilli(behindAt)
		sum.OldestUnverified, sum.OldestUnverifiedAt = "", time.Time{}
		if unverified == 0 {
			return nil
		}
		if ps, err = s.prepare(ctx, &s.led.oldest); err != nil {
			return err
		}
		var name []byte
		var at int64
		if err := ps.QueryRowContext(ctx, s.led.oldest.args(&v)...).Scan(&name, &at); err != nil {
			return err
		}
		sum.OldestUnverified, sum.OldestUnverifiedAt = string(name), fromMilli(at)
		return nil
	})
	if err != nil {
		return synclayer.LedgerSummary{}, s.ledgerFail(ctx, "summary", connector, "", err)
	}
	return sum, nil
}
