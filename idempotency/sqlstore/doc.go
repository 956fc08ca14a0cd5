// Package sqlstore is a durable [synclayer.Store] in one SQL table, for
// PostgreSQL, MariaDB and SQLite, on database/sql.
//
// The caller opens the *sql.DB with the driver of its choice, picks the
// [Dialect] and a table name, and migrates once:
//
//	db, err := sql.Open("pgx", "postgres://app@db/app") // github.com/jackc/pgx/v5/stdlib
//	store, err := sqlstore.New(db, sqlstore.Postgres, "synclayer_idempotency")
//	err = store.Migrate(ctx)
//	d := synclayer.NewDispatcher(reg, synclayer.WithStore(store))
//
// # Configuration
//
//   - [Postgres]: PostgreSQL 10 or later, driver "pgx"
//     (github.com/jackc/pgx/v5/stdlib).
//   - [MariaDB]: MariaDB 10.5 or later, driver "mysql"
//     (github.com/go-sql-driver/mysql). MySQL itself lacks INSERT ...
//     RETURNING and is not supported.
//   - [SQLite]: SQLite 3.42 or later, driver "sqlite" (modernc.org/sqlite,
//     pure Go). Open the file with a busy timeout, for example
//     "file:sync.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)".
//
// The table name must be a plain identifier; [New] refuses any other with
// [ErrInvalidTable]. [WithCleanupBatch] bounds the statements of
// [Store.Cleanup].
//
// One [Option] type configures both [New] and [NewLog]. A zero value means
// the default; an invalid value (a negative number or duration) makes the
// constructor return an error that names the option and wraps
// synclayer.ErrInvalidOption. Nothing panics.
//
// # Schema
//
// [Store.Migrate] creates one table (shown for PostgreSQL; the other
// dialects use their own binary and integer types):
//
//	CREATE TABLE <table> (
//	    id          bytea PRIMARY KEY,  -- see below
//	    kind        char(1) NOT NULL,   -- 'k': a record key, 'e': an event's done-marker
//	    connector   bytea NOT NULL,     -- connector name, as given
//	    name        bytea NOT NULL,     -- record key or event ID, as given (any bytes, any length)
//	    version     bigint NOT NULL,    -- 'k': last version applied (0: none)
//	    token       text NOT NULL,      -- 'k': token of the lease ('' when none)
//	    lease_until bigint NOT NULL,    -- 'k': end of the lease, Unix ms (0 when none)
//	    last_event  bytea,              -- id of the last event completed ('e': itself)
//	    done_until  bigint NOT NULL,    -- end of that event's retention, Unix ms
//	    purge_at    bigint NOT NULL     -- Cleanup may delete the row after this, Unix ms
//	    -- the freshness ledger, 'k' rows only (see Freshness ledger):
//	    event_id    bytea,              -- event of the last push
//	    hash        bytea NOT NULL,     -- its payload's hash
//	    pushed_at   bigint NOT NULL,    -- when, Unix ms
//	    wanted      bigint NOT NULL,    -- version wanted and not pushed yet
//	    wanted_at   bigint NOT NULL,    -- since when, Unix ms
//	    verified_at bigint NOT NULL,    -- last check, Unix ms
//	    drift       smallint NOT NULL   -- its result (a synclayer.Drift)
//	);
//
// On PostgreSQL the table keeps a quarter of each page free (fillfactor
// 75), so that the update of a key's row by a claim or a complete usually
// stays in its page and adds no index entry.
//
// A key's row has the id tag+'k', where tag is the first 16 bytes of a
// SHA-256 of the connector (length-prefixed) and the record key; an
// event's done-marker has the id tag+'e'+(the first 16 bytes of a SHA-256
// of the event ID). Keys and event IDs of any bytes and length so fit in
// short primary keys, and are kept as given in the name column, for
// inspection. A done-marker sorts next to its key's row, so that a
// Complete touches one index page; it is found through the record key its
// event was completed with (as in the memory store), so a Mapper must map
// an event to the same key every time. There is no index on expiry: the
// hot path maintains the primary key only, and [Store.Cleanup] walks it.
//
// Times are the database server's clock, so processes with skewed clocks
// agree on when a lease ends.
//
// # Delivery semantics
//
// Every operation is one statement (shown here for one call; see Group
// commit for how concurrent calls share one), so a claim-then-complete
// cycle costs two round trips:
//
//   - Claim is one INSERT ... SELECT ... ON CONFLICT (ON DUPLICATE KEY)
//     UPDATE ... RETURNING on the key's row. It selects nothing when the
//     event's done-marker is live (done); otherwise it takes the row's lock
//     and, from the row as it is then, either takes the lease or leaves the
//     row as it was. The returned row tells done (the key's last completed
//     event is this one), stale, busy (with the lease's end) or acquired
//     (the row holds this claim's fresh token). Concurrent claims of one key
//     queue on the row lock, so exactly one wins.
//   - Complete is one upsert of two rows: the event's done-marker (kept for
//     the claim's Retention) and the key's row (version raised with
//     GREATEST, lease dropped only if the token still holds it, last event
//     recorded). In a batch, a claim of synclayer's own namespace (a
//     connector name starting with '$': an event's announcements, whose
//     key is that event's ID) writes the key's row alone: its last event
//     and done_until are the done-marker, as nothing older on that key
//     needs remembering. An announcement then costs two row writes, not
//     three.
//   - Release is one UPDATE guarded by the token.
//   - Renew ([Store.Renew], the dispatcher's lease heartbeat) is one
//     UPDATE guarded by the token that sets the lease's end to the claim's
//     LeaseTTL from now (on MariaDB, followed by a SELECT of the leases the
//     tokens still hold, as its UPDATE has no RETURNING).
//
// A done-marker written by a Complete that commits while a Claim of the
// same event waits for the key's row is seen through the row's last_event,
// which that Complete set in the same statement. The one case left open:
// while a claim waits for the row lock (microseconds, unless the database
// stalls), its event completes and then a whole claim-push-complete cycle
// of another event of the same key runs before the waiting claim gets the
// lock. The claim then misses the first event's marker (PostgreSQL checks
// it against the statement's snapshot; MariaDB under READ COMMITTED may
// too) and the event is
// pushed again: an idempotent upsert, and for a versioned record still
// refused as stale. SQLite runs each statement alone and has no such case.
//
// Statements are prepared once per connection (database/sql does it
// lazily), so each statement is one round trip with every driver; [Store.Close]
// releases them. Deadlocks and busy-database errors, after which the
// database rolled the statement back, are retried up to five times; a
// retried batch runs whole again, with fresh tokens, as the failed run
// left nothing behind.
//
// # Group commit
//
// The concurrent calls of one process share statements. Each kind of call
// (claims, completes, releases, renews) has its own queue: a call that
// finds fewer than [WithInflight] batches of its kind in flight (default
// 2) is sent at once, alone, with no timer and no added latency; calls
// that arrive while the batches are in flight gather, and leave together
// as one statement, up to [WithMaxBatch] calls (default 256), as soon as
// a batch returns. A batch of one call runs the single-row statement. Claims of the route and of the announcement ("$announce")
// ride in the same batches. Each caller gets its own answer; the batch
// decides each claim with the same rules, in the same order, as the
// single-row statement above.
//
//   - PostgreSQL: the batch is arrays; one INSERT ... SELECT FROM
//     unnest(...) ... ON CONFLICT DO UPDATE ... RETURNING decides every
//     claim of the batch, one INSERT of the key rows and done-markers
//     records every complete, and one UPDATE ... FROM unnest(...) releases
//     or renews every lease of the batch.
//   - MariaDB: the batch is one JSON document, read with JSON_TABLE, in
//     the same statements (ON DUPLICATE KEY UPDATE); a renew is an UPDATE
//     and then a SELECT of the leases the batch's tokens still hold, as
//     MariaDB's UPDATE has no RETURNING.
//   - SQLite: one transaction runs the single-row statement of each call.
//     SQLite has no round trip to save (it runs in process) and one writer
//     at a time; what costs is the commit, and the batch commits once.
//
// A batch never holds two calls on the same connector and key (nor two
// writes of the same log entry): the second waits for the next batch, so
// one statement never decides two claims of one key. Claims and completes
// write their rows in primary-key order, and releases and renews update
// theirs in that order (PostgreSQL locks them so before its UPDATE), so
// concurrent batches take their row locks in one order. On MariaDB under
// REPEATABLE READ, its default, claims and completes still deadlock now
// and then on gap locks, and are retried; READ COMMITTED in the DSN
// (tx_isolation='READ-COMMITTED') avoids them. A statement that fails (a
// dropped connection, a deadlock retried five times) fails the calls of
// its batch only, each with an error that names the operation, the
// connector, the key and the event; the next batch runs on as usual, and
// a failed complete has recorded nothing. A
// caller whose context ends gets the context's error at once: if its call
// was not sent yet, it is never sent; if it was, the batch runs on for the
// others (it is not undone), and is cancelled once all of its callers have
// left. A lease that such a batch took for a caller who left is released
// (best effort) before the next batch of claims, so the key is not busy
// for a LeaseTTL with nobody holding the token; so are the leases that
// claims may have taken when their statement failed with no answer from
// the database (a dropped connection, a lost reply, a context that ended
// mid-flight), batched or not, as the statement may have committed.
// WithMaxBatch([NoGroupCommit]) turns group commit off: each call is then
// its own statement on the caller's goroutine.
//
// # Pool sizing
//
// The store never changes the caller's *sql.DB. Its batches use at most
// [BatchConns] connections at once (4 per batch in flight per kind: 8 by
// default; in steady use claims and completes are in flight, 4), and a
// [Log] up to 2 more. Set MaxOpenConns, if at all, to at least that plus
// what the application uses, and MaxIdleConns to at least as many:
// database/sql's default of 2 idle connections closes the others as soon
// as they are returned, and opens new ones for the next batch (on
// PostgreSQL a new server process each time):
//
//	db.SetMaxOpenConns(32)
//	db.SetMaxIdleConns(32)
//
// [New] warns through [WithWarn] with [ErrPoolTooSmall] when MaxOpenConns
// is below [BatchConns] (not with group commit off, when no batches run;
// a [Log]'s connections are not counted, and [NewLog] does not check its
// pool). database/sql does not expose MaxIdleConns, so the
// store cannot check it beforehand; instead it watches the pool's count of
// connections closed for exceeding it, and warns once with [ErrPoolChurn]
// when that count keeps rising.
//
// A batch's round trip is mostly the database's commit, which on a disk
// that flushes slowly is milliseconds; more batches then do not cost more,
// and more concurrent callers (handlers) fill larger batches. Group commit
// pays where many calls are concurrent: on SQLite always (one writer, one
// commit per batch), on PostgreSQL and MariaDB from a few dozen concurrent
// calls, with a handful of connections where one statement per call would
// need one connection per caller. With only a few concurrent callers on a
// server database, one statement per call (WithMaxBatch(NoGroupCommit)) can be as fast
// or faster, as the server then flushes the commits of many connections
// together; measure with the package's benchmarks on your own database. Where losing
// the last moments of commits in a crash of the database is acceptable,
// PostgreSQL's synchronous_commit = off (for the store's role, or as a
// session setting in the DSN) removes that wait; it may then forget
// leases, done-markers and versions of the last fraction of a second, so
// an event may be pushed again, or, rarely, an older version over a newer
// one. The store does not do it for you.
//
// # Leases, and the log written with the complete
//
// [Store] implements [idempotency.LeaseRenewer]: the dispatcher takes short
// leases and renews them while a push runs, so the keys of a process that
// died free up within one lease TTL. Renew reports false once the token no
// longer holds the lease (released, completed, or expired and taken by
// another claim); a lease that expired but that nobody took is renewed.
//
// [Store] also implements [synclayer.LogCompleter]: when the dispatcher's
// delivery log is a [Log] on the same *sql.DB and dialect,
// [Store.CompleteLogged] records the complete and the log entry together,
// in the same batch as the other completes: on PostgreSQL in one statement
// (the log's upsert is a WITH clause of the complete), on MariaDB and
// SQLite in one transaction. Either both are written or neither. With any
// other log it reports false and does nothing, and the dispatcher calls
// Complete and the log's Put in turn. [Log.Put] batches too, as one
// multi-row upsert per round trip; [Log] implements [idempotency.DurableLog].
//
// [Store.Cleanup] deletes expired done-markers, and key rows whose lease
// has ended and whose last Complete's retention has passed (forgetting the
// key's version then, as the memory store does), in batches along the
// primary key; [Store.RunJanitor] runs it periodically.
//
// # Freshness ledger
//
// [Store] is a [synclayer.Ledger] too, so a Dispatcher over it keeps its
// freshness ledger in the key rows: Complete writes the entry (version,
// event, Claim.Hash and the database's time) in its own statement, batch
// or not, with no round trip more; Want, Verified and Pushed are one
// upsert each. Cleanup keeps a key row whose entry is behind (a version
// wanted above the held one, or a drift found by a check), as the other
// stores do, until a Complete brings it level; otherwise an entry lives as
// long as its key row (its version). [Store.Holding] reads one row by
// primary key; [Store.Holdings] and [Store.Summary] scan the table's key
// rows (there is no index on the connector, so that the hot path keeps
// maintaining the primary key only): they suit a reconciler's walk and a
// status page, not a hot path.
// [Store.Migrate] adds the columns to a table made before them.
//
// # Delivery log
//
// [Log] is a [synclayer.DeliveryLog] in its own table of the same
// database, so that the dispatcher's dead letters (for
// [synclayer.Dispatcher.Replay]) and pending routes (for
// [synclayer.Dispatcher.Resume]) survive a restart and are shared by every
// process, and the status page sees every process's pushes:
//
//	log, err := sqlstore.NewLog(db, sqlstore.Postgres, "synclayer_deliveries")
//	err = log.Migrate(ctx)
//	d := synclayer.NewDispatcher(reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(log))
//
// [Log.Migrate] creates one table and three indexes (shown for
// PostgreSQL; MariaDB uses BINARY, MEDIUMBLOB, BIGINT and a utf8mb4
// LONGTEXT, SQLite BLOB, INTEGER and TEXT):
//
//	CREATE TABLE <table> (
//	    id           bytea PRIMARY KEY, -- first 16 bytes of a SHA-256 of the event ID (length-prefixed) and connector
//	    event_hash   bigint NOT NULL,   -- first 8 bytes of a SHA-256 of the event ID
//	    conn_hash    bigint NOT NULL,   -- first 8 bytes of a SHA-256 of the connector
//	    event_id     bytea NOT NULL,    -- the names as given (any bytes, any length)
//	    event_type   bytea NOT NULL,
//	    connector    bytea NOT NULL,
//	    record_key   bytea NOT NULL,
//	    state        smallint NOT NULL, -- 1 pending, 2 in_progress, 3 synced, 4 duplicate, 5 stale, 6 failed, 7 dead
//	    attempts     integer NOT NULL,
//	    first_ns     bigint NOT NULL,   -- first attempt, Unix ns (0: none)
//	    last_ns      bigint NOT NULL,   -- last attempt, Unix ns (0: none)
//	    duration_ns  bigint NOT NULL,
//	    last_error   bytea NOT NULL,    -- the last error, as the dispatcher bounded it
//	    partner_id   bytea NOT NULL,
//	    payload_hash bytea NOT NULL,
//	    updated_ns   bigint NOT NULL,   -- Delivery.Updated, Unix ns
//	    event_json   text               -- the source event as JSON, NULL when the entry has none
//	);
//	CREATE INDEX <table>_u ON <table> (updated_ns);                   -- the recent deliveries, Cleanup
//	CREATE INDEX <table>_c ON <table> (conn_hash, state, updated_ns); -- a connector's pending or dead entries
//	CREATE INDEX <table>_e ON <table> (event_hash);                   -- one event's outcome on every connector
//
// The indexes hold fixed-size hashes rather than the names, so names of
// any length fit in them; each query also compares the names themselves,
// so a collision of hashes never mixes two entries. Put is one upsert of
// the entry's row, prepared once per connection; List is one SELECT
// ordered by updated_ns, newest first. The event is stored as JSON text
// with its fields named as in [synclayer.Event]; its Data is kept as JSON
// when it is compact, valid UTF-8 JSON, and otherwise in base64 under
// "dataBase64", so that its bytes come back exact. The names of the event
// go through JSON, which keeps valid UTF-8 only; the event ID and type
// are restored from their own columns. Times are the entries' own (the
// dispatcher's clock), to the nanosecond, from 1678 to 2262.
//
// Retention: [Log.Cleanup] deletes synced, duplicate and stale entries,
// and in-progress ones left by a process that died mid-push, once they are
// older than its olderThan; dead and failed entries, the dead letters,
// only past the longer retention set with [WithDeadRetention] (by default
// never); pending entries never. It deletes in batches of
// [WithCleanupBatch] rows; [Log.RunJanitor] runs it periodically.
//
// A [Log] is safe for concurrent use by any number of goroutines and
// processes. Its errors name the dialect, the operation, the table, the
// event and the connector, wrap the driver's error, and match ctx.Err()
// with errors.Is when the context ended.
//
// # Errors
//
// Every error names the dialect, the operation, the connector, the key and
// the event, and wraps the driver's error; when the context ended, it also
// matches ctx.Err() with errors.Is. A store never reports ClaimDone or
// ClaimStale without a row that proves it: a closed pool or a killed
// connection gives an error.
//
// # Which store for which deployment
//
//   - One process, no restart guarantee needed (tests, tools): the memory
//     store of synclayer, the default.
//   - One process that must not push again after a restart (an edge
//     device, a single service instance): [SQLite] on a local file. No
//     server to run; writes are serialised, which suits one process.
//   - Several processes or replicas: the database the service already
//     runs, [Postgres] or [MariaDB]; PostgreSQL is the reference. Leases,
//     markers and versions are durable and shared, and the database's clock
//     decides lease expiry.
//   - Several processes with Redis already in place, and markers that may
//     be lost with Redis's persistence settings: idempotency/redisstore,
//     the fastest of the shared stores.
//
// A [Store] is safe for concurrent use by any number of goroutines and
// processes.
package sqlstore
