package sqlstore

import (
	"strconv"
	"strings"

	"github.com/hmsplatform/synclayer/internal/sqlerr"
)

// Dialect is the SQL flavour of a database: [Postgres], [MariaDB] or
// [SQLite]. The store's logic is the same for all three; a dialect holds
// its statements, its clock expression and its column types.
type Dialect struct {
	name string
	// numbered: placeholders are numbered with this prefix ($1, ?1), and a
	// parameter used twice is passed once; otherwise every use is a "?".
	numbered string
	// now is the expression for the database's clock in Unix milliseconds,
	// constant within one statement.
	now string
	// schema creates the table; %[1]s is the table name.
	schema []string
	// lock, if set, is run in the migration transaction first, to
	// serialise concurrent migrations; %[1]s is a lock id.
	lock string

	// cleanup deletes the expired rows between two ids; it keeps a key
	// row whose ledger entry is behind (behindCond) whatever its purge_at,
	// which the lease calls set without regard to the ledger.
	claim, completeMark, completeOnly, release, scan, cleanup string
	// renew is the single-row renew, for dialects whose batches run
	// single-row statements in a transaction (SQLite).
	renew string
	// batch builds the multi-row statements of a batch (nil: SQLite).
	batch func(table string) batchSQL

	// The delivery log's statements (see log.go). logSchema creates its
	// table and indexes (%[1]s: the table); logSet is one assignment of
	// an upsert's update clause (%[1]s: a column), logUpsert the clause
	// around the assignments (%[1]s); logCleanup deletes one batch of
	// expired entries (%[1]s: the table, %[2]s: the condition, %[3]s: the
	// placeholder of the batch size).
	logSchema         []string
	logUpsert, logSet string
	logCleanup        string

	// retryable reports errors after which the statement was rolled back
	// and may simply be run again (deadlock, busy database).
	retryable func(error) bool
}

// String returns the dialect's name: "postgres", "mariadb" or "sqlite".
func (d *Dialect) String() string { return d.name }

// Postgres is the dialect of PostgreSQL (10 or later), for example through
// the driver "pgx" of github.com/jackc/pgx/v5/stdlib.
var Postgres = &Dialect{
	name:     "postgres",
	numbered: "$",
	now:      "CAST(EXTRACT(EPOCH FROM now())*1000 AS bigint)",
	lock:     "SELECT pg_advisory_xact_lock(%[1]s)",
	schema: []string{
		`CREATE TABLE IF NOT EXISTS %[1]s (
	id          bytea PRIMARY KEY,
	kind        char(1) NOT NULL,
	connector   bytea NOT NULL,
	name        bytea NOT NULL,
	version     bigint NOT NULL DEFAULT 0,
	token       text NOT NULL DEFAULT '',
	lease_until bigint NOT NULL DEFAULT 0,
	last_event  bytea,
	done_until  bigint NOT NULL DEFAULT 0,
	purge_at    bigint NOT NULL
) WITH (fillfactor = 75)`,
		// A claim and a complete each update their key's row. Free room in
		// the row's page lets PostgreSQL update it there (HOT), without a
		// new index entry: 86% of updates instead of 65% under
		// BenchmarkDurable. A table made before gets it for new pages.
		`ALTER TABLE %[1]s SET (fillfactor = 75)`,
	},
	claim: `INSERT INTO %[1]s AS k (id, kind, connector, name, version, token, lease_until, done_until, purge_at)
SELECT CAST(:kid AS bytea), 'k', CAST(:conn AS bytea), CAST(:key AS bytea), 0, CAST(:tok AS text), :now + CAST(:ttl AS bigint), 0, :now + CAST(:ttl AS bigint)
WHERE NOT EXISTS (SELECT 1 FROM %[1]s AS d WHERE d.id = CAST(:eid AS bytea) AND d.done_until > :now)
ON CONFLICT (id) DO UPDATE SET
	token = CASE WHEN :ok THEN EXCLUDED.token ELSE k.token END,
	lease_until = CASE WHEN :ok THEN EXCLUDED.lease_until ELSE k.lease_until END,
	purge_at = CASE WHEN :ok THEN GREATEST(EXCLUDED.lease_until, k.done_until) ELSE k.purge_at END
RETURNING k.token, k.version, k.lease_until, COALESCE(k.last_event = CAST(:eid AS bytea) AND k.done_until > :now, false)`,
	completeMark: `INSERT INTO %[1]s AS k (id, kind, connector, name, version, token, lease_until, last_event, done_until, purge_at, event_id, hash, pushed_at)
VALUES (CAST(:eid AS bytea), 'e', CAST(:conn AS bytea), CAST(:ename AS bytea), 0, '', 0, CAST(:eid AS bytea), :now + CAST(:ret AS bigint), :now + CAST(:ret AS bigint), NULL, CAST('' AS bytea), 0),
	(CAST(:kid AS bytea), 'k', CAST(:conn AS bytea), CAST(:key AS bytea), GREATEST(CAST(:ver AS bigint), 0), '', 0, CAST(:eid AS bytea), :now + CAST(:ret AS bigint), :now + CAST(:ret AS bigint),
		CAST(:ename AS bytea), CAST(:hash AS bytea), :now * CAST(:led AS bigint))
` + pgCompleteSet + `	last_event = EXCLUDED.last_event,
	done_until = EXCLUDED.done_until,
	purge_at = GREATEST(CASE WHEN k.token = CAST(:tok AS text) THEN 0 ELSE k.lease_until END, EXCLUDED.done_until)`,
	completeOnly: `INSERT INTO %[1]s AS k (id, kind, connector, name, version, token, lease_until, done_until, purge_at, event_id, hash, pushed_at)
VALUES (CAST(:kid AS bytea), 'k', CAST(:conn AS bytea), CAST(:key AS bytea), GREATEST(CAST(:ver AS bigint), 0), '', 0, 0, :now,
	CAST(:ename AS bytea), CAST(:hash AS bytea), :now * CAST(:led AS bigint))
` + pgCompleteSet + `	purge_at = GREATEST(CASE WHEN k.token = CAST(:tok AS text) THEN 0 ELSE k.lease_until END, k.done_until)`,
	release:   `UPDATE %[1]s SET lease_until = 0, token = '', purge_at = done_until WHERE id = CAST(:kid AS bytea) AND token = CAST(:tok AS text)`,
	batch:     pgBatch,
	scan:      `SELECT id FROM (SELECT id FROM %[1]s WHERE id > CAST(:after AS bytea) ORDER BY id LIMIT CAST(:lim AS bigint)) AS b ORDER BY id DESC LIMIT 1`,
	cleanup:   `DELETE FROM %[1]s WHERE id > CAST(:after AS bytea) AND id <= CAST(:upto AS bytea) AND purge_at < :now AND NOT ` + behindCond,
	logSchema: append([]string{pgLogTable}, logIndexes...),
	logUpsert: `ON CONFLICT (id) DO UPDATE SET %[1]s`,
	logSet:    `%[1]s = EXCLUDED.%[1]s`,
	// = ANY(ARRAY(...)) collects the batch's ids first and deletes them
	// through the primary key; with IN (...) the planner may join by
	// scanning the whole table for each batch.
	logCleanup: `DELETE FROM %[1]s WHERE id = ANY(ARRAY(SELECT id FROM %[1]s WHERE %[2]s LIMIT %[3]s))`,
	retryable:  sqlerr.Postgres,
}

// MariaDB is the dialect of MariaDB 10.5 or later (it needs INSERT ...
// RETURNING, which MySQL lacks), through github.com/go-sql-driver/mysql.
var MariaDB = &Dialect{
	name: "mariadb",
	now:  "CAST(UNIX_TIMESTAMP(NOW(3))*1000 AS SIGNED)",
	lock: "", // CREATE TABLE IF NOT EXISTS is atomic under MariaDB's metadata locks
	schema: []string{
		`CREATE TABLE IF NOT EXISTS %[1]s (
	id          VARBINARY(40) NOT NULL PRIMARY KEY,
	kind        CHAR(1) CHARACTER SET ascii NOT NULL,
	connector   BLOB NOT NULL,
	name        MEDIUMBLOB NOT NULL,
	version     BIGINT NOT NULL DEFAULT 0,
	token       VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	last_event  VARBINARY(40) NULL,
	done_until  BIGINT NOT NULL DEFAULT 0,
	purge_at    BIGINT NOT NULL
) ENGINE=InnoDB`,
	},
	// ON DUPLICATE KEY UPDATE assigns left to right, each assignment seeing
	// the ones before it: token is decided first from the old row, and the
	// lease follows the token (tokens are unique, so token = VALUES(token)
	// holds exactly when this claim took the lease).
	claim: `INSERT INTO %[1]s (id, kind, connector, name, version, token, lease_until, done_until, purge_at)
SELECT :kid, 'k', :conn, :key, 0, :tok, :now + :ttl, 0, :now + :ttl FROM DUAL
WHERE NOT EXISTS (SELECT 1 FROM %[1]s AS d WHERE d.id = :eid AND d.done_until > :now)
ON DUPLICATE KEY UPDATE
	token = IF(:ok, VALUES(token), token),
	lease_until = IF(token = VALUES(token), VALUES(lease_until), lease_until),
	purge_at = IF(token = VALUES(token), GREATEST(lease_until, done_until), purge_at)
RETURNING token, version, lease_until, COALESCE(last_event = :eid AND done_until > :now, 0)`,
	completeMark: `INSERT INTO %[1]s (id, kind, connector, name, version, token, lease_until, last_event, done_until, purge_at, event_id, hash, pushed_at)
VALUES (:eid, 'e', :conn, :ename, 0, '', 0, :eid, :now + :ret, :now + :ret, NULL, '', 0),
	(:kid, 'k', :conn, :key, GREATEST(:ver, 0), '', 0, :eid, :now + :ret, :now + :ret, :ename, :hash, :now * :led)
` + mariaCompleteSet + `	last_event = VALUES(last_event),
	done_until = VALUES(done_until),
	purge_at = GREATEST(lease_until, done_until)`,
	completeOnly: `INSERT INTO %[1]s (id, kind, connector, name, version, token, lease_until, done_until, purge_at, event_id, hash, pushed_at)
VALUES (:kid, 'k', :conn, :key, GREATEST(:ver, 0), '', 0, 0, :now, :ename, :hash, :now * :led)
` + mariaCompleteSet + `	purge_at = GREATEST(lease_until, done_until)`,
	release: `UPDATE %[1]s SET lease_until = 0, token = '', purge_at = done_until WHERE id = :kid AND token = :tok`,
	batch:   mariaBatch,
	scan:    `SELECT id FROM (SELECT id FROM %[1]s WHERE id > :after ORDER BY id LIMIT :lim) AS b ORDER BY id DESC LIMIT 1`,
	cleanup: `DELETE FROM %[1]s WHERE id > :after AND id <= :upto AND purge_at < :now AND NOT ` + behindCond,
	// The indexes are part of CREATE TABLE, so that creating the table
	// and its indexes is one atomic statement.
	logSchema: []string{
		`CREATE TABLE IF NOT EXISTS %[1]s (
	id           BINARY(16) NOT NULL PRIMARY KEY,
	event_hash   BIGINT NOT NULL,
	conn_hash    BIGINT NOT NULL,
	event_id     MEDIUMBLOB NOT NULL,
	event_type   MEDIUMBLOB NOT NULL,
	connector    MEDIUMBLOB NOT NULL,
	record_key   MEDIUMBLOB NOT NULL,
	state        SMALLINT NOT NULL,
	attempts     INT NOT NULL,
	first_ns     BIGINT NOT NULL,
	last_ns      BIGINT NOT NULL,
	duration_ns  BIGINT NOT NULL,
	last_error   MEDIUMBLOB NOT NULL,
	partner_id   MEDIUMBLOB NOT NULL,
	payload_hash MEDIUMBLOB NOT NULL,
	updated_ns   BIGINT NOT NULL,
	event_json   LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
	INDEX %[1]s_u (updated_ns),
	INDEX %[1]s_c (conn_hash, state, updated_ns),
	INDEX %[1]s_e (event_hash)
) ENGINE=InnoDB`,
	},
	logUpsert:  `ON DUPLICATE KEY UPDATE %[1]s`,
	logSet:     `%[1]s = VALUES(%[1]s)`,
	logCleanup: `DELETE FROM %[1]s WHERE %[2]s LIMIT %[3]s`,
	retryable:  sqlerr.MariaDB,
}

// SQLite is the dialect of SQLite 3.42 or later, for example through the
// driver "sqlite" of modernc.org/sqlite (pure Go). Open the database with a
// busy timeout (modernc: "file:x.db?_pragma=busy_timeout(10000)") so that
// concurrent writers wait for each other instead of failing at once;
// write-ahead logging (_pragma=journal_mode(WAL)) lets readers run beside
// the writer.
var SQLite = &Dialect{
	name:     "sqlite",
	numbered: "?",
	now:      "CAST(unixepoch('subsec')*1000 AS INTEGER)",
	schema: []string{
		`CREATE TABLE IF NOT EXISTS %[1]s (
	id          BLOB PRIMARY KEY,
	kind        TEXT NOT NULL,
	connector   BLOB NOT NULL,
	name        BLOB NOT NULL,
	version     INTEGER NOT NULL DEFAULT 0,
	token       TEXT NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL DEFAULT 0,
	last_event  BLOB,
	done_until  INTEGER NOT NULL DEFAULT 0,
	purge_at    INTEGER NOT NULL
) WITHOUT ROWID`,
	},
	claim: `INSERT INTO %[1]s (id, kind, connector, name, version, token, lease_until, done_until, purge_at)
SELECT :kid, 'k', :conn, :key, 0, :tok, :now + :ttl, 0, :now + :ttl
WHERE NOT EXISTS (SELECT 1 FROM %[1]s AS d WHERE d.id = :eid AND d.done_until > :now)
ON CONFLICT (id) DO UPDATE SET
	token = CASE WHEN :ok THEN excluded.token ELSE token END,
	lease_until = CASE WHEN :ok THEN excluded.lease_until ELSE lease_until END,
	purge_at = CASE WHEN :ok THEN max(excluded.lease_until, done_until) ELSE purge_at END
RETURNING token, version, lease_until, COALESCE(last_event = :eid AND done_until > :now, 0)`,
	completeMark: `INSERT INTO %[1]s (id, kind, connector, name, version, token, lease_until, last_event, done_until, purge_at, event_id, hash, pushed_at)
VALUES (:eid, 'e', :conn, :ename, 0, '', 0, :eid, :now + :ret, :now + :ret, NULL, X'', 0),
	(:kid, 'k', :conn, :key, max(:ver, 0), '', 0, :eid, :now + :ret, :now + :ret, :ename, :hash, :now * :led)
` + sqliteCompleteSet + `	last_event = excluded.last_event,
	done_until = excluded.done_until,
	purge_at = max(CASE WHEN token = :tok THEN 0 ELSE lease_until END, excluded.done_until)`,
	completeOnly: `INSERT INTO %[1]s (id, kind, connector, name, version, token, lease_until, done_until, purge_at, event_id, hash, pushed_at)
VALUES (:kid, 'k', :conn, :key, max(:ver, 0), '', 0, 0, :now, :ename, :hash, :now * :led)
` + sqliteCompleteSet + `	purge_at = max(CASE WHEN token = :tok THEN 0 ELSE lease_until END, done_until)`,
	release:    `UPDATE %[1]s SET lease_until = 0, token = '', purge_at = done_until WHERE id = :kid AND token = :tok`,
	renew:      `UPDATE %[1]s SET lease_until = :now + :ttl, purge_at = max(:now + :ttl, done_until) WHERE id = :kid AND token = :tok`,
	scan:       `SELECT id FROM (SELECT id FROM %[1]s WHERE id > :after ORDER BY id LIMIT :lim) AS b ORDER BY id DESC LIMIT 1`,
	cleanup:    `DELETE FROM %[1]s WHERE id > :after AND id <= :upto AND purge_at < :now AND NOT ` + behindCond,
	logSchema:  append([]string{sqliteLogTable}, logIndexes...),
	logUpsert:  `ON CONFLICT (id) DO UPDATE SET %[1]s`,
	logSet:     `%[1]s = excluded.%[1]s`,
	logCleanup: `DELETE FROM %[1]s WHERE id IN (SELECT id FROM %[1]s WHERE %[2]s LIMIT %[3]s)`,
	retryable:  sqlerr.SQLite,
}

// pgCompleteSet opens a completion's update clause on PostgreSQL: the
// ledger's columns (LEDGERSET), the version, and the lease, given up when
// the token is the completing claim's.
const pgCompleteSet = `ON CONFLICT (id) DO UPDATE SET
	LEDGERSET
	version = GREATEST(k.version, EXCLUDED.version),
	lease_until = CASE WHEN k.token = CAST(:tok AS text) THEN 0 ELSE k.lease_until END,
	token = CASE WHEN k.token = CAST(:tok AS text) THEN '' ELSE k.token END,
`

// mariaCompleteSet opens a completion's update clause on MariaDB: the
// ledger's columns (LEDGERSET), the version, and the lease, given up when
// the token is the completing claim's.
const mariaCompleteSet = `ON DUPLICATE KEY UPDATE
	LEDGERSET
	version = GREATEST(version, VALUES(version)),
	lease_until = IF(token = :tok, 0, lease_until),
	token = IF(token = :tok, '', token),
`

// sqliteCompleteSet opens a completion's update clause on SQLite: the
// ledger's columns (LEDGERSET), the version, and the lease, given up when
// the token is the completing claim's.
const sqliteCompleteSet = `ON CONFLICT (id) DO UPDATE SET
	LEDGERSET
	version = max(version, excluded.version),
	lease_until = CASE WHEN token = :tok THEN 0 ELSE lease_until END,
	token = CASE WHEN token = :tok THEN '' ELSE token END,
`

// pgLogTable creates the delivery log's table on PostgreSQL (%[1]s: the
// table).
const pgLogTable = `CREATE TABLE IF NOT EXISTS %[1]s (
	id           bytea PRIMARY KEY,
	event_hash   bigint NOT NULL,
	conn_hash    bigint NOT NULL,
	event_id     bytea NOT NULL,
	event_type   bytea NOT NULL,
	connector    bytea NOT NULL,
	record_key   bytea NOT NULL,
	state        smallint NOT NULL,
	attempts     integer NOT NULL,
	first_ns     bigint NOT NULL,
	last_ns      bigint NOT NULL,
	duration_ns  bigint NOT NULL,
	last_error   bytea NOT NULL,
	partner_id   bytea NOT NULL,
	payload_hash bytea NOT NULL,
	updated_ns   bigint NOT NULL,
	event_json   text
)`

// sqliteLogTable is pgLogTable with SQLite's type names: the columns are
// the same.
var sqliteLogTable = strings.NewReplacer(
	"bytea", "BLOB", "smallint", "INTEGER", "bigint", "INTEGER", "integer", "INTEGER", "text", "TEXT",
).Replace(pgLogTable)

// logIndexes are the delivery log's indexes on PostgreSQL and SQLite (%[1]s:
// the table), which MariaDB declares in its CREATE TABLE: by update time,
// by connector and state, by event.
var logIndexes = []string{
	`CREATE INDEX IF NOT EXISTS %[1]s_u ON %[1]s (updated_ns)`,
	`CREATE INDEX IF NOT EXISTS %[1]s_c ON %[1]s (conn_hash, state, updated_ns)`,
	`CREATE INDEX IF NOT EXISTS %[1]s_e ON %[1]s (event_hash)`,
}

// okCond is the claim's "may take the lease" condition over the key's row
// as it was before the statement: the event is not the key's last done
// event, the version is not stale, and no lease is live. In each dialect's
// claim it replaces :ok; k. is the conflicting row's qualifier.
func (d *Dialect) okCond() string {
	k, ver := "k.", ":ver"
	switch d {
	case MariaDB:
		k = ""
	case SQLite:
		k = ""
	case Postgres:
		ver = "CAST(:ver AS bigint)"
	}
	eid := ":eid"
	if d == Postgres {
		eid = "CAST(:eid AS bytea)"
	}
	return "((" + k + "last_event IS NULL OR " + k + "last_event <> " + eid + " OR " + k + "done_until <= :now)" +
		" AND (" + ver + " = 0 OR " + k + "version < " + ver + ")" +
		" AND " + k + "lease_until <= :now)"
}

// param names a statement parameter.
type param int

const (
	pKID   param = iota // id of the key's row
	pConn               // connector name
	pKey                // record key
	pEID                // id of the event's row
	pEName              // event ID
	pVer                // version
	pTok                // lease token
	pTTL                // lease TTL, ms
	pRet                // retention, ms
	pLim                // batch size
	pAfter              // cleanup: scan ids above this one
	pUpto               // cleanup: up to this id
	pHash               // ledger: the payload's hash
	pAt                 // ledger: a time, Unix ms
	pDrift              // ledger: a Drift
	pLed                // complete: 1 to write the ledger entry, 0 not
	nParams
)

var paramNames = map[string]param{
	"kid": pKID, "conn": pConn, "key": pKey, "eid": pEID, "ename": pEName,
	"ver": pVer, "tok": pTok, "ttl": pTTL, "ret": pRet, "lim": pLim,
	"after": pAfter, "upto": pUpto, "hash": pHash, "at": pAt, "drift": pDrift, "led": pLed,
}

// stmt is a statement compiled for one dialect and table.
type stmt struct {
	query string
	order []param // the parameter of each placeholder, in order
}

func (s *stmt) args(v *[nParams]any) []any {
	out := make([]any, len(s.order))
	for i, p := range s.order {
		out[i] = v[p]
	}
	return out
}

// compile turns a statement template into the dialect's SQL: %[1]s becomes
// the table, :ok the claim condition, :now the clock, and each :name a
// placeholder.
func (d *Dialect) compile(tmpl, table string) stmt {
	tmpl = strings.ReplaceAll(tmpl, "%[1]s", table)
	tmpl = strings.ReplaceAll(tmpl, "LEDGERSET", d.ledgerSet())
	tmpl = strings.ReplaceAll(tmpl, ":ok", d.okCond())
	tmpl = strings.ReplaceAll(tmpl, ":now", d.now)
	var b strings.Builder
	var order []param
	seen := map[param]int{}
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != ':' || i+1 >= len(tmpl) || !isLower(tmpl[i+1]) {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(tmpl) && isLower(tmpl[j]) {
			j++
		}
		p, ok := paramNames[tmpl[i+1:j]]
		if !ok {
			panic("sqlstore: unknown parameter " + tmpl[i:j]) // a bug in this package
		}
		switch {
		case d.numbered == "":
			order = append(order, p)
			b.WriteByte('?')
		default:
			n, ok := seen[p]
			if !ok {
				order = append(order, p)
				n = len(order)
				seen[p] = n
			}
			b.WriteString(d.numbered + strconv.Itoa(n))
		}
		i = j - 1
	}
	return stmt{query: b.String(), order: order}
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// placeholder returns the dialect's placeholder of the nth (1-based)
// parameter of a statement whose parameters are each used once.
func (d *Dialect) placeholder(n int) string {
	if d.numbered == "" {
		return "?"
	}
	return d.numbered + strconv.Itoa(n)
}
