package sqlstore

import (
	"strings"
)

// The statements of a batch. PostgreSQL takes the batch as arrays
// (unnest), MariaDB as one JSON document (JSON_TABLE), so each is one
// statement text for any batch size, prepared once per connection. SQLite
// runs the single-row statements in one transaction (see runSQLite).
type batchSQL struct {
	claim, complete, release, renew, renewCheck string
	// claimLong is the claim for batches with names longer than
	// mariaShortName bytes (MariaDB; see mariaBatch).
	claimLong string
}

// mariaShortName is the longest connector or key, in bytes, that the
// MariaDB claim reads into a short column.
const mariaShortName = 500

// pgBatch builds the PostgreSQL batch statements over table. In a
// complete, a key row whose event ID is NULL writes no ledger entry
// (pushed_at 0: see ledgered); MariaDB's marks it with the hash "-".
//
// In ON CONFLICT DO UPDATE only the conflicting row (k) and the proposed
// row (EXCLUDED) are in scope, not the rest of the source row. A claim
// finds its own event and version through its token, which starts with
// its 1-based position in the arrays ("3.9f0c..."): O(1) per row. A
// complete needs to know whether the row's token is the one its caller
// passed for that key: the batch passes them as a jsonb object from each
// key row's id (hex) to the token (a binary search per row). A token that
// is merely one of the batch's does not do: a Complete may carry another
// key's token, and must not drop that key's lease.
//
// The plans must probe the primary key per row whatever the table's size
// and statistics: OFFSET 0 keeps the claim's done check a correlated
// subquery (an anti join may hash the whole table), and the UPDATEs name
// their rows with = ANY so that they find them through the index.
//
// Every statement locks its rows in primary key order, so that concurrent
// batches on the same keys wait for each other rather than deadlock: the
// INSERTs by ORDER BY (ON CONFLICT locks in the order the rows come), the
// UPDATEs by a CTE that locks them (FOR NO KEY UPDATE, as an UPDATE does)
// in id order before the UPDATE, whose join order the plan decides, reaches
// them.
func pgBatch(table string) batchSQL {
	const now = "CAST(EXTRACT(EPOCH FROM now())*1000 AS bigint)"
	// Three passes: a replacer does not rescan what it inserted.
	conds := strings.NewReplacer(
		"OK", `((k.last_event IS NULL OR k.last_event <> ($4::bytea[])[IDX] OR k.done_until <= NOW)
		AND (($7::bigint[])[IDX] = 0 OR k.version < ($7::bigint[])[IDX]) AND k.lease_until <= NOW)`,
		"MINE", `(($8::jsonb ->> encode(k.id, 'hex')) = k.token)`)
	names := strings.NewReplacer("%T", table, "NOW", now, "IDX", "CAST(split_part(EXCLUDED.token, '.', 1) AS int)")
	r := replacerFunc(func(s string) string { return names.Replace(conds.Replace(s)) })
	return batchSQL{
		claim: r.Replace(`INSERT INTO %T AS k (id, kind, connector, name, version, token, lease_until, done_until, purge_at)
SELECT u.kid, 'k', u.conn, u.key, 0, u.tok, NOW + u.ttl, 0, NOW + u.ttl
FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bytea[], $5::text[], $6::bigint[]) AS u(kid, conn, key, eid, tok, ttl)
WHERE NOT EXISTS (SELECT 1 FROM %T AS d WHERE d.id = u.eid AND d.done_until > NOW OFFSET 0)
ORDER BY u.kid
ON CONFLICT (id) DO UPDATE SET
	token = CASE WHEN OK THEN EXCLUDED.token ELSE k.token END,
	lease_until = CASE WHEN OK THEN EXCLUDED.lease_until ELSE k.lease_until END,
	purge_at = CASE WHEN OK THEN GREATEST(EXCLUDED.lease_until, k.done_until) ELSE k.purge_at END
RETURNING k.id, k.token, k.version, k.lease_until, COALESCE(k.last_event, '\x'::bytea), k.done_until > NOW`),
		complete: r.Replace(`INSERT INTO %T AS k (id, kind, connector, name, version, token, lease_until, last_event, done_until, purge_at, event_id, hash, pushed_at)
SELECT u.id, u.kind, u.conn, u.name, GREATEST(u.ver, 0), '', 0, CASE WHEN u.ret > 0 THEN u.le END,
	CASE WHEN u.ret > 0 THEN NOW + u.ret ELSE 0 END, NOW + u.ret,
	CASE WHEN u.kind = 'k' THEN u.evid END, u.hash, CASE WHEN u.kind = 'k' AND u.evid IS NOT NULL THEN NOW ELSE 0 END
FROM unnest($1::bytea[], $2::text[], $3::bytea[], $4::bytea[], $5::bigint[], $6::bytea[], $7::bigint[], $9::bytea[], $10::bytea[])
	AS u(id, kind, conn, name, ver, le, ret, evid, hash)
ORDER BY u.id
ON CONFLICT (id) DO UPDATE SET
	` + ledgerSet("postgres") + `
	version = GREATEST(k.version, EXCLUDED.version),
	lease_until = CASE WHEN MINE THEN 0 ELSE k.lease_until END,
	token = CASE WHEN MINE THEN '' ELSE k.token END,
	last_event = CASE WHEN EXCLUDED.done_until > 0 THEN EXCLUDED.last_event ELSE k.last_event END,
	done_until = CASE WHEN EXCLUDED.done_until > 0 THEN EXCLUDED.done_until ELSE k.done_until END,
	purge_at = GREATEST(CASE WHEN MINE THEN 0 ELSE k.lease_until END,
		CASE WHEN EXCLUDED.done_until > 0 THEN EXCLUDED.done_until ELSE k.done_until END)`),
		release: r.Replace(`WITH l AS (SELECT id FROM %T WHERE id = ANY($1::bytea[]) ORDER BY id FOR NO KEY UPDATE)
UPDATE %T AS k SET lease_until = 0, token = '', purge_at = k.done_until
FROM unnest($1::bytea[], $2::text[]) AS u(id, tok), l
WHERE k.id = ANY($1::bytea[]) AND k.id = l.id AND k.id = u.id AND k.token = u.tok`),
		renew: r.Replace(`WITH l AS (SELECT id FROM %T WHERE id = ANY($1::bytea[]) ORDER BY id FOR NO KEY UPDATE)
UPDATE %T AS k SET lease_until = NOW + u.ttl, purge_at = GREATEST(NOW + u.ttl, k.done_until)
FROM unnest($1::bytea[], $2::text[], $3::bigint[]) AS u(id, tok, ttl), l
WHERE k.id = ANY($1::bytea[]) AND k.id = l.id AND k.id = u.id AND k.token = u.tok
RETURNING k.id`),
	}
}

// mariaBatch builds the MariaDB batch statements over table. The batch is
// one JSON array of rows, binary values in hex, numbers as strings (exact
// to the largest int64); ON DUPLICATE KEY UPDATE may name the JSON_TABLE's
// columns. MariaDB's UPDATE has no RETURNING, so a renew is an UPDATE and
// then a SELECT of the rows that the batch's tokens still hold.
//
// The claim's INSERT ... SELECT reads its own table (the done check), so
// MariaDB first copies the selected rows into a temporary table: in memory
// while the names' columns are short ASCII VARCHARs, on disk for long
// ones. So the claim reads names of up to mariaShortName bytes (hex: twice
// that) into VARCHAR(1000) CHARACTER SET ascii, and a batch with a longer
// name takes claimLong, with MEDIUMTEXT (names up to 8 MB; MariaDB 10.11
// loses LONGTEXT columns of a JSON_TABLE on that copy).
func mariaBatch(table string) batchSQL {
	const now = "CAST(UNIX_TIMESTAMP(NOW(3))*1000 AS SIGNED)"
	r := strings.NewReplacer("%T", table, "NOW", now)
	claim := r.Replace(`INSERT INTO %T (id, kind, connector, name, version, token, lease_until, done_until, purge_at)
SELECT UNHEX(u.j_kid), 'k', UNHEX(u.j_conn), UNHEX(u.j_key), 0, u.j_tok, NOW + u.j_ttl, 0, NOW + u.j_ttl
FROM JSON_TABLE(?, '$[*]' COLUMNS (j_kid VARCHAR(80) PATH '$[0]', j_conn NAMETYPE PATH '$[1]', j_key NAMETYPE PATH '$[2]',
	j_eid VARCHAR(80) PATH '$[3]', j_tok VARCHAR(64) PATH '$[4]', j_ttl BIGINT PATH '$[5]', j_ver BIGINT PATH '$[6]')) AS u
WHERE NOT EXISTS (SELECT 1 FROM %T AS d WHERE d.id = UNHEX(u.j_eid) AND d.done_until > NOW)
ORDER BY u.j_kid
ON DUPLICATE KEY UPDATE
	token = IF((last_event IS NULL OR last_event <> UNHEX(u.j_eid) OR done_until <= NOW)
		AND (u.j_ver = 0 OR version < u.j_ver) AND lease_until <= NOW, VALUES(token), token),
	lease_until = IF(token = VALUES(token), VALUES(lease_until), lease_until),
	purge_at = IF(token = VALUES(token), GREATEST(lease_until, done_until), purge_at)
RETURNING id, token, version, lease_until, COALESCE(last_event, ''), done_until > NOW`)
	return batchSQL{
		claim:     strings.ReplaceAll(claim, "NAMETYPE", "VARCHAR(1000) CHARACTER SET ascii"),
		claimLong: strings.ReplaceAll(claim, "NAMETYPE", "MEDIUMTEXT"),
		complete: r.Replace(`INSERT INTO %T (id, kind, connector, name, version, token, lease_until, last_event, done_until, purge_at, event_id, hash, pushed_at)
SELECT UNHEX(u.j_id), u.j_kind, UNHEX(u.j_conn), UNHEX(u.j_name), GREATEST(u.j_ver, 0), '', 0,
	IF(u.j_ret > 0, UNHEX(u.j_le), NULL), IF(u.j_ret > 0, NOW + u.j_ret, 0), NOW + u.j_ret,
	IF(u.j_kind = 'k', UNHEX(u.j_name2), NULL), IF(u.j_hash = '-', '', UNHEX(u.j_hash)), IF(u.j_kind = 'k' AND u.j_hash <> '-', NOW, 0)
FROM JSON_TABLE(?, '$[*]' COLUMNS (j_id VARCHAR(80) PATH '$[0]', j_kind CHAR(1) PATH '$[1]', j_conn LONGTEXT PATH '$[2]',
	j_name LONGTEXT PATH '$[3]', j_ver BIGINT PATH '$[4]', j_le VARCHAR(80) PATH '$[5]', j_ret BIGINT PATH '$[6]',
	j_tok VARCHAR(64) PATH '$[7]', j_name2 LONGTEXT PATH '$[8]', j_hash VARCHAR(600) PATH '$[9]')) AS u
ORDER BY u.j_id
ON DUPLICATE KEY UPDATE
	` + ledgerSet("mariadb") + `
	version = GREATEST(version, VALUES(version)),
	lease_until = IF(token = u.j_tok, 0, lease_until),
	token = IF(token = u.j_tok, '', token),
	last_event = IF(u.j_ret > 0, VALUES(last_event), last_event),
	done_until = IF(u.j_ret > 0, VALUES(done_until), done_until),
	purge_at = GREATEST(lease_until, done_until)`),
		release: r.Replace(`UPDATE %T AS k JOIN JSON_TABLE(?, '$[*]' COLUMNS (j_id VARCHAR(80) PATH '$[0]', j_tok VARCHAR(64) PATH '$[1]')) AS u
	ON k.id = UNHEX(u.j_id) AND k.token = u.j_tok
SET k.lease_until = 0, k.token = '', k.purge_at = k.done_until`),
		renew: r.Replace(`UPDATE %T AS k JOIN JSON_TABLE(?, '$[*]' COLUMNS (j_id VARCHAR(80) PATH '$[0]', j_tok VARCHAR(64) PATH '$[1]',
	j_ttl BIGINT PATH '$[2]')) AS u ON k.id = UNHEX(u.j_id) AND k.token = u.j_tok
SET k.lease_until = NOW + u.j_ttl, k.purge_at = GREATEST(NOW + u.j_ttl, k.done_until)`),
		renewCheck: r.Replace(`SELECT k.id FROM %T AS k JOIN JSON_TABLE(?, '$[*]' COLUMNS (j_id VARCHAR(80) PATH '$[0]', j_tok VARCHAR(64) PATH '$[1]',
	j_ttl BIGINT PATH '$[2]')) AS u ON k.id = UNHEX(u.j_id) AND k.token = u.j_tok`),
	}
}

// replacerFunc adapts a function to the Replace method of strings.Replacer.
type replacerFunc func(string) string

func (f replacerFunc) Replace(s string) string { return f(s) }
